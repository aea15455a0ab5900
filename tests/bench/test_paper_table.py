"""The paper's table: simulated on its workload, and a replay sweep's rows beside the simulator."""

from __future__ import annotations

import pytest

from seqsch.bench.paper_table import (
    PAPER_SPECS,
    PaperTableConfig,
    fit_step_cost,
    markdown,
    replay_table,
    simulate_paper_table,
    simulate_rows,
)
from seqsch.bench.replay import PAPER_ROWS, paper_workload
from seqsch.scheduling.cost_model import load_cost_model


@pytest.fixture(scope="module")
def table():
    return simulate_paper_table()


def test_vanilla_is_calibrated_to_the_papers_row_and_the_rest_predicted(table):
    rows = {row["spec"]: row for row in table["rows"]}
    assert list(rows) == list(PAPER_SPECS)
    assert rows["vanilla"]["samples_per_s"] == pytest.approx(PAPER_ROWS["vanilla"]["samples_per_s"])
    # the schedule is the paper's: its oracle row's padded length and ETR within a few percent
    oracle = rows["oracle+vbs+fcr"]
    assert oracle["avg_length"] == pytest.approx(oracle["paper_avg_length"], rel=0.03)
    assert oracle["effective_token_ratio"] == pytest.approx(
        oracle["paper_effective_token_ratio"], rel=0.06)
    assert rows["vanilla"]["avg_length"] == pytest.approx(rows["vanilla"]["paper_avg_length"],
                                                          rel=0.03)
    # every row is faster than vanilla, and the oracle fastest with VBS and FCR
    assert all(row["x_vanilla"] > 1 for name, row in rows.items() if name != "vanilla")
    assert oracle["x_vanilla"] > rows["standin+vbs+fcr"]["x_vanilla"]
    assert rows["oracle"]["gap"] is None and oracle["gap"] == pytest.approx(
        oracle["x_vanilla"] / oracle["paper_x_vanilla"] - 1)


def test_an_uncalibrated_model_keeps_its_fixed_cost():
    calibrated = simulate_paper_table(PaperTableConfig(num_data=256))
    raw = simulate_paper_table(PaperTableConfig(num_data=256, calibrate_to=None))
    assert raw["cost_model"]["step_fixed_s"] < calibrated["cost_model"]["step_fixed_s"]
    with pytest.raises(ValueError, match="calibrate_to"):
        PaperTableConfig(calibrate_to=0)


def test_fitting_two_rows_reproduces_both():
    config = PaperTableConfig(num_data=256)
    workload = paper_workload(256)
    targets = {"vanilla": 1.39, "oracle+vbs+fcr": 2.69}
    fit = fit_step_cost(workload, load_cost_model(config.cost_model), config, targets)
    rows = simulate_rows(workload, fit, config)
    for name, rate in targets.items():
        assert rows[name]["samples_per_s"] == pytest.approx(rate, rel=1e-6)
    assert fit.step_per_row_s > 0
    with pytest.raises(ValueError, match="two rows"):
        fit_step_cost(workload, fit, config, {"vanilla": 1.39})


def test_replay_rows_put_the_simulator_beside_each_measurement():
    def record(rate, sim):
        summary = {"samples_per_s": rate, "effective_token_ratio": 0.5, "avg_length": 100.0,
                   "failure_ratio": 0.0}
        return {"summary": summary, "simulated": {"samples_per_s": sim}}

    rows = replay_table({"oracle": record(3.0, 3.3), "vanilla": record(2.0, 1.9)})
    assert [row["spec"] for row in rows] == ["vanilla", "oracle"]  # the paper's order
    gt = rows[1]
    assert gt["x_vanilla"] == pytest.approx(1.5)
    assert gt["sim_gap"] == pytest.approx(0.1)
    assert gt["sim_x_vanilla"] == pytest.approx(3.3 / 1.9)
    assert gt["paper_x_vanilla"] is None  # the paper has no oracle row without VBS
    text = markdown(rows, ("label", "x_vanilla", "sim_gap", "paper_x_vanilla"))
    assert "| oracle sort (no VBS, no FCR) | 1.50 | +10.0% | - |" in text
