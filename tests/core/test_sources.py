"""Tests of seqsch.core.sources: one row per length source, read by every layer above, and the
paper's names read (never written) as aliases."""

from __future__ import annotations

import json
import shutil

import pytest

from seqsch.bench.records import load_rounds
from seqsch.bench.specs import RunSpec, SweepConfig, replay_sources, vllm_sources
from seqsch.core.paths import DATA_DIR
from seqsch.core.sources import (
    SOURCES,
    LengthSource,
    alias_table,
    canonical_source,
    canonical_spec,
    register_source,
    source_names,
    unregister_source,
)
from seqsch.lab.panel_data import _smollm2_val, predictor_labels
from seqsch.lab.result_files import evaluations
from seqsch.lab.results import _perception_table
from seqsch.perception.__main__ import build_config as perception_command
from seqsch.perception.registry import predictor_choices

OLD_NAMES = ("gt", "seqsch", "po", "pia", "probe")


@pytest.fixture
def new_source(tmp_path):
    """A source registered in one place, scored on the shipped validation prompts (a copy of
    the length head's evaluation stands in for its own)."""
    for path in DATA_DIR.glob("perception-eval-*.json"):  # a copy of data/'s evaluations
        shutil.copy(path, tmp_path)
    evaluation = tmp_path / "perception-eval-my-head.json"
    shutil.copy(DATA_DIR / "perception-eval-length-head.json", evaluation)
    row = register_source(LengthSource(
        "my-head", "my head: a test's own predictor", "learned",
        build="seqsch.perception.registry:build_head", folder="data/probe-smollm2-length",
        hashed_files=("head.safetensors", "probe_config.json"), evaluation=str(evaluation),
        train="python -m seqsch.perception train --predictor my-head", needs_model=True,
        gives_vllm_priorities=True))
    yield row
    unregister_source(row.name)


def test_a_source_registered_once_appears_everywhere(new_source, tmp_path):
    assert "my-head" in predictor_choices()  # the perception command line
    assert perception_command(["eval", "--predictor", "my-head"])[1].predictor == "my-head"
    spec = RunSpec.parse("my-head+vbs+fcr")  # a run spec, and a sweep of it
    assert (spec.source, spec.vbs, spec.fcr) == ("my-head", True, True)
    assert SweepConfig(specs=("vanilla", "my-head", "vllm+my-head")).specs[1] == "my-head"
    assert "my-head" in vllm_sources() and "my-head" not in replay_sources()
    assert predictor_labels()["my-head"] == new_source.label  # the widget panel's menu
    assert "my-head" in _smollm2_val(None).predictors
    assert "my-head" in evaluations()  # the results page's perception table
    assert new_source.label in _perception_table(tmp_path)


def test_names_and_aliases_are_unique():
    with pytest.raises(ValueError, match="taken"):
        register_source(LengthSource("gt", "a second oracle", "oracle"))
    with pytest.raises(ValueError, match="taken"):
        register_source(LengthSource("new", "new", "baseline", aliases=("lora",)))
    names = [name for row in SOURCES.values() for name in (row.name, *row.aliases)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("bad", [
    dict(name="a+b", label="x", role="learned"),
    dict(name="X", label="x", role="learned"),
    dict(name="x", label="x", role="guess"),
    dict(name="x", label="x", role="learned", build="no_colon"),
    dict(name="x", label="x", role="learned", hashed_files=("a",)),
])
def test_bad_rows_are_refused(bad):
    with pytest.raises(ValueError):
        LengthSource(**bad)


def test_aliases_read_as_their_sources():
    assert alias_table() == {"gt": "oracle", "seqsch": "lora", "probe": "length-head",
                             "po": "query", "pia": "query"}
    assert canonical_source("probe", "data/probe-smollm2-rank") == "rank-head"
    assert canonical_spec("gt+vbs+fcr") == "oracle+vbs+fcr"
    assert canonical_spec("vllm+probe", "data/probe-smollm2-rank") == "vllm+rank-head"
    assert RunSpec.parse("seqsch+vbs").name == "lora+vbs"  # parsed as the source, written new
    assert SweepConfig(specs=("gt", "po")).specs == ("oracle", "query")
    with pytest.raises(ValueError, match="unknown length source 'nope'"):
        canonical_source("nope")


def test_source_names_select_rows():
    assert source_names(orders_token_ids=True) == ("vanilla", "oracle", "standin",
                                                   "recorded-head")
    assert set(source_names(role="learned")) == {"lora", "length-head", "rank-head",
                                                 "recorded-head", "lora-recorded", "text-ridge"}


def test_every_committed_record_reads_through_the_new_names():
    """Benchmark records, evaluation files and the recorded-lengths evaluation: no old name."""
    for path in sorted(DATA_DIR.glob("*.jsonl")):
        if path.name.startswith(("benchmark-", "replay-")):
            for round_ in load_rounds(path):
                for spec in round_:
                    assert not set(spec.split("+")) & set(OLD_NAMES), (path.name, spec)
                    RunSpec.parse(spec)
    for path in sorted(DATA_DIR.glob("perception-eval-*.json")):
        saved = json.loads(path.read_text())
        names = [saved.get("predictor"), *saved.get("sources", {})]
        assert not set(names) & set(OLD_NAMES), path.name
        assert not any(part in OLD_NAMES for part in path.stem.split("-")[2:]), path.name
