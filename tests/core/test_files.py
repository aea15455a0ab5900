"""Files that survive interruptions: a cut JSONL line is skipped, a rewrite lands whole or not."""

from __future__ import annotations

import json

import pytest

from seqsch.core.files import atomic_path, read_jsonl


def test_read_jsonl_skips_blank_lines_and_a_line_cut_short(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\n\n" + json.dumps({"b": 2}) + '\n{"c": 3, "d"',
                    encoding="utf-8")
    assert read_jsonl(path) == [{"a": 1}, {"b": 2}]


def test_atomic_path_replaces_the_target_when_the_block_ends(tmp_path):
    target = tmp_path / "sub" / "card.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert not target.exists() and tmp.parent == target.parent
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["card.txt"]  # no temporary left


def test_atomic_path_leaves_the_target_unchanged_on_an_error(tmp_path):
    target = tmp_path / "card.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["card.txt"]


def test_a_folder_lands_whole_but_never_over_a_finished_one(tmp_path):
    target = tmp_path / "model"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "weights").write_text("w")
    assert (target / "weights").read_text() == "w"
    with pytest.raises(OSError), atomic_path(target) as tmp:  # someone else finished first
        tmp.mkdir()
        (tmp / "weights").write_text("other")
    assert (target / "weights").read_text() == "w"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
