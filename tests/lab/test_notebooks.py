"""Every notebook runs headless in the `ci` profile, and is committed clean; `make figures`
runs the walk, then the playground, into figures/, while a notebook run by hand writes its
figures under build/."""

import ast
import json
import os

import pytest

from seqsch.core.paths import BUILD_DIR, FIGURES_DIR
from seqsch.lab import notebooks, plots
from seqsch.lab.notebooks import (
    PLAYGROUND,
    PROFILES,
    notebook_paths,
    parameter_names,
    profile_figure_dir,
    run_all,
    run_notebook,
    with_profile_notes,
)

NOTEBOOKS = notebook_paths()


def test_there_are_seven_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", notebook_paths(playground=True), ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    book = json.loads(path.read_text())
    assert book["metadata"]["kernelspec"]["name"] == "python3"
    assert all(not c.get("outputs") for c in book["cells"] if c["cell_type"] == "code")
    names = parameter_names(path)
    assert names and all(name.isupper() for name in names)
    assert book["cells"][0]["cell_type"] == "markdown"


MAX_CODE_LINES = 120  # per notebook: non-blank code lines that are not comments


def code_lines(path) -> list[str]:
    """A notebook's lines of code: non-blank, not comment-only, every code cell."""
    book = json.loads(path.read_text())
    return [line for cell in book["cells"] if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines()
            if line.strip() and not line.strip().startswith("#")]


@pytest.mark.parametrize("path", notebook_paths(playground=True), ids=lambda p: p.stem)
def test_notebook_is_thin(path):
    """Logic lives in the package, with tests; a notebook calls it and says what it shows."""
    lines = code_lines(path)
    tree = ast.parse("\n".join(line for line in lines if not line.lstrip().startswith(("%", "!"))))
    defined = [node.name for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    assert not defined, f"{path.name} defines {defined}: move them into the package"
    assert len(lines) <= MAX_CODE_LINES, (
        f"{path.name} has {len(lines)} code lines (at most {MAX_CODE_LINES}): move logic into "
        "the package")


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


@pytest.mark.parametrize("path", notebook_paths(playground=True), ids=lambda p: p.stem)
def test_parameters_cells_state_each_profile_value(path):
    """Each parameter a profile sets says, in its comment, what ci, cpu and gpu set it to."""
    cell = next(c for c in json.loads(path.read_text())["cells"]
                if "parameters" in c["metadata"].get("tags", []))
    source = "".join(cell["source"])
    assert with_profile_notes(source) == source, (
        f"{path.name}: a parameter's profile values are missing or stale; rewrite the cell's "
        "source with seqsch.lab.notebooks.with_profile_notes")


def test_make_figures_runs_the_walk_then_the_playground_into_figures(monkeypatch):
    ran = []
    monkeypatch.setattr(notebooks, "run_notebook",
                        lambda path, profile, out_dir, figure_dir: ran.append((path, figure_dir))
                        or 1.0)
    wall_s = run_all("cpu")
    assert [path for path, _ in ran] == [*NOTEBOOKS, PLAYGROUND]
    assert {figure_dir for _, figure_dir in ran} == {FIGURES_DIR}
    assert list(wall_s)[-1] == "playground"
    assert notebook_paths(["playground"], playground=True) == [PLAYGROUND]
    assert notebook_paths(["03"], playground=True) == NOTEBOOKS[2:3]


def test_a_notebook_run_by_hand_writes_its_figures_under_build(monkeypatch):
    monkeypatch.delenv("SEQSCH_FIGURES", raising=False)  # as in JupyterLab
    assert plots.figure_dir() == BUILD_DIR / "figures" != FIGURES_DIR
    monkeypatch.setenv("SEQSCH_FIGURES", str(FIGURES_DIR))  # as under make figures
    assert plots.figure_dir() == FIGURES_DIR == profile_figure_dir("cpu")
    assert profile_figure_dir("ci").is_relative_to(BUILD_DIR)


@pytest.mark.slow
def test_the_playground_runs_in_the_ci_profile_and_saves_its_panel(tmp_path):
    before = os.environ.get("SEQSCH_FIGURES")
    run_notebook(PLAYGROUND, "ci", tmp_path, tmp_path / "figures")
    assert os.environ.get("SEQSCH_FIGURES") == before  # the runner's own setting is back
    executed = json.loads((tmp_path / PLAYGROUND.name).read_text())
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    picture = tmp_path / "figures" / "playground_panel.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any("playground_panel.png" in "".join(o.get("text", "")) for o in outputs)
    injected = [c for c in executed["cells"]
                if "injected-parameters" in c["metadata"].get("tags", [])]
    assert ["".join(c["source"]) for c in injected] == [
        f"# Parameters\nBATCH_SIZE = {PROFILES['ci']['BATCH_SIZE']}\n"]  # only what the cell has
