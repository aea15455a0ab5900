"""Padding waste against batch size: exact ETR from lengths (the simulator's and a replay's),
step costs against rows, and the verdicts that put a live ratio beside a committed one."""

import pytest

from seqsch.bench.padding import (
    ROW_PAIRS,
    batch_throughput_ratio,
    batches_at_cap,
    etr_by_batch_size,
    fit_step_curve,
    measure_step_costs,
    model_steps,
    ratio_table,
    replay_vanilla,
    scale_workloads,
    sorted_etr,
    static_etr,
    step_ratio,
)
from seqsch.core.paths import DEFAULT_LENGTHS
from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.scheduler import SchedulerConfig
from seqsch.scheduling.simulate import simulate

LENGTHS = [5, 17, 3, 24, 11, 1, 30, 8, 2, 30]


def test_static_etr_counts_each_batch_to_its_longest_answer():
    assert static_etr([2, 4], 2) == 6 / 8
    assert static_etr([2, 4, 3], 2) == 9 / (2 * 4 + 1 * 3)  # a short last batch
    assert static_etr(LENGTHS, 1) == 1.0  # one row: no padding
    with pytest.raises(ValueError, match="batch_size"):
        static_etr(LENGTHS, 0)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4, 10])
def test_static_and_sorted_etr_match_the_simulator(batch_size):
    vanilla = simulate(LENGTHS, [None] * len(LENGTHS),
                       SchedulerConfig("vanilla", batch_size=batch_size, max_new_tokens=30))
    ordered = simulate(LENGTHS, LENGTHS,
                       SchedulerConfig("sort", batch_size=batch_size, max_new_tokens=30))
    assert static_etr(LENGTHS, batch_size) == pytest.approx(
        vanilla.summary["effective_token_ratio"])
    assert sorted_etr(LENGTHS, batch_size) == pytest.approx(
        ordered.summary["effective_token_ratio"])


def test_etr_falls_with_the_batch_unless_every_batch_reaches_the_cap():
    etr = etr_by_batch_size(LENGTHS, [1, 2, 5])
    assert etr[1] > etr[2] > etr[5]
    at_cap = [30, 4, 30, 2, 30, 9]  # every batch of 2 holds a capped answer
    assert static_etr(at_cap, 2) == static_etr(at_cap, 6) == sum(at_cap) / (6 * 30)
    assert batches_at_cap(at_cap, 2, 30) == 1.0
    assert batches_at_cap(LENGTHS, 2, 30) == 0.4


def test_step_ratios_from_curves_and_cost_models():
    curve = {8: 1.0, 16: 1.5}
    assert step_ratio(curve, 8, 16) == 1.5
    assert step_ratio(curve, 16, 64) is None
    model = CostModel("m", "cpu", 1.0, 0.5, 0.001, 1.0, 0.0)
    steps = model_steps(model, [8, 16, 64, 256], 100)
    assert steps[16] / steps[8] == pytest.approx((1 + 16 * 0.6) / (1 + 8 * 0.6))
    table = ratio_table({"measured": curve, "model": steps})
    assert list(table["measured"]) == [(8, 16)]
    assert list(table["model"]) == list(ROW_PAIRS)
    assert batch_throughput_ratio(1.0, 1.0, 8, 16) == 2.0  # a flat step, no padding added
    assert batch_throughput_ratio(1.0, 2.0, 8, 16) == 1.0  # a step proportional to its rows
    assert batch_throughput_ratio(0.5, 1.0, 8, 16) == 1.0  # twice the rows, half of them padding


def test_scale_workloads_read_both_length_files(paper_val_path):
    workloads = scale_workloads(DEFAULT_LENGTHS, 64, paper_path=paper_val_path)
    assert [len(lengths) for lengths, _ in workloads.values()] == [64, 64]
    assert all(cap == 512 and max(lengths) <= cap for lengths, cap in workloads.values())


def test_replay_vanilla_measures_the_etr_its_lengths_give(tmp_path, paper_val_path):
    records = replay_vanilla([2, 8], "random:tiny", 16, 32, tmp_path, device="cpu")
    for batch_size, record in records.items():
        lengths = record["actual_lengths"]
        assert record["summary"]["effective_token_ratio"] == pytest.approx(
            static_etr(lengths, batch_size), abs=1e-4)
    assert records[2]["actual_lengths"] == records[8]["actual_lengths"]  # forced lengths


def test_step_costs_time_every_batch_size_on_prompts_of_one_length(tiny):
    model, tokenizer = tiny
    costs = measure_step_costs(model, [1, 4], len(tokenizer), prompt_tokens=8, num_steps=3)
    assert set(costs.curve) == {1, 4} and all(s > 0 for s in costs.curve.values())
    assert {rows for rows, _, _ in costs.steps} == {1, 4}
    assert {width for _, width, _ in costs.prefills} == {8}
    assert 8 < costs.context <= 8 + 3
    fitted = fit_step_curve(costs, "fit", "cpu")
    assert fitted.step_per_row_context_s == 0.0
    assert fitted.step_s(4, 0) - fitted.step_s(1, 0) == pytest.approx(
        costs.curve[4] - costs.curve[1])  # a line through two points
    with pytest.raises(ValueError, match="rows"):
        measure_step_costs(model, [], len(tokenizer))
