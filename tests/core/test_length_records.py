"""Tests of seqsch.core.length_records: both file formats and their errors."""

import io
import json

import pytest

from seqsch.core.length_records import (
    LengthRecord,
    load_length_file,
    read_length_file,
    target_lengths,
    write_length_header,
    write_length_record,
)


def _paper_item(id_, greedy, others=(1, 2, 3), reference=7):
    item = {"id": id_, "L_gt": reference, "L_t0.0": greedy}
    item.update({f"L_t{t}": n for t, n in zip(("0.3", "0.5", "0.7"), others, strict=True)})
    return item


def test_paper_format(tmp_path):
    path = tmp_path / "alpaca-val-10k-length.json"
    path.write_text(json.dumps([_paper_item("1", 115, (126, 53, 61)), _paper_item("2", 514)]))
    length_file = load_length_file(path)
    assert length_file.is_paper_format
    first, second = length_file.records
    assert first.lengths == {0.0: 115, 0.3: 126, 0.5: 53, 0.7: 61}
    assert (first.max_length, first.greedy_length, first.reference_length) == (126, 115, 7)
    assert first.max_new_tokens == 512 and not any(first.is_capped.values())
    assert second.is_capped[0.0] and not second.is_capped[0.3]


def test_jsonl_format_with_settings_and_truncated_last_line(tmp_path):
    path = tmp_path / "lengths.jsonl"
    record = {
        "id": "a",
        "split": "train",
        "num_prompt_tokens": 31,
        "max_new_tokens": 64,
        "samples": [
            {"temperature": 0.0, "seed": 1, "num_output_tokens": 20, "is_capped": False},
            {"temperature": 0.7, "seed": 2, "num_output_tokens": 64, "is_capped": True},
            {"temperature": 0.7, "seed": 3, "num_output_tokens": 33, "is_capped": False},
        ],
    }
    text = json.dumps({"settings": {"model": "m"}}) + "\n" + json.dumps(record) + "\n"
    path.write_text(text + '{"id": "b", "samp')
    length_file = load_length_file(path)
    assert length_file.num_truncated_lines == 1 and length_file.settings[0]["settings"]
    (parsed,) = length_file.records
    assert parsed.lengths == {0.0: 20, 0.7: 64} and parsed.is_capped == {0.0: False, 0.7: True}
    assert (parsed.split, parsed.num_prompt_tokens, parsed.max_length) == ("train", 31, 64)
    with pytest.warns(UserWarning, match="truncated"):
        assert len(read_length_file(path)) == 1


def test_bad_middle_line_missing_fields_and_missing_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "samp\n{"id": "b", "samples": []}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1: bad JSON"):
        read_length_file(path)
    path.write_text('{"id": "a"}\n')
    with pytest.raises(ValueError, match="missing field 'samples'"):
        read_length_file(path)
    path.write_text('{"id": "a", "samples": [{"temperature": 0.0}]}\n')
    with pytest.raises(ValueError, match="num_output_tokens"):
        read_length_file(path)
    paper = tmp_path / "paper.json"
    paper.write_text('[{"id": "1", "L_gt": 3}]')
    with pytest.raises(ValueError, match="L_t"):
        read_length_file(paper)
    paper.write_text('[{"id": "1", "L_t0.0": 3}')
    with pytest.raises(ValueError, match="not valid JSON"):
        read_length_file(paper)
    with pytest.raises(FileNotFoundError, match="length file not found"):
        read_length_file(tmp_path / "absent.json")


def test_write_then_read_round_trip(tmp_path):
    record = LengthRecord(
        id="q1",
        lengths={0.0: 12, 0.5: 40},
        is_capped={0.0: False, 0.5: True},
        num_prompt_tokens=9,
        split="val",
        max_new_tokens=40,
        seeds={0.5: 4},
    )
    buffer = io.StringIO()
    write_length_header(buffer, {"model": "m", "temperatures": [0.0, 0.5]})
    write_length_record(buffer, record)
    path = tmp_path / "out.jsonl"
    path.write_text(buffer.getvalue())
    assert read_length_file(path) == [record]


def test_target_lengths_censor_each_answer_at_the_cap():
    records = [LengthRecord(id="a", lengths={0.0: 100, 0.7: 400}, is_capped={}),
               LengthRecord(id="b", lengths={0.0: 300, 0.7: 25}, is_capped={})]
    assert target_lengths(records) == [400, 300]
    assert target_lengths(records, "max", 256) == [256, 256]
    assert target_lengths(records, "greedy", 256) == [100, 256]
    assert target_lengths(records, "mean") == [200, round((300 * 25) ** 0.5)]
    assert target_lengths(records, "mean", 256) == [160, 80]
    with pytest.raises(ValueError, match="length_target"):
        target_lengths(records, "longest")


def test_greedy_length_needs_temperature_zero():
    record = LengthRecord(id="x", lengths={0.7: 5}, is_capped={0.7: False})
    with pytest.raises(ValueError, match="temperature-0"):
        _ = record.greedy_length


def test_a_file_without_records_says_how_to_fill_it(tmp_path):
    path = tmp_path / "lengths.jsonl"
    path.write_text(json.dumps({"settings": {"max_new_tokens": 8}}) + "\n")
    with pytest.raises(ValueError, match="seqsch.bench.lengths collect"):
        read_length_file(path)
    assert read_length_file(path, allow_empty=True) == []


def _jsonl_line(id_="a", **sample):
    record = {"id": id_, "split": "train", "num_prompt_tokens": 5, "max_new_tokens": 64,
              "samples": [{"temperature": 0.0, "seed": 1, "num_output_tokens": 20,
                           "is_capped": False, **sample}]}
    return json.dumps(record) + "\n"


def _paper_error(tmp_path, items):
    path = tmp_path / "paper-lengths.json"
    path.write_text(json.dumps(items))
    with pytest.raises(ValueError) as info:
        load_length_file(path)
    return str(info.value)


def _jsonl_error(tmp_path, text):
    path = tmp_path / "our-lengths.jsonl"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_length_file(path)
    return str(info.value)


BAD_LENGTHS = [-3, "12x", "12", 12.5, 12.0, True, float("nan"), float("inf"), [12]]


@pytest.mark.parametrize(
    ("field", "bad"),
    [(field, bad) for field in ("L_t0.3", "L_gt") for bad in BAD_LENGTHS] + [("L_t0.0", None)],
)
def test_paper_length_must_be_a_non_negative_integer(tmp_path, field, bad):
    item = _paper_item("q7", 10)
    item[field] = bad
    message = _paper_error(tmp_path, [_paper_item("q1", 5), item])
    for part in ("paper-lengths.json", "item 1", "'q7'", repr(field), "non-negative integer",
                 "fix or remove"):
        assert part in message


def test_paper_null_reference_length_means_none(tmp_path):
    path = tmp_path / "paper.json"
    item = _paper_item("q1", 5)
    item["L_gt"] = None
    path.write_text(json.dumps([item]))
    assert load_length_file(path).records[0].reference_length is None


@pytest.mark.parametrize(
    ("field", "bad"),
    [("num_output_tokens", -1), ("num_output_tokens", "20"), ("num_output_tokens", 20.0),
     ("num_output_tokens", float("inf")), ("seed", -2), ("seed", 1.5), ("temperature", -0.3),
     ("temperature", "hot"), ("temperature", True), ("temperature", float("nan")),
     ("is_capped", "false")],
)
def test_jsonl_sample_fields_are_checked(tmp_path, field, bad):
    message = _jsonl_error(tmp_path, _jsonl_line("b") + _jsonl_line("c", **{field: bad}))
    for part in ("our-lengths.jsonl:2", "'c'", "sample 0", repr(field), "fix or remove"):
        assert part in message


@pytest.mark.parametrize(
    ("field", "bad"),
    [("num_prompt_tokens", -5), ("num_prompt_tokens", "5"), ("max_new_tokens", 6.4),
     ("max_new_tokens", False), ("split", 3)],
)
def test_jsonl_record_fields_are_checked(tmp_path, field, bad):
    record = json.loads(_jsonl_line("c"))
    record[field] = bad
    message = _jsonl_error(tmp_path, _jsonl_line("b") + json.dumps(record) + "\n")
    for part in ("our-lengths.jsonl:2", "'c'", repr(field), "fix or remove"):
        assert part in message


@pytest.mark.parametrize("bad_id", ["", "  ", 7, None])
def test_ids_must_be_non_empty_strings(tmp_path, bad_id):
    message = _jsonl_error(tmp_path, _jsonl_line(bad_id))
    assert "our-lengths.jsonl:1" in message and "'id'" in message and "non-empty string" in message
    message = _paper_error(tmp_path, [{**_paper_item("x", 3), "id": bad_id}])
    assert "paper-lengths.json: item 0" in message and "'id'" in message


def test_duplicate_ids_name_both_positions(tmp_path):
    message = _paper_error(tmp_path, [_paper_item("q1", 3), _paper_item("q2", 4),
                                      _paper_item("q1", 5)])
    assert "paper-lengths.json" in message and "'q1'" in message
    assert "item 0" in message and "item 2" in message
    text = json.dumps({"settings": {}}) + "\n" + _jsonl_line("a") + "\n" + _jsonl_line("a")
    message = _jsonl_error(tmp_path, text)
    assert "our-lengths.jsonl" in message and "'a'" in message
    assert "line 2" in message and "line 4" in message


def test_a_pretty_printed_json_object_is_not_taken_for_jsonl(tmp_path):
    text = json.dumps({"records": [_paper_item("q1", 3)]}, indent=2)
    message = _jsonl_error(tmp_path, text)
    assert "our-lengths.jsonl" in message and "one JSON value" in message
    assert "JSON list" in message


def test_bad_settings_line_and_non_utf8_file(tmp_path):
    message = _jsonl_error(tmp_path, json.dumps({"settings": [1]}) + "\n" + _jsonl_line())
    assert "our-lengths.jsonl:1" in message and "'settings'" in message
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(_jsonl_line("a").replace('"a"', '"caf\u00e9"').encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.jsonl: not UTF-8"):
        load_length_file(path)
