import json

import pytest

from seqsch.data import (
    Request,
    iter_json_array,
    load_alpaca,
    load_sharegpt_with_report,
    sample_requests,
    split_requests,
)


def _record(i, turns=("human", "gpt"), prompt="hi"):
    return {"id": f"r{i}", "conversations": [
        {"from": turns[0], "value": prompt}, {"from": turns[1], "value": "answer"}]}


def test_iter_json_array_reads_complete_records_of_a_truncated_file():
    text = json.dumps([{"a": 1}, {"b": 2}, {"c": 3}])[:-4]  # cut inside the last record
    items, num_lost = iter_json_array(text)
    assert items == [{"a": 1}, {"b": 2}]
    assert num_lost == len(text) - text.index('{"c"')


def test_iter_json_array_rejects_non_arrays():
    with pytest.raises(ValueError, match="JSON array"):
        iter_json_array('{"a": 1}')


def test_sharegpt_loader_counts_skips_and_lost_bytes(tmp_path):
    records = [_record(0), _record(1, ("gpt", "human")), _record(2, prompt="  "), {"x": 1},
               _record(3)]
    text = json.dumps(records)[:-20]  # truncate the last record
    path = tmp_path / "sharegpt.json"
    path.write_text(text)
    requests, report = load_sharegpt_with_report(path)
    assert [r.id for r in requests] == ["r0"]
    assert report.num_records == 4
    assert report.num_skipped == {"not human -> gpt": 1, "empty prompt": 1, "malformed": 1}
    assert report.num_bytes_lost > 0
    assert "truncated" in str(report)


def test_bundled_sharegpt_has_the_known_counts():
    requests, report = load_sharegpt_with_report()
    assert report.num_records == 17_671
    assert report.num_used + report.num_skipped["empty prompt"] == 11_135
    assert report.num_bytes_lost > 0
    assert all(r.prompt and r.reference is not None for r in requests[:100])


def test_alpaca_loader_joins_input_and_skips_records_without_instruction(tmp_path):
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps([
        {"instruction": "Add", "input": "1 and 2", "output": "3"},
        {"instruction": "", "input": "x", "output": "y"},
        {"instruction": "Greet", "input": "", "output": "Hello"},
    ]))
    requests = load_alpaca(path, verbose=False)
    assert [r.prompt for r in requests] == ["Add\n\n1 and 2", "Greet"]
    assert requests[0].reference == "3"


def test_alpaca_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_alpaca(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError):
        load_alpaca(bad)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps([{"input": "x"}]))
    with pytest.raises(ValueError, match="instruction"):
        load_alpaca(empty, verbose=False)


def test_sampling_and_split_are_deterministic_by_seed():
    pool = [Request(str(i), f"p{i}") for i in range(100)]
    assert sample_requests(pool, 10, seed=1) == sample_requests(pool, 10, seed=1)
    assert sample_requests(pool, 10, seed=1) != sample_requests(pool, 10, seed=2)
    train, val = split_requests(pool, 20, seed=3)
    assert (train, val) == split_requests(pool, 20, seed=3)
    assert len(val) == 20 and len(train) == 80
    assert {r.id for r in train}.isdisjoint({r.id for r in val})
    with pytest.raises(ValueError):
        sample_requests(pool, 101)


def test_workload_filters_by_prompt_tokens(embedded):
    from seqsch.data import sharegpt_workload

    _, tokenizer = embedded
    pool = [Request("short", "Hi"), Request("long", "word " * 400), Request("mid", "Hello there")]
    chosen = sharegpt_workload(tokenizer, 2, seed=0, max_prompt_tokens=64, requests=pool)
    assert {r.id for r in chosen} == {"short", "mid"}
    assert all(r.num_prompt_tokens <= 64 for r in chosen)
    with pytest.raises(ValueError, match="fit"):
        sharegpt_workload(tokenizer, 3, seed=0, max_prompt_tokens=64, requests=pool)
