"""The perception scorecard: verdicts, the learning curve's extrapolation, the sampled-answer
order, and the tables read from the shipped data."""

import pytest

from seqsch.core.length_records import LengthRecord, write_length_header, write_length_record
from seqsch.lab.scorecard import (
    anchors_table,
    ceiling_table,
    doublings_to,
    metrics_beaten,
    sampled_answer_order,
    targets_table,
    verdict,
)


def test_verdict_names_the_gap_in_the_direction_that_matters():
    assert verdict(0.46, 0.6) == "missed by 0.14"
    assert verdict(0.64, 0.6) == "met"
    assert verdict(0.99, 0.85, higher_is_better=False) == "missed by 0.14"
    assert verdict(121.2, 139.3, higher_is_better=False) == "met"


def test_metrics_beaten_read_each_metric_in_its_direction():
    constant = {"error": 170.6, "acc50": 0.13, "acc100": 0.34, "kendall_tau": 0.0}
    module = {"error": 163.5, "acc50": 0.17, "acc100": 0.34, "kendall_tau": -0.1}
    assert metrics_beaten(module, constant) == ["error", "acc50"]  # a tie is not a win
    assert metrics_beaten(constant, constant) == []


def test_doublings_follow_the_least_squares_slope():
    curve = [{"num_train": n, "cv_kendall_tau": tau}
             for n, tau in ((100, 0.40), (200, 0.42), (400, 0.44))]
    assert doublings_to(curve, 0.60) == pytest.approx(8.0)
    assert doublings_to(curve, 0.30) == 0.0
    flat = [{"num_train": n, "cv_kendall_tau": 0.4} for n in (100, 200)]
    assert doublings_to(flat, 0.6) is None and doublings_to(curve[:1], 0.6) is None


def test_sampled_answers_order_the_greedy_answers_at_the_cap(tmp_path):
    path = tmp_path / "lengths.jsonl"
    rows = [("a", 10, 12, 300), ("b", 50, 60, 20), ("c", 400, 500, 512), ("d", 90, 80, 200),
            ("e", 512, 512, 5)]
    with path.open("w") as fh:
        write_length_header(fh, {"model": "tiny"})
        for id_, greedy, warm, hot in rows:
            write_length_record(fh, LengthRecord(id_, {0.0: greedy, 0.3: warm, 0.7: hot},
                                                 {}, split="val", max_new_tokens=512))
    scores = sampled_answer_order(path, cap=256)
    assert sorted(scores) == [0.3, 0.7]
    assert scores[0.3]["kendall_tau"] == pytest.approx(1.0)  # the same order as greedy
    assert scores[0.7]["kendall_tau"] < 0


def test_shipped_scorecard_tables_read_their_files():
    targets = targets_table()
    assert targets.count("\n") >= 12 and "rank head" in targets
    assert "retrained module" in targets and "vLLM mean completion" in targets
    ceiling = ceiling_table()
    assert "temperature 0.3" in ceiling and "prompts per fold" in ceiling
    assert "0.559" in anchors_table()
