"""Every notebook runs headless in the `ci` profile, and is committed clean."""

import json

import pytest

from seqsch.lab.notebooks import PROFILES, notebook_paths, parameter_names, run_notebook

NOTEBOOKS = notebook_paths()


def test_there_are_seven_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    book = json.loads(path.read_text())
    assert book["metadata"]["kernelspec"]["name"] == "python3"
    assert all(not c.get("outputs") for c in book["cells"] if c["cell_type"] == "code")
    names = parameter_names(path)
    assert names and all(name.isupper() for name in names)
    assert book["cells"][0]["cell_type"] == "markdown"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_the_ci_profile(path, tmp_path):
    run_notebook(path, "ci", tmp_path, tmp_path / "figures")
    executed = json.loads((tmp_path / path.name).read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert list((tmp_path / "figures").glob("*.png")), "the notebook saved no figure"


def test_profiles_share_their_names():
    assert set(PROFILES["ci"]) == set(PROFILES["cpu"]) == set(PROFILES["gpu"])
