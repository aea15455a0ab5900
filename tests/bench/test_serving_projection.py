"""Serving under load at 7B scale, simulated on the recorded test split."""

import json

import pytest

from seqsch.bench.serving_projection import ProjectionConfig, project_serving, tail_setting
from seqsch.core.recorded import RecordedLength, write_recorded_file


@pytest.mark.parametrize("field, value", [("num_slots", 0), ("rates_x_capacity", ()),
                                          ("rates_x_capacity", (0.0, 1.0)),
                                          ("aging_values", (-1.0,))])
def test_config_refuses_bad_settings(field, value):
    with pytest.raises(ValueError, match=field):
        ProjectionConfig(**{field: value})


def _row(policy, rate, aging, mean_x, p99_x):
    return {"policy": policy, "request_rate": rate, "aging_per_s": aging,
            "mean_latency_x_first_come": mean_x, "p99_latency_x_first_come": p99_x}


def test_tail_setting_is_the_smallest_aging_that_holds_p99_at_every_rate():
    rows = [_row("p", 1.0, 0.0, 0.9, 1.1), _row("p", 2.0, 0.0, 0.6, 2.0),
            _row("p", 1.0, 5.0, 0.95, 1.0), _row("p", 2.0, 5.0, 0.8, 1.2),
            _row("p", 1.0, 9.0, 1.0, 1.0), _row("p", 2.0, 9.0, 0.99, 1.0)]
    assert tail_setting(rows, "p") == {"aging_per_s": 5.0, "worst_mean_x_first_come": 0.95,
                                       "best_mean_x_first_come": 0.8}
    assert tail_setting(rows, "p", max_p99_x=0.5) is None


def test_projection_on_a_small_recorded_split(tmp_path, paper_val_path):
    lengths = [20, 400, 35, 900, 60, 250, 15, 700, 120, 45] * 6
    records = [RecordedLength(f"r{i}_0", "test", 30 + i % 7, n) for i, n in enumerate(lengths)]
    lengths_path = write_recorded_file(tmp_path / "lengths.jsonl", records, {})
    evaluation = {"split": "test", "lengths": str(lengths_path), "ids": [r.id for r in records],
                  "recorded_lengths": lengths,
                  "sources": {"recorded-head": {"predictions": [n + 30 for n in lengths],
                                                "flops_share_7b": 0.002}}}
    eval_path = tmp_path / "eval.json"
    eval_path.write_text(json.dumps(evaluation))
    config = ProjectionConfig(num_slots=4, rates_x_capacity=(0.3, 2.0), aging_values=(0.0,))
    projection = project_serving(eval_path, config)
    rows = projection["rows"]
    assert {r["policy"] for r in rows} == {"first-come", "oracle", "recorded-head", "prompt-length"}
    assert projection["predictor_s_per_request"] == pytest.approx(
        0.002 / projection["capacity_requests_per_s"])
    high = {r["policy"]: r for r in rows if r["rate_x_capacity"] == pytest.approx(2.0)}
    # past capacity a queue forms: the order that matches the lengths cuts the mean latency
    assert high["recorded-head"]["mean_latency_x_first_come"] < 0.9
    assert high["oracle"]["mean_latency_x_first_come"] < 0.9
