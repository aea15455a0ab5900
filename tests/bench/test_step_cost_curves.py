"""The step-cost comparison of notebook 04: ratios by role, verdicts beside their references,
the chart's curves and title, and what each curve makes of a bigger batch."""

import pytest

from seqsch.bench.step_cost_curves import StepCostComparison, paper_fitted_a100
from seqsch.core.paper import PAPER_ROWS
from seqsch.scheduling.cost_model import CostModel, load_cost_model

ROLES = {"cpu": "cpu", "tiny": "tiny", "fit": "fit", "committed_fit": "committed",
         "gpu": "gpu", "gpu_paper": "gpu paper"}


def comparison() -> StepCostComparison:
    a100 = CostModel("a100", "gpu", 0.01, 0.001, 0.0, 0.0, 0.0)
    paper = CostModel("paper", "gpu", 0.02, 0.004, 0.0, 0.0, 0.0)
    rows = [8, 16, 64, 256]
    curves = {"cpu": {8: 1.0, 16: 2.0, 64: 8.0}, "tiny": {8: 1.0, 16: 1.1, 64: 1.5},
              "fit": {8: 1.0, 16: 1.9, 64: 8.2}, "committed": {8: 1.0, 16: 1.2, 64: 6.0},
              "gpu": {n: a100.step_s(n, 0) for n in rows},
              "gpu paper": {n: paper.step_s(n, 0) for n in rows}}
    return StepCostComparison(curves, ROLES, 20.0, 20.0, 128, a100, paper, "emb", "tiny-model")


def test_ratios_and_lines_by_role():
    costs = comparison()
    assert costs.ratio("cpu", (8, 16)) == 2.0 and costs.ratio("cpu", (16, 64)) == 4.0
    assert costs.ratio("gpu", (16, 256)) == pytest.approx(0.266 / 0.026)
    lines = costs.ratio_lines()
    assert lines[0].startswith("A step's time against its rows (CPU at the measured context, 20")
    assert lines[1] == "  cpu: 16 rows 2.00x 8, 64 rows 4.00x 16"
    assert lines[-1].startswith("The paper's rows imply an A100 cost per row 4x the analytic")
    assert costs.steepest_pair() == (16, 64)  # 64 / 16 beats 16 / 8


def test_verdicts_put_each_measured_ratio_beside_its_reference():
    lines = comparison().verdicts()
    assert len(lines) == 2 * 2 + 2  # cpu: committed and fit per pair; tiny: the A100 per pair
    assert lines[0].startswith("step of 16 rows over 8, emb: here 2.00x, the committed replay's "
                               "cost model 1.20x: differ by +67%")
    assert lines[1].endswith("the measured curve 2.00x: agree")  # the fit, 1.90x
    assert lines[4].startswith("step of 16 rows over 8, tiny-model: here 1.10x, the analytic "
                               "A100 1.44x: agree")  # -24%, within 25%


def test_chart_and_throughput_gains_leave_out_what_repeats():
    costs = comparison()
    assert "committed" not in costs.chart_curves() and len(costs.chart_curves()) == 5
    assert costs.chart_title().startswith("A step of 64 rows costs 4.0x one of 16 on this CPU")
    gains = costs.throughput_gains(0.8, 16, 64)
    assert "fit" not in gains and gains["cpu"] == pytest.approx(0.8 * 4 / 4.0)
    assert gains["tiny"] == pytest.approx(0.8 * 4 / (1.5 / 1.1))
    lines = costs.gain_lines(gains, 16, 64)
    assert lines[0] == ("cpu: batch 64 over 16 gives 0.80x the throughput on the paper's "
                        "lengths (not worth its padding)")
    assert "worth its padding)" in lines[1] and "no machine here adds rows for free" in (
        costs.takeaway())


def test_the_paper_fitted_a100_costs_more_per_row_than_the_analytic_one():
    a100 = load_cost_model("a100-80gb-vicuna7b")
    paper = paper_fitted_a100(a100)
    assert paper.step_per_row_s > 5 * a100.step_per_row_s
    assert PAPER_ROWS["vanilla"]["samples_per_s"] == pytest.approx(1.39)
