"""Notebook 06's replay: each shipped predictor's order scored on the step clock, the oracle's
row first, and the sentences that read it."""

import json

import pytest

from seqsch.core.length_records import LengthRecord, read_length_file
from seqsch.core.paths import DEFAULT_LENGTHS
from seqsch.lab.order_replay import (
    ORACLE_LABEL,
    best_order,
    predictor_replay,
    replay_line,
    replay_row,
    replay_text,
    replay_title,
    shipped_order,
)
from seqsch.scheduling.priority import mean_completion_steps


def record(i: int, greedy: int) -> LengthRecord:
    return LengthRecord(f"p{i}", {0.0: greedy}, {}, split="val")


RECORDS = [record(i, n) for i, n in enumerate((300, 5, 40, 9, 260, 2))]


def write_eval(folder, name: str, preds: dict, predict_s: float | None = None) -> None:
    summary = {} if predict_s is None else {"predict_s": predict_s}
    (folder / f"perception-eval-{name}.json").write_text(json.dumps(
        {"summary": summary, "predictions": [{"id": i, "pred": p} for i, p in preds.items()]}))


def test_the_oracle_row_is_the_floor_and_a_reversed_order_scores_below_zero(tmp_path):
    lengths = (300, 5, 40, 9, 260, 2)
    write_eval(tmp_path, "good", {f"p{i}": n for i, n in enumerate(lengths)}, 0.05)
    write_eval(tmp_path, "bad", {f"p{i}": 1000 - n for i, n in enumerate(lengths)})
    replay = predictor_replay(RECORDS, ["good", "bad"], num_slots=2, cap=256, data_dir=tmp_path)
    oracle, good, bad = replay["rows"]
    assert oracle["label"] == ORACLE_LABEL and oracle["order_gain"] == 1.0
    true = [256, 5, 40, 9, 256, 2]
    assert oracle["relative"] == pytest.approx(mean_completion_steps(true, true, 2)
                                               / mean_completion_steps(true, None, 2))
    assert good["order_gain"] == 1.0 and good["predict_ms"] == pytest.approx(50.0)
    assert bad["order_gain"] < 0 and bad["kendall_tau"] < 0 and bad["predict_ms"] == 0.0
    assert (replay["num_prompts"], replay["num_at_cap"]) == (6, 2)
    assert best_order(replay) is good
    lines = replay_text(replay).splitlines()
    assert lines[0] == ("6 validation prompts, greedy lengths censored at 256 (2 at the cap), "
                        "2 slots")
    assert lines[2].strip().startswith(ORACLE_LABEL) and len(lines) == 5
    assert replay_title(replay).endswith("good recovers 100% of it")
    assert replay_line(replay).startswith("Replay (6 prompts, 2 slots): the oracle's order cuts")


def test_a_file_missing_a_prompt_is_refused_and_missing_predictions_are_filled(tmp_path):
    write_eval(tmp_path, "short", {"p0": 1})
    with pytest.raises(ValueError, match="lacks 5 validation prompts"):
        shipped_order("short", RECORDS, tmp_path)
    write_eval(tmp_path, "holes", {f"p{i}": (None if i == 1 else 10 * i) for i in range(6)})
    predicted, _ = shipped_order("holes", RECORDS, tmp_path)
    assert predicted[1] == pytest.approx(sum((0, 20, 30, 40, 50)) / 5)


def test_replay_row_and_the_shipped_files():
    row = replay_row("x", [3, 2, 1], [30, 20, 10], num_slots=1)
    assert row["order_gain"] == 1.0 and row["kendall_tau"] == pytest.approx(1.0)
    val = [r for r in read_length_file(DEFAULT_LENGTHS) if r.split == "val"]
    replay = predictor_replay(val, ["rank-head", "constant"], 16, 256)
    constant = replay["rows"][2]
    assert constant["order_gain"] == pytest.approx(0.0) and constant["relative"] == pytest.approx(1)
    assert best_order(replay)["label"] == "rank-head"
