"""Tests of seqsch.perception.feature_cache: chunked, resumable hidden-state features."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

import seqsch.perception.feature_cache as feature_cache
from seqsch.perception.feature_cache import chunked_features_by_depth
from seqsch.perception.features import extract_features_by_depth

DEPTHS = [2, 1]  # unsorted on purpose: the result is keyed by depth whatever the order


def _chunks(folder):
    return sorted(p.name for p in folder.glob("chunk-*.safetensors"))


def _assert_same(got, want, atol=1e-5):
    assert sorted(got) == sorted(want)
    for depth in want:
        assert set(got[depth]) == {"mean", "last"}
        for key in ("mean", "last"):
            assert got[depth][key].shape == want[depth][key].shape
            assert torch.allclose(got[depth][key], want[depth][key], atol=atol), (depth, key)


def _refuse(*_args, **_kwargs):
    raise AssertionError("the features should have come from the cache")


def test_chunks_give_the_same_features_in_request_order(tiny, short_requests, tmp_path):
    model, tokenizer = tiny
    requests = short_requests[:7]
    whole = extract_features_by_depth(model, tokenizer, requests, sorted(DEPTHS), quiet=True)
    chunked = chunked_features_by_depth(model, tokenizer, requests, DEPTHS, tmp_path,
                                        chunk_size=3, batch_size=2, quiet=True)
    assert sorted(chunked) == [1, 2]
    assert chunked[1]["mean"].shape == (7, model.config.hidden_size)
    _assert_same(chunked, whole)
    assert len(_chunks(tmp_path)) == 3  # 3 + 3 + 1 requests
    # rows follow the requests: a reversed request list gives the reversed rows
    backwards = chunked_features_by_depth(model, tokenizer, requests[::-1], DEPTHS,
                                          tmp_path / "backwards", chunk_size=3, quiet=True)
    for depth in (1, 2):
        for key in ("mean", "last"):
            assert torch.allclose(backwards[depth][key], whole[depth][key].flip(0), atol=1e-5)
            assert not torch.allclose(whole[depth][key][0], whole[depth][key][1], atol=1e-3)


def test_chunk_metadata_holds_fingerprint_and_ids(tiny, short_requests, tmp_path):
    model, tokenizer = tiny
    chunked_features_by_depth(model, tokenizer, short_requests[:5], DEPTHS, tmp_path,
                              chunk_size=2, quiet=True)
    ids = []
    for name in _chunks(tmp_path):
        with safe_open(str(tmp_path / name), "pt") as handle:
            metadata = handle.metadata()
            assert sorted(handle.keys()) == ["1/last", "1/mean", "2/last", "2/mean"]
        assert "depths=[1, 2]" in metadata["fingerprint"]
        assert "max_prompt_tokens=None" in metadata["fingerprint"]
        ids += json.loads(metadata["ids"])
    assert sorted(ids) == sorted(r.id for r in short_requests[:5])
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_second_call_reads_the_cache(tiny, short_requests, tmp_path, monkeypatch):
    model, tokenizer = tiny
    first = chunked_features_by_depth(model, tokenizer, short_requests, DEPTHS, tmp_path,
                                      chunk_size=3, quiet=True)
    files = _chunks(tmp_path)
    monkeypatch.setattr(feature_cache, "extract_features_by_depth", _refuse)
    second = chunked_features_by_depth(model, tokenizer, short_requests, [1, 2, 1], tmp_path,
                                       chunk_size=3, quiet=True)
    _assert_same(second, first, atol=0)
    assert _chunks(tmp_path) == files
    with pytest.raises(AssertionError, match="from the cache"):  # a new chunk is computed
        chunked_features_by_depth(model, tokenizer, short_requests[:2], DEPTHS, tmp_path,
                                  chunk_size=3, quiet=True)


def test_an_interrupted_run_resumes_at_the_missing_chunk(tiny, short_requests, tmp_path,
                                                         monkeypatch):
    model, tokenizer = tiny
    first = chunked_features_by_depth(model, tokenizer, short_requests, DEPTHS, tmp_path,
                                      chunk_size=3, quiet=True)
    files = _chunks(tmp_path)
    (tmp_path / files[0]).unlink()
    calls = []

    def counting(model, tokenizer, chunk, *args, **kwargs):
        calls.append([r.id for r in chunk])
        return extract_features_by_depth(model, tokenizer, chunk, *args, **kwargs)

    monkeypatch.setattr(feature_cache, "extract_features_by_depth", counting)
    resumed = chunked_features_by_depth(model, tokenizer, short_requests, DEPTHS, tmp_path,
                                        chunk_size=3, quiet=True)
    assert len(calls) == 1 and len(calls[0]) in (2, 3)
    assert _chunks(tmp_path) == files
    _assert_same(resumed, first)


def test_other_settings_make_new_chunks(tiny, short_requests, tmp_path, monkeypatch):
    model, tokenizer = tiny
    requests = short_requests[:4]
    chunked_features_by_depth(model, tokenizer, requests, DEPTHS, tmp_path, chunk_size=2,
                              quiet=True)
    first = set(_chunks(tmp_path))
    assert len(first) == 2
    only_one = chunked_features_by_depth(model, tokenizer, requests, [1], tmp_path,
                                         chunk_size=2, quiet=True)
    assert sorted(only_one) == [1]
    by_depths = set(_chunks(tmp_path)) - first
    assert len(by_depths) == 2
    clipped = chunked_features_by_depth(model, tokenizer, requests, DEPTHS, tmp_path,
                                        chunk_size=2, max_prompt_tokens=3, quiet=True)
    by_clip = set(_chunks(tmp_path)) - first - by_depths
    assert len(by_clip) == 2
    want = extract_features_by_depth(model, tokenizer, requests, [1, 2], quiet=True,
                                     max_prompt_tokens=3)
    _assert_same(clipped, want)
    unclipped = extract_features_by_depth(model, tokenizer, requests, [1, 2], quiet=True)
    assert not torch.allclose(clipped[2]["mean"], unclipped[2]["mean"], atol=1e-3)
    # and a clipped rerun reads its own chunks, not the unclipped ones
    monkeypatch.setattr(feature_cache, "extract_features_by_depth", _refuse)
    again = chunked_features_by_depth(model, tokenizer, requests, DEPTHS, tmp_path,
                                      chunk_size=2, max_prompt_tokens=3, quiet=True)
    _assert_same(again, clipped, atol=0)


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_chunk_size_below_one_is_an_error(tiny, short_requests, tmp_path, chunk_size):
    model, tokenizer = tiny
    with pytest.raises(ValueError, match="chunk_size"):
        chunked_features_by_depth(model, tokenizer, short_requests, DEPTHS, tmp_path / "c",
                                  chunk_size=chunk_size, quiet=True)
    assert not (tmp_path / "c").exists()
