import pytest

from seqsch.bench import lengths
from seqsch.core.decoding import DecodingConfig
from seqsch.core.length_records import LengthRecord, load_length_file
from seqsch.core.requests import Request

SMALL = {"num_train": 6, "num_val": 2, "temperatures": (0.0, 0.7), "batch_size": 2,
         "chunk_size": 4, "max_prompt_tokens": 64}


@pytest.fixture
def tiny_loaded(tiny, monkeypatch):
    monkeypatch.setattr(lengths, "load_model", lambda *a, **k: tiny)
    return tiny


def _collect(path):
    return lengths.collect(path, "tiny", decoding=DecodingConfig(max_new_tokens=6), **SMALL)


def test_collect_writes_one_record_per_prompt_with_splits(tiny_loaded, tmp_path):
    path = _collect(tmp_path / "lengths.jsonl")
    result = load_length_file(path)
    assert len(result.records) == 8 and result.settings
    assert sum(r.split == "val" for r in result.records) == 2
    for record in result.records:
        assert set(record.lengths) == {0.0, 0.7}
        assert all(1 <= n <= 6 for n in record.lengths.values())
        if record.is_capped[0.0]:
            assert record.lengths[0.0] == 6  # capped answers stop exactly at the cap


def test_resumed_collection_equals_an_uninterrupted_one(tiny_loaded, tmp_path, monkeypatch):
    whole = _collect(tmp_path / "whole.jsonl").read_text()

    real_chunk = lengths.collect_chunk
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(lengths, "collect_chunk", interrupted)
    path = tmp_path / "resumed.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _collect(path)
    # A second interruption in the middle of writing the next chunk: two of its lines, then half.
    next_lines = whole.splitlines()[5:7]
    with path.open("a") as fh:
        fh.write("\n".join(next_lines) + "\n" + next_lines[0][:20])
    monkeypatch.setattr(lengths, "collect_chunk", real_chunk)
    _collect(path)
    assert path.read_text() == whole


def test_collect_refuses_other_settings(tiny_loaded, tmp_path):
    path = _collect(tmp_path / "lengths.jsonl")
    with pytest.raises(ValueError, match="other settings"):
        lengths.collect(path, "tiny", decoding=DecodingConfig(max_new_tokens=7), **SMALL)


def test_collect_refuses_unknown_engines_and_static_options_for_vllm(tmp_path):
    with pytest.raises(ValueError, match="unknown engine"):
        lengths.collect(tmp_path / "x.jsonl", "tiny", 1, 1, DecodingConfig(), engine="tgi")
    with pytest.raises(ValueError, match="drop_finished"):
        lengths.collect(tmp_path / "x.jsonl", "tiny", 1, 1, DecodingConfig(), engine="vllm",
                        drop_finished=False)
    assert not (tmp_path / "x.jsonl").exists()


def test_vllm_chunks_too_large_for_the_seed_stride_are_refused():
    requests = [Request(f"r{i}", "hi") for i in range(300)]
    with pytest.raises(ValueError, match="seed stride"):
        lengths.collect_chunk_vllm(None, None, requests, DecodingConfig(), (0.0, 0.3, 0.5, 0.7),
                                   seed=0)


def test_capped_shares_count_answers_at_the_cap_from_lengths_or_flags():
    at_cap = LengthRecord("a", {0.0: 8, 0.3: 3}, {0.0: True, 0.3: False}, max_new_tokens=8)
    under = LengthRecord("b", {0.0: 2, 0.3: 8}, {0.0: False, 0.3: True}, max_new_tokens=8)
    shares = lengths.capped_shares([at_cap, under])
    assert shares == {"answer": 0.5, "greedy": 0.5, "longest": 1.0}
    assert lengths.capped_shares([at_cap, under], cap=3) == {"answer": 0.75, "greedy": 0.5,
                                                             "longest": 1.0}
    no_cap = LengthRecord("c", {0.0: 5}, {0.0: True})  # no max_new_tokens: its flag decides
    assert lengths.capped_shares([no_cap])["greedy"] == 1.0
    summary = lengths.summarize_lengths([at_cap, under])
    assert (summary["greedy_capped_share"], summary["any_capped_share"]) == (0.5, 1.0)
