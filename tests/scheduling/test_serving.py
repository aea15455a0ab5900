"""Tests of seqsch.scheduling.serving and serving_sweep: continuous batching under arrivals,
checked against hand counts on the unit clock (1 s a step) and the burst replay of priority."""

import math
import random

import pytest

from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.priority import completion_steps
from seqsch.scheduling.scheduler import order_for_priority
from seqsch.scheduling.serving import (
    ServingConfig,
    burst_arrivals,
    poisson_arrivals,
    simulate_serving,
)
from seqsch.scheduling.serving_sweep import (
    break_even_rate,
    capacity_requests_per_s,
    serving_sweep,
)

FIRST_COME = ServingConfig(num_slots=1)
SHORTEST = ServingConfig(num_slots=1, policy="shortest-predicted")
COST = CostModel("test", "cpu", step_fixed_s=0.02, step_per_row_s=0.001,
                 step_per_row_context_s=1e-5, prefill_fixed_s=0.03, prefill_per_token_s=2e-4)


def _workload(num_requests: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """Long-tailed output lengths (a few long answers among many short) and prompt lengths."""
    rng = random.Random(seed)
    lengths = [min(400, max(1, int(rng.lognormvariate(3.0, 1.0)))) for _ in range(num_requests)]
    return lengths, [rng.randint(5, 200) for _ in range(num_requests)]


def test_one_slot_by_hand():
    lengths = [5, 1, 1]
    first = simulate_serving(lengths, None, burst_arrivals(3), None, FIRST_COME)
    assert first.latency_s == [5.0, 6.0, 7.0]
    assert first.first_token_s == [1.0, 6.0, 7.0]
    shortest = simulate_serving(lengths, None, burst_arrivals(3), lengths, SHORTEST)
    assert shortest.latency_s == [7.0, 1.0, 2.0]
    assert shortest.finish_step == [7, 1, 2] and shortest.first_token_step == [3, 1, 2]
    summary = first.summary
    assert summary["num_steps"] == 7 and summary["num_requests"] == 3
    assert summary["mean_latency_s"] == pytest.approx(6.0)
    assert summary["median_latency_s"] == 6.0
    assert summary["p99_latency_s"] == pytest.approx(6.98)  # numpy's linear quantile
    assert summary["mean_ttft_s"] == pytest.approx(14 / 3)
    assert summary["mean_tpot_s"] == pytest.approx(1.0)  # (5 - 1) / 4; 1-token answers left out
    assert summary["mean_latency_per_token_s"] == pytest.approx((5 / 5 + 6 + 7) / 3)
    assert summary["throughput_requests_per_s"] == pytest.approx(3 / 7)
    assert summary["output_tokens_per_s"] == pytest.approx(1.0)
    assert summary["mean_latency_steps"] == pytest.approx(6.0)


def test_a_burst_matches_the_priority_replay():
    lengths, _ = _workload(60, seed=3)
    for num_slots in (1, 3, 8):
        for priorities in (None, lengths, [1000 - x for x in lengths]):
            order = (list(range(len(lengths))) if priorities is None
                     else order_for_priority(priorities))
            config = ServingConfig(num_slots, "first-come" if priorities is None
                                   else "shortest-predicted")
            result = simulate_serving(lengths, None, burst_arrivals(60), priorities, config)
            assert result.finish_step == completion_steps(lengths, order, num_slots)
            assert result.latency_s == [float(s) for s in result.finish_step]


def test_requests_far_apart_never_wait_whatever_the_policy():
    lengths = [7, 3, 9, 1, 4]
    arrivals_s = [100.0 * k for k in range(5)]
    results = [simulate_serving(lengths, None, arrivals_s, priorities, config)
               for priorities, config in ((None, FIRST_COME), (lengths, SHORTEST),
                                          ([-x for x in lengths], SHORTEST))]
    assert results[0].latency_s == [float(n) for n in lengths]
    assert results[0].latency_steps == lengths
    for other in results[1:]:
        assert other.summary == results[0].summary
        assert other.finish_s == results[0].finish_s


def test_inputs_out_of_arrival_order_are_reported_in_input_order():
    lengths, prompts = _workload(40, seed=5)
    arrivals_s = poisson_arrivals(40, request_rate=2.0, seed=1)
    config = ServingConfig(4, "shortest-predicted", aging_per_s=0.3)
    ordered = simulate_serving(lengths, prompts, arrivals_s, lengths, config, COST)
    shuffled = list(range(40))
    random.Random(0).shuffle(shuffled)
    mixed = simulate_serving(*([seq[i] for i in shuffled]
                               for seq in (lengths, prompts, arrivals_s, lengths)), config, COST)
    assert mixed.finish_s == [ordered.finish_s[i] for i in shuffled]
    assert mixed.summary == pytest.approx(ordered.summary)


def test_huge_aging_is_first_come():
    lengths, _ = _workload(80, seed=1)
    arrivals_s = poisson_arrivals(80, request_rate=1.0, seed=2)  # far above capacity (~0.1)
    first = simulate_serving(lengths, None, arrivals_s, None, ServingConfig(2))
    aged = simulate_serving(lengths, None, arrivals_s, lengths,
                            ServingConfig(2, "shortest-predicted", aging_per_s=1e9))
    pure = simulate_serving(lengths, None, arrivals_s, lengths,
                            ServingConfig(2, "shortest-predicted"))
    assert aged.finish_s == first.finish_s
    assert pure.finish_s != first.finish_s


def test_predictor_time_adds_exactly_at_low_load():
    lengths = [4, 2, 6]
    arrivals_s = [0.0, 50.0, 100.0]
    for is_blocking in (True, False):
        config = ServingConfig(2, "shortest-predicted", predictor_s_per_request=0.25,
                               predictor_blocks_engine=is_blocking)
        result = simulate_serving(lengths, None, arrivals_s, lengths, config)
        assert result.latency_s == [n + 0.25 for n in lengths]
        assert result.queued_s == [a + 0.25 for a in arrivals_s]


def test_a_shared_predictor_stalls_the_engine_a_separate_one_does_not():
    # 1 slot, two 2-token requests at 0, 0.5 s of prediction each
    separate = simulate_serving([2, 2], None, [0.0, 0.0], [2, 2], ServingConfig(
        1, "shortest-predicted", predictor_s_per_request=0.5, predictor_blocks_engine=False))
    assert separate.queued_s == [0.5, 1.0]
    assert separate.latency_s == [2.5, 4.5]  # request 1 waits for the slot, not the predictor
    shared = simulate_serving([2, 2], None, [0.0, 0.0], [2, 2], ServingConfig(
        1, "shortest-predicted", predictor_s_per_request=0.5))
    assert shared.latency_s == [3.0, 5.0]  # both predictions run before the first step
    # under load, the shared machine's busy time is every step plus every prediction
    lengths, _ = _workload(50, seed=2)
    busy = simulate_serving(lengths, None, burst_arrivals(50), lengths, ServingConfig(
        4, "shortest-predicted", predictor_s_per_request=0.1))
    free = simulate_serving(lengths, None, burst_arrivals(50), lengths, ServingConfig(
        4, "shortest-predicted"))
    assert busy.summary["makespan_s"] == pytest.approx(free.summary["makespan_s"] + 5.0)


def test_prefill_and_decode_are_priced_by_the_cost_model():
    result = simulate_serving([3], [10], [0.0], None, FIRST_COME, COST)
    assert result.first_token_s[0] == pytest.approx(COST.prefill_s(1, 10))
    assert result.finish_s[0] == pytest.approx(
        COST.prefill_s(1, 10) + COST.step_s(1, 11) + COST.step_s(1, 12))
    # second step: request 1's prefill beside request 0's decode at its context 10 + 1
    two = simulate_serving([3, 1], [10, 30], [0.0, 0.5 * COST.prefill_s(1, 10)], None,
                           ServingConfig(2), COST)
    step_two_s = COST.prefill_s(1, 30) + COST.step_s(1, 11)
    assert two.finish_s[1] == pytest.approx(COST.prefill_s(1, 10) + step_two_s)


def test_the_step_clock_ignores_the_cost_model():
    lengths, prompts = _workload(50, seed=4)
    config = ServingConfig(4, "shortest-predicted")
    unit = simulate_serving(lengths, prompts, burst_arrivals(50), lengths, config)
    priced = simulate_serving(lengths, prompts, burst_arrivals(50), lengths, config, COST)
    assert priced.finish_step == unit.finish_step
    assert priced.first_token_step == unit.first_token_step
    assert priced.summary["mean_latency_steps"] == unit.summary["mean_latency_steps"]
    assert priced.finish_s != unit.finish_s


def test_shortest_first_cuts_the_mean_and_stretches_the_tail_under_overload():
    lengths, prompts = _workload(300, seed=0)
    rate = 3 * capacity_requests_per_s(lengths, prompts, 4, COST)
    arrivals_s = poisson_arrivals(300, rate, seed=0)
    first = simulate_serving(lengths, prompts, arrivals_s, None, ServingConfig(4), COST)
    oracle = simulate_serving(lengths, prompts, arrivals_s, lengths,
                              ServingConfig(4, "shortest-predicted"), COST)
    assert oracle.summary["mean_latency_s"] < 0.8 * first.summary["mean_latency_s"]
    assert oracle.summary["p99_latency_s"] > first.summary["p99_latency_s"]


def test_capacity_scales_and_matches_the_saturated_engine():
    lengths, prompts = _workload(400, seed=6)
    mean_length = sum(lengths) / len(lengths)
    assert capacity_requests_per_s(lengths, None, 8) == pytest.approx(8 / mean_length)
    assert capacity_requests_per_s(lengths, None, 16) == pytest.approx(16 / mean_length)
    assert capacity_requests_per_s([2 * n for n in lengths], None, 8) == pytest.approx(
        4 / mean_length)
    capacity = capacity_requests_per_s(lengths, prompts, 8, COST)
    assert capacity < capacity_requests_per_s(lengths, prompts, 16, COST) < 2 * capacity
    saturated = simulate_serving(lengths, prompts, poisson_arrivals(400, 4 * capacity, 0),
                                 None, ServingConfig(8), COST)
    assert saturated.summary["throughput_requests_per_s"] == pytest.approx(capacity, rel=0.05)
    light = simulate_serving(lengths, prompts, poisson_arrivals(400, 0.3 * capacity, 0),
                             None, ServingConfig(8), COST)
    assert light.summary["throughput_requests_per_s"] == pytest.approx(0.3 * capacity, rel=0.15)


def test_poisson_arrivals_are_seeded_with_the_right_mean_gap():
    arrivals_s = poisson_arrivals(20_000, request_rate=4.0, seed=7)
    assert arrivals_s == poisson_arrivals(20_000, request_rate=4.0, seed=7)
    assert arrivals_s != poisson_arrivals(20_000, request_rate=4.0, seed=8)
    assert 0 < arrivals_s[0] and arrivals_s == sorted(arrivals_s)
    assert arrivals_s[-1] / len(arrivals_s) == pytest.approx(0.25, rel=0.03)
    gaps = [b - a for a, b in zip(arrivals_s, arrivals_s[1:])]
    assert sum(g > 0.25 for g in gaps) / len(gaps) == pytest.approx(math.exp(-1), abs=0.02)
    assert poisson_arrivals(3, math.inf) == [0.0, 0.0, 0.0] == burst_arrivals(3)


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan])
def test_poisson_arrivals_refuse_a_bad_rate(rate):
    with pytest.raises(ValueError, match=r"request_rate must be > 0 \(requests per second\)"):
        poisson_arrivals(10, rate)


@pytest.mark.parametrize("kwargs, name", [
    ({"num_slots": 0}, "num_slots"),
    ({"num_slots": 1, "policy": "shortest-true"}, "policy"),
    ({"num_slots": 1, "aging_per_s": -0.1}, "aging_per_s"),
    ({"num_slots": 1, "aging_per_s": math.nan}, "aging_per_s"),
    ({"num_slots": 1, "predictor_s_per_request": -1.0}, "predictor_s_per_request"),
    ({"num_slots": 1, "predictor_s_per_request": math.inf}, "predictor_s_per_request"),
])
def test_invalid_configs_name_their_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ServingConfig(**kwargs)


def test_invalid_workloads_are_refused():
    with pytest.raises(ValueError, match="num_requests"):
        poisson_arrivals(0, 1.0)
    with pytest.raises(ValueError, match="empty"):
        simulate_serving([], None, [], None, FIRST_COME)
    with pytest.raises(ValueError, match="arrivals_s has 1 entries for 2"):
        simulate_serving([1, 2], None, [0.0], None, FIRST_COME)
    with pytest.raises(ValueError, match="needs priorities"):
        simulate_serving([1, 2], None, [0.0, 0.0], None, SHORTEST)
    with pytest.raises(ValueError, match=">= 1"):
        simulate_serving([0, 2], None, [0.0, 0.0], None, FIRST_COME)
    with pytest.raises(ValueError, match="arrivals_s must be finite"):
        simulate_serving([1, 2], None, [0.0, math.nan], None, FIRST_COME)
    with pytest.raises(ValueError, match="num_slots"):
        capacity_requests_per_s([1, 2], None, 0)


def test_the_sweep_compares_each_policy_to_first_come_at_each_rate():
    lengths, prompts = _workload(120, seed=8)
    capacity = capacity_requests_per_s(lengths, prompts, 4, COST)
    rates = [m * capacity for m in (0.1, 0.5, 1.0, 2.0)]
    policies = {"oracle": (lengths, 0.0), "costly": (lengths, 0.02)}  # a step: ~0.03 s
    rows = serving_sweep(lengths, prompts, policies, rates, 4, COST, seed=0,
                         aging_values=(0.0, 0.5))
    assert len(rows) == 4 * (1 + 2 * 2)  # first come added once per rate
    assert [r["request_rate"] for r in rows] == sorted(r["request_rate"] for r in rows)
    reference = [r for r in rows if r["is_reference"]]
    assert {r["policy"] for r in reference} == {"first-come"}
    assert all(r["mean_latency_x_first_come"] == 1.0 for r in reference)
    assert [r["rate_x_capacity"] for r in reference] == pytest.approx([0.1, 0.5, 1.0, 2.0])
    costly_low = next(r for r in rows if r["policy"] == "costly")
    assert costly_low["mean_latency_x_first_come"] > 1  # at low load a predictor only costs
    free = break_even_rate(rows, "oracle")
    costly = break_even_rate(rows, "costly")
    assert free is not None and rates[0] <= free <= rates[2]
    assert costly is not None and free < costly < rates[2]  # the predictor's cost delays it
    with pytest.raises(ValueError, match="no rows for policy 'first-come'"):
        break_even_rate(rows, "first-come")


def _rows(gaps: dict[float, float]) -> list[dict]:
    """Sweep rows with first come at 10 s and the policy `gap` seconds off it, per rate."""
    rows = []
    for rate, gap in gaps.items():
        rows.append({"policy": "first-come", "request_rate": rate, "aging_per_s": 0.0,
                     "is_reference": True, "mean_latency_s": 10.0})
        rows.append({"policy": "p", "request_rate": rate, "aging_per_s": 0.0,
                     "is_reference": False, "mean_latency_s": 10.0 + gap})
    return rows


def test_break_even_interpolates_where_the_curves_cross_on_a_log_rate_axis():
    assert break_even_rate(_rows({1.0: 1.0, 4.0: -1.0}), "p") == pytest.approx(2.0)
    assert break_even_rate(_rows({1.0: 3.0, 2.0: 1.0, 8.0: -3.0}), "p") == pytest.approx(
        2.0 * 4 ** 0.25)
    assert break_even_rate(_rows({1.0: -1.0, 4.0: -2.0}), "p") == 1.0  # pays from the start
    assert break_even_rate(_rows({1.0: 0.0, 4.0: 2.0}), "p") is None  # never pays
    assert break_even_rate(_rows({1.0: 1.0, math.inf: -1.0}), "p") == math.inf


def test_break_even_with_a_minimum_gain_needs_that_share_of_first_come():
    # first come at 10 s: a 10% gain is 1 s; -0.5 s at rate 1 pays only without the minimum
    rows = _rows({1.0: -0.5, 4.0: -1.5})
    assert break_even_rate(rows, "p") == 1.0
    # gaps to beat with min_gain 0.1: +0.5 at rate 1, -0.5 at rate 4: they cross half way
    assert break_even_rate(rows, "p", min_gain=0.1) == pytest.approx(2.0)
    assert break_even_rate(rows, "p", min_gain=0.2) is None
    with pytest.raises(ValueError, match="min_gain"):
        break_even_rate(rows, "p", min_gain=1.0)
