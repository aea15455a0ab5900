"""Step timings at several batch sizes, the cost model fitted to them, and its round trip."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from seqsch.bench.calibration import (
    calibration_records,
    cost_model_of,
    simulated_summary,
    step_cost_curve,
)
from seqsch.bench.specs import RunSpec
from seqsch.scheduling.cost_model import CostModel

PROMPTS = [[5, 6, 7], [8, 9], [10, 11, 12, 13]]


def test_calibration_records_time_every_step_at_every_batch_size(tiny):
    model, _ = tiny
    steps, prefills = calibration_records(model, PROMPTS, batch_sizes=(1, 3), num_steps=4)
    assert [(rows, width) for rows, width, _ in prefills] == [(1, 3), (3, 4)]
    assert len(steps) == 2 * 3  # each batch: its first token from the prefill, then 3 steps
    assert [(rows, context) for rows, context, _ in steps[:3]] == [(1, 4), (1, 5), (1, 6)]
    assert all(seconds > 0 for *_, seconds in steps + prefills)


def test_step_cost_curve_gives_one_median_per_batch_size(tiny):
    model, _ = tiny
    curve = step_cost_curve(model, PROMPTS, batch_sizes=(1, 2, 4), num_steps=3)
    assert list(curve) == [1, 2, 4] and all(seconds > 0 for seconds in curve.values())


def test_cost_model_of_reads_a_record_back():
    cost = CostModel("m", "cpu", 0.01, 0.002, 1e-6, 0.02, 1e-4, source="test")
    assert cost_model_of({"cost_model": asdict(cost)}) == cost
    assert cost_model_of({}) is None and cost_model_of({"cost_model": None}) is None


class _Sweep:  # the settings simulated_summary reads from a SweepConfig
    batch_size, max_new_tokens, bin_size, group_size = 2, 64, 50, None


def test_simulated_summary_predicts_static_runs_only():
    cost = CostModel("m", "cpu", 0.01, 0.002, 0.0, 0.0, 0.0)
    record = {"actual_lengths": [10, 30, 20, 40], "extra": {}}
    prompts = [[1] * 5] * 4
    summary = simulated_summary(RunSpec.parse("vanilla"), record, None, cost, _Sweep, prompts)
    # two batches of two in arrival order: 30 and 40 steps, 2 rows each
    assert summary["wall_s"] == pytest.approx(
        cost.batch_time_s(2, 30, 5) + cost.batch_time_s(2, 40, 5))
    assert simulated_summary(RunSpec.parse("vanilla"), record, None, None, _Sweep,
                             prompts) is None
    assert simulated_summary(RunSpec.parse("continuous"), record, None, cost, _Sweep,
                             prompts) is None
