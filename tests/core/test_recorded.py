"""Tests of seqsch.core.recorded: the recorded-lengths workload, its filter, split and file."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from seqsch.core.paths import BUILD_DIR, DATA_DIR
from seqsch.core.recorded import (
    SPLITS,
    RecordedConfig,
    RecordedLength,
    build_recorded,
    read_recorded_file,
    recorded_requests,
    records_of_split,
    split_of,
    write_recorded_file,
)
from seqsch.core.requests import Request

# A small filter, so that hand-made texts cross every bound: prompt 4..20, answer >= 4, sum <= 30
SMALL = RecordedConfig(min_prompt_tokens=4, max_prompt_tokens=20, min_output_tokens=4,
                       max_total_tokens=30)


def _words(n: int) -> str:
    return " ".join(["word"] * n)  # "word" and " word" are one token each: n tokens


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize("field", ["min_prompt_tokens", "max_prompt_tokens",
                                   "min_output_tokens", "max_total_tokens"])
def test_config_rejects_counts_below_one(field):
    with pytest.raises(ValueError, match=field):
        RecordedConfig(**{field: 0})


@pytest.mark.parametrize("fractions", [
    {"val_fraction": -0.1}, {"test_fraction": 0.0}, {"test_fraction": -0.1},
    {"val_fraction": 0.5, "test_fraction": 0.5}, {"val_fraction": 0.3, "test_fraction": 0.8},
])
def test_config_rejects_fractions_that_leave_no_train_split(fractions):
    with pytest.raises(ValueError, match="train split"):
        RecordedConfig(**fractions)


def test_config_bounds():
    with pytest.raises(ValueError, match="min_prompt_tokens must not exceed"):
        RecordedConfig(min_prompt_tokens=10, max_prompt_tokens=9)
    RecordedConfig(min_prompt_tokens=9, max_prompt_tokens=9)  # equal bounds are fine
    RecordedConfig(val_fraction=0.0)  # no validation split is fine
    assert RecordedConfig() == RecordedConfig(4, 1024, 4, 2048, True, 0.10, 0.15, 0)


# ------------------------------------------------------------------------------ split


def test_split_is_deterministic_and_depends_on_seed_and_id_only():
    config = RecordedConfig()
    ids = [f"id{i}_0" for i in range(500)]
    first = [split_of(i, config) for i in ids]
    assert first == [split_of(i, config) for i in ids]
    assert set(first) == set(SPLITS)
    # the filter bounds do not move a record
    other_filter = RecordedConfig(min_prompt_tokens=1, max_prompt_tokens=5, min_output_tokens=9,
                                  max_total_tokens=7, is_first_chunk_only=False)
    assert first == [split_of(i, other_filter) for i in ids]
    # the seed does
    reseeded = [split_of(i, replace(config, split_seed=1)) for i in ids]
    assert reseeded != first
    assert sum(a != b for a, b in zip(first, reseeded)) > 100
    # an id's split does not depend on which other ids exist or their order
    assert [split_of(i, config) for i in reversed(ids)] == first[::-1]


def test_split_shares_match_the_fractions():
    config = RecordedConfig(val_fraction=0.10, test_fraction=0.15)
    splits = [split_of(f"synthetic-{i}_0", config) for i in range(20_000)]
    shares = {s: splits.count(s) / len(splits) for s in SPLITS}
    assert shares["test"] == pytest.approx(0.15, abs=0.01)
    assert shares["val"] == pytest.approx(0.10, abs=0.01)
    assert shares["train"] == pytest.approx(0.75, abs=0.01)


def test_split_without_val_and_growing_test_keeps_test_records():
    ids = [f"x{i}" for i in range(2000)]
    no_val = RecordedConfig(val_fraction=0.0, test_fraction=0.2)
    assert "val" not in {split_of(i, no_val) for i in ids}
    small = RecordedConfig(val_fraction=0.0, test_fraction=0.1)
    small_test = {i for i in ids if split_of(i, small) == "test"}
    assert small_test and small_test <= {i for i in ids if split_of(i, no_val) == "test"}


# ------------------------------------------------------------------------------ build


def _hand_made_requests():
    return [
        Request("keep_0", _words(5), _words(10)),       # kept
        Request("short_0", _words(3), _words(10)),      # prompt too short
        Request("long_0", _words(21), _words(5)),       # prompt too long
        Request("edge_0", _words(4), _words(4)),        # kept: every bound is inclusive
        Request("edge2_0", _words(20), _words(10)),     # kept: prompt 20, total 30
        Request("answer_0", _words(5), _words(3)),      # answer too short
        Request("total_0", _words(15), _words(16)),     # total 31 too long
        Request("later_1", _words(5), _words(10)),      # passes the filter, not a first chunk
        Request("noref_0", _words(5)),                  # no answer at all
        Request("empty_0", _words(5), ""),              # an empty answer is no answer
    ]


def test_words_helper_counts_tokens(tokenizer):
    for n in (1, 3, 4, 20, 21):
        assert len(tokenizer(_words(n), add_special_tokens=False).input_ids) == n


def test_build_applies_each_filter_and_reports_counts(tokenizer):
    records, report = build_recorded(tokenizer, _hand_made_requests(), SMALL)
    assert [(r.id, r.num_prompt_tokens, r.num_output_tokens) for r in records] == [
        ("keep_0", 5, 10), ("edge_0", 4, 4), ("edge2_0", 20, 10)]
    assert all(r.split == split_of(r.id, SMALL) for r in records)
    assert report["counts"] == {"human -> gpt turns with an answer": 8,
                                "pass the length filter": 4, "first chunks": 3}
    assert report["splits"] == {s: sum(r.split == s for r in records) for s in SPLITS}
    assert sum(report["splits"].values()) == 3
    assert "load" not in report  # requests were given: nothing was loaded


def test_build_keeps_later_chunks_when_asked(tokenizer):
    config = replace(SMALL, is_first_chunk_only=False)
    records, report = build_recorded(tokenizer, _hand_made_requests(), config)
    assert [r.id for r in records] == ["keep_0", "edge_0", "edge2_0", "later_1"]
    assert report["counts"] == {"human -> gpt turns with an answer": 8,
                                "pass the length filter": 4}


def test_build_default_filter_counts_plain_text(tokenizer):
    requests = [Request("a_0", _words(4), _words(2044)),   # sum 2048: kept
                Request("b_0", _words(4), _words(2045)),   # sum 2049: dropped
                Request("c_0", _words(1025), _words(4)),   # prompt over 1024: dropped
                Request("d_0", _words(1024), _words(4))]   # kept
    records, report = build_recorded(tokenizer, requests)
    assert [(r.id, r.num_prompt_tokens, r.num_output_tokens) for r in records] == [
        ("a_0", 4, 2044), ("d_0", 1024, 4)]
    assert report["counts"]["pass the length filter"] == 2


def test_build_with_nothing_left_is_an_error(tokenizer):
    with pytest.raises(ValueError, match="no ShareGPT record passes the filter"):
        build_recorded(tokenizer, [Request("a_0", _words(2), _words(10)),
                                   Request("b_1", _words(5), _words(10))], SMALL)


def test_build_without_any_answer_is_a_value_error(tokenizer):
    with pytest.raises(ValueError):
        build_recorded(tokenizer, [Request("a_0", _words(5))], SMALL)


# ------------------------------------------------------------------------------ file


RECORDS = [RecordedLength("a_0", "train", 5, 10), RecordedLength("b_0", "val", 7, 1),
           RecordedLength("c_0", "test", 1, 2048)]


def test_file_round_trip(tmp_path):
    path = tmp_path / "sub" / "recorded.jsonl"
    settings = {"workload": "sharegpt-recorded", "counts": {"x": 3}}
    assert write_recorded_file(path, RECORDS, settings) == path
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"settings": settings}
    assert len(lines) == 1 + len(RECORDS)
    assert read_recorded_file(path) == RECORDS
    assert not list(path.parent.glob(".*tmp*"))  # the temporary file is gone


def test_read_skips_blank_lines(tmp_path):
    path = tmp_path / "recorded.jsonl"
    write_recorded_file(path, RECORDS, {})
    path.write_text(path.read_text().replace("\n", "\n\n"))
    assert read_recorded_file(path) == RECORDS


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {"id": "a_0", "split": "train", "num_prompt_tokens": 5, "num_output_tokens": 10}


@pytest.mark.parametrize(("bad_line", "field_pattern"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "id"} | {"split": "val"}), "field 'id'"),
    (json.dumps(GOOD | {"id": ""}), "field 'id'"),
    (json.dumps(GOOD | {"id": 7}), "field 'id'"),
    (json.dumps(GOOD), "field 'id' is 'a_0', expected a new id"),  # a duplicate
    (json.dumps(GOOD | {"id": "b_0", "split": "dev"}), "field 'split'"),
    (json.dumps(GOOD | {"id": "b_0", "split": None}), "field 'split'"),
    (json.dumps(GOOD | {"id": "b_0", "num_prompt_tokens": "5"}), "field 'num_prompt_tokens'"),
    (json.dumps(GOOD | {"id": "b_0", "num_prompt_tokens": 5.0}), "field 'num_prompt_tokens'"),
    (json.dumps(GOOD | {"id": "b_0", "num_prompt_tokens": 0}), "field 'num_prompt_tokens'"),
    (json.dumps(GOOD | {"id": "b_0", "num_output_tokens": 0}), "field 'num_output_tokens'"),
    (json.dumps(GOOD | {"id": "b_0", "num_output_tokens": -3}), "field 'num_output_tokens'"),
    (json.dumps(GOOD | {"id": "b_0", "num_output_tokens": True}), "field 'num_output_tokens'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "num_output_tokens"} | {"id": "b_0"}),
     "field 'num_output_tokens'"),
])
def test_malformed_lines_name_file_line_and_field(tmp_path, bad_line, field_pattern):
    path = _write_lines(tmp_path / "bad.jsonl",
                        [json.dumps({"settings": {}}), json.dumps(GOOD), bad_line])
    with pytest.raises(ValueError, match=re.escape(f"{path}: line 3")) as info:
        read_recorded_file(path)
    assert re.search(field_pattern, str(info.value))


def test_file_without_records_is_an_error(tmp_path):
    path = _write_lines(tmp_path / "empty.jsonl", [json.dumps({"settings": {}})])
    with pytest.raises(ValueError, match="holds no records"):
        read_recorded_file(path)


def test_missing_file_names_the_build_command(tmp_path):
    path = tmp_path / "absent.jsonl"
    with pytest.raises(FileNotFoundError,
                       match=re.escape(f"python -m seqsch.bench lengths recorded --out {path}")):
        read_recorded_file(path)


# ------------------------------------------------------------------------------ splits, requests


def test_records_of_split():
    records = RECORDS + [RecordedLength("d_0", "train", 2, 3)]
    assert [r.id for r in records_of_split(records, "train")] == ["a_0", "d_0"]
    assert [r.id for r in records_of_split(records, "test")] == ["c_0"]
    with pytest.raises(ValueError, match="split must be one of"):
        records_of_split(records, "dev")
    with pytest.raises(ValueError, match="no 'val' records"):
        records_of_split([r for r in records if r.split != "val"], "val")


POOL = [Request("z_0", "unused prompt", "unused answer"),
        Request("c_0", "prompt c", "answer c"),
        Request("a_0", "prompt a", "answer a"),
        Request("b_0", "prompt b", "answer b")]


def test_recorded_requests_force_the_recorded_lengths():
    requests = recorded_requests(RECORDS, pool=POOL)
    assert [r.id for r in requests] == ["a_0", "b_0", "c_0"]  # the records' order
    for request, record in zip(requests, RECORDS):
        assert request.prompt == f"prompt {record.id[0]}"
        assert request.reference == f"answer {record.id[0]}"
        assert request.num_prompt_tokens == record.num_prompt_tokens
        assert request.num_reference_tokens == record.num_output_tokens
        assert request.forced_output_tokens == record.num_output_tokens
    (test,) = recorded_requests(RECORDS, "test", pool=POOL)
    assert (test.id, test.forced_output_tokens) == ("c_0", 2048)
    with pytest.raises(ValueError, match="split must be one of"):
        recorded_requests(RECORDS, "dev", pool=POOL)


def test_recorded_requests_missing_ids_are_a_key_error():
    with pytest.raises(KeyError, match="2 recorded ids are not in the ShareGPT workload"):
        recorded_requests(RECORDS, pool=POOL[2:3])
    assert len(recorded_requests(RECORDS, "train", pool=POOL[2:3])) == 1  # a_0 alone is found


# ------------------------------------------------------------------------------ shipped file


def _shipped_file():
    for path in (DATA_DIR / "lengths-sharegpt-recorded.jsonl",
                 BUILD_DIR / "lengths-sharegpt-recorded.jsonl"):
        if path.is_file():
            return path
    pytest.skip("no recorded-lengths file in data/ or build/")


def test_shipped_file_reads_and_passes_its_own_filter():
    path = _shipped_file()
    records = read_recorded_file(path)
    with path.open(encoding="utf-8") as lines:
        settings = json.loads(next(lines))["settings"]
    config = RecordedConfig(**settings["config"])
    assert (config.min_prompt_tokens, config.max_prompt_tokens, config.min_output_tokens,
            config.max_total_tokens, config.is_first_chunk_only) == (4, 1024, 4, 2048, True)
    assert len(records) == 8675 == settings["counts"]["first chunks"]
    assert all(r.id.endswith("_0") for r in records)
    counts = {s: sum(r.split == s for r in records) for s in SPLITS}
    assert all(counts.values()) and counts == settings["splits"]
    for r in records:
        assert config.min_prompt_tokens <= r.num_prompt_tokens <= config.max_prompt_tokens, r
        assert r.num_output_tokens >= config.min_output_tokens, r
        assert r.num_prompt_tokens + r.num_output_tokens <= config.max_total_tokens, r
        assert r.split == split_of(r.id, config), r
