"""Where the project keeps its files: records name them relative to the repository."""

from __future__ import annotations

from pathlib import Path

from seqsch.core.paths import DATA_DIR, DEFAULT_LENGTHS, ROOT, cache_dir, portable


def test_a_path_inside_the_repository_is_named_relative_to_it():
    assert portable(DEFAULT_LENGTHS) == "data/lengths-smollm2-sharegpt.jsonl"
    assert portable(DATA_DIR / "sub" / "x.json") == "data/sub/x.json"
    assert DEFAULT_LENGTHS.is_relative_to(ROOT) and (ROOT / "seqsch").is_dir()


def test_a_path_outside_it_stays_as_given(tmp_path):
    outside = tmp_path / "lengths.jsonl"
    assert portable(outside) == str(outside)


def test_the_cache_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQSCH_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("SEQSCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == Path(tmp_path / "xdg" / "seqsch")
