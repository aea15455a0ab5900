import json

import pytest

from seqsch.core.requests import Request
from seqsch.core.workloads import (
    iter_json_array,
    load_alpaca,
    load_sharegpt_with_report,
    sample_requests,
    sharegpt_workload,
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


def test_workload_filters_by_prompt_tokens(tokenizer):
    pool = [Request("short", "Hi"), Request("long", "word " * 400), Request("mid", "Hello there")]
    chosen = sharegpt_workload(tokenizer, 2, seed=0, max_prompt_tokens=64, requests=pool)
    assert {r.id for r in chosen} == {"short", "mid"}
    assert all(r.num_prompt_tokens <= 64 for r in chosen)
    with pytest.raises(ValueError, match="fit"):
        sharegpt_workload(tokenizer, 3, seed=0, max_prompt_tokens=64, requests=pool)


def _alpaca_error(tmp_path, records, name="alpaca-bad.json"):
    path = tmp_path / name
    path.write_text(records if isinstance(records, str) else json.dumps(records))
    with pytest.raises(ValueError) as info:
        load_alpaca(path, verbose=False)
    return str(info.value)


@pytest.mark.parametrize(
    ("field", "bad"),
    [("instruction", 42), ("instruction", ["Add"]), ("input", 3), ("input", {"a": 1}),
     ("output", ["3"]), ("output", 3.5), ("output", False)],
)
def test_alpaca_field_of_the_wrong_type_is_an_error(tmp_path, field, bad):
    good = {"instruction": "Add", "input": "1 and 2", "output": "3"}
    message = _alpaca_error(tmp_path, [good, {**good, field: bad}])
    for part in ("alpaca-bad.json", "record 1", repr(field), "expected a string", "fix or remove"):
        assert part in message
    message = _alpaca_error(tmp_path, [good, {**good, "id": "a7", field: bad}])
    assert "record 1 (id 'a7')" in message


def test_alpaca_null_or_missing_output_means_no_reference(tmp_path, capsys):
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps([{"instruction": "Add", "output": None}, {"instruction": "Greet"},
                                {"instruction": None}, {"instruction": "  ", "output": "y"}]))
    requests = load_alpaca(path)
    assert [(r.prompt, r.reference) for r in requests] == [("Add", None), ("Greet", None)]
    assert "4 records, 2 used; skipped: 2 without instruction" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["", "  \n\t "])
def test_alpaca_empty_file_names_the_file(tmp_path, text):
    message = _alpaca_error(tmp_path, text, name="empty-alpaca.json")
    assert "empty-alpaca.json is empty" in message and "not valid JSON" in message


def test_alpaca_invalid_json_names_file_line_and_column(tmp_path):
    message = _alpaca_error(tmp_path, '[\n  {"instruction": "Add",}\n]')
    assert "alpaca-bad.json: not valid JSON at line 2, column" in message
    message = _alpaca_error(tmp_path, {"instruction": "Add"})
    assert "alpaca-bad.json" in message and "JSON list" in message and "dict" in message


@pytest.mark.parametrize("record", [None, "Add 1 and 2", ["Add", "", "3"], 5])
def test_alpaca_record_that_is_not_an_object_is_an_error(tmp_path, record):
    message = _alpaca_error(tmp_path, [{"instruction": "Add"}, record])
    assert "alpaca-bad.json: record 1 is a" in message and "not a JSON object" in message
    assert "fix or remove" in message


@pytest.mark.parametrize("bad_id", ["", " ", True, 1.5, ["a"]])
def test_alpaca_id_must_be_a_string_or_an_integer(tmp_path, bad_id):
    message = _alpaca_error(tmp_path, [{"instruction": "Add", "id": bad_id}])
    assert "alpaca-bad.json: record 0" in message and "'id'" in message
    path = tmp_path / "ids.json"
    path.write_text(json.dumps([{"instruction": "Add", "id": 17}, {"instruction": "Greet"},
                                {"instruction": "Wave", "id": None},
                                {"instruction": "Go", "id": 0}]))
    assert [r.id for r in load_alpaca(path, verbose=False)] == ["17", "1", "2", "0"]


def test_alpaca_non_utf8_file_names_the_file(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"instruction": "caf\u00e9"}]'.encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.json: not UTF-8"):
        load_alpaca(path, verbose=False)
