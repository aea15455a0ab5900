"""Notebook 07's sentences read the right cells of the paper's table rows."""

from pathlib import Path

import pytest

from seqsch.bench.replay_summary import (
    by_spec,
    cost_fit_lines,
    cpu_takeaway,
    environment_line,
    live_takeaway,
    recorded_takeaway,
    refit_lines,
    simulated_takeaway,
    worst_sim_gap,
)
from seqsch.scheduling.cost_model import CostModel

ROWS = [{"spec": "vanilla", "x_vanilla": 1.0, "sim_gap": 0.02},
        {"spec": "oracle", "x_vanilla": 1.5, "sim_gap": -0.08},
        {"spec": "standin+vbs+fcr", "x_vanilla": 1.3, "paper_x_vanilla": 1.65, "sim_gap": None},
        {"spec": "oracle+vbs+fcr", "x_vanilla": 1.8, "paper_x_vanilla": 1.94, "avg_length": 120.4,
         "paper_avg_length": 118.0, "sim_gap": 0.05}]


def test_worst_gap_and_rows_by_spec():
    assert worst_sim_gap(ROWS) == 0.08
    assert by_spec(ROWS)["oracle"]["x_vanilla"] == 1.5
    with pytest.raises(ValueError, match="sim_gap"):
        worst_sim_gap([{"spec": "vanilla", "sim_gap": None}])


def test_takeaways_quote_the_rows():
    rows = by_spec(ROWS)
    simulated = simulated_takeaway(rows)
    assert "oracle + VBS + FCR 1.80x vanilla, the paper measured 1.94x" in simulated
    assert "stand-in with VBS + FCR 1.30x (1.65x)" in simulated and "120 vs 118" in simulated
    assert cpu_takeaway(rows, 0.08).endswith("stand-in + VBS + FCR 1.30x; the simulator predicted "
                                             "every row within 8%.")
    live = live_takeaway("random:tiny", 64, 512, ROWS, 5, 6)
    assert live == ("Live here (random:tiny, 64 prompts, cap 512): oracle + VBS + FCR 1.80x "
                    "vanilla; 5 of 6 live ratios move as the committed CPU replay's did.")
    assert live_takeaway("m", 1, 1, ROWS[:2], 0, 0) is None
    recorded = recorded_takeaway([{"spec": "recorded-head", "x_vanilla": 1.2},
                                  {"spec": "recorded-head+vbs+fcr", "x_vanilla": 1.4,
                                   "failure_ratio": 0.12}, {"spec": "oracle", "x_vanilla": 1.6}])
    assert "its sort 1.20x vanilla, with VBS + FCR 1.40x (FCR recomputes 12%)" in recorded
    assert recorded.endswith("the oracle's sort 1.60x.")


def test_cost_and_environment_lines():
    calibrated = CostModel("c", "gpu", 0.02, 1e-5, 0.0, 0.0, 0.0)
    fitted = CostModel("f", "gpu", 0.015, 2e-4, 0.0, 0.0, 0.0)
    lines = cost_fit_lines(calibrated, fitted)
    assert lines == ["calibrated on vanilla: 20.0 ms per step + 0.010 ms per row",
                     "fitted to both rows:   15.0 ms per step + 0.200 ms per row "
                     "(20x the analytic per-row cost)"]
    refit = {"vanilla": {"samples_per_s": 2.0},
             "standin": {"samples_per_s": 3.0, "failure_ratio": 0.0},
             "standin+vbs+fcr": {"samples_per_s": 4.0, "failure_ratio": 0.1}}
    paper = {"standin": {"paper_x_vanilla": 1.4}, "standin+vbs+fcr": {"paper_x_vanilla": 1.65}}
    assert refit_lines(refit, paper)[1] == ("with that cost, standin+vbs+fcr: 2.00x vanilla "
                                            "(paper 1.65x); FCR ratio 10.0%")
    records = {"vanilla": {"config": {"model": "random:smollm2-135m"}, "actual_lengths": [1] * 256,
                           "environment": {"dtype": "float32", "device": "cpu",
                                           "num_threads": 2}}}
    assert environment_line(Path("data/r.jsonl"), records) == (
        "r.jsonl: random:smollm2-135m, float32, cpu, 2 threads, 256 prompts")
