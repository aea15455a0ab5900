"""At which load does a length prediction start to pay? Request-rate sweeps of the serving
simulator (`seqsch.scheduling.serving`), with rates expressed against the engine's capacity.

At low load nothing waits, so ordering the queue changes nothing and the predictor's time is
pure latency; near and above capacity a queue forms and shortest-predicted first cuts the
mean latency (at a cost in the tail, which aging trades back). Pure Python, instant:

    from seqsch.scheduling.serving_sweep import (
        break_even_rate, capacity_requests_per_s, serving_sweep)
    capacity = capacity_requests_per_s(lengths, prompts, num_slots=16, cost_model=cost)
    rows = serving_sweep(lengths, prompts, {"first-come": (None, 0.0),
                                            "rank-head": (predicted, 0.05)},
                         rates=[m * capacity for m in (0.5, 0.8, 1.1, 1.5)],
                         num_slots=16, cost_model=cost, seed=0)
    break_even_rate(rows, "rank-head")   # requests/s, or None if it never pays here
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.serving import (
    ServingConfig,
    check_requests,
    poisson_arrivals,
    simulate_serving,
)

REFERENCE_POLICY = "first-come"  # the label added when `policies` holds no first-come entry


def capacity_requests_per_s(output_lengths: Sequence[int], prompt_lengths: Sequence[int] | None,
                            num_slots: int, cost_model: CostModel | None = None) -> float:
    """Request rate the engine sustains with every slot busy (steady state, approximate).

    Each step decodes `num_slots` rows at the token-weighted mean context (a request of n
    tokens spends n steps at prompt + n/2 on average) and prefills the `num_slots / mean n`
    requests that replace the finishers (the prefill's fixed cost charged in that share of
    steps, at most every step). Capacity = (num_slots / mean n) / seconds per step; on the
    unit clock (`cost_model=None`) num_slots / mean n. Above it the queue grows without bound.
    """
    if num_slots < 1:
        raise ValueError(f"num_slots must be >= 1, got {num_slots}")
    check_requests(output_lengths, prompt_lengths)
    prompts = list(prompt_lengths) if prompt_lengths is not None else [0] * len(output_lengths)
    admitted_per_step = num_slots / (sum(output_lengths) / len(output_lengths))
    if cost_model is None:
        return admitted_per_step
    mean_context = sum(n * (p + n / 2) for n, p in zip(output_lengths, prompts)) / sum(
        output_lengths)
    mean_prompt = sum(prompts) / len(prompts)
    step_s = (cost_model.step_s(num_slots, mean_context)
              + cost_model.prefill_fixed_s * min(1.0, admitted_per_step)
              + cost_model.prefill_per_token_s * admitted_per_step * mean_prompt)
    return admitted_per_step / step_s


def serving_sweep(output_lengths: Sequence[int], prompt_lengths: Sequence[int] | None,
                  policies: dict[str, tuple[Sequence[float] | None, float]],
                  rates: Sequence[float], num_slots: int, cost_model: CostModel | None = None,
                  seed: int = 0, aging_values: Sequence[float] = (0.0,),
                  predictor_blocks_engine: bool = True) -> list[dict]:
    """One row per (rate, policy, aging): the run's summary beside its setting and its mean and
    p99 latency relative to first come at the same rate (`*_x_first_come`).

    `policies` maps a label to (priorities, predictor seconds per request); priorities None is
    first come, served once per rate (aging changes nothing there), and the first such entry is
    the reference (one "first-come" entry, predictor free, is added if there is none). Every
    policy at a rate sees the same Poisson arrivals (one seed: the arrivals at one rate are
    those of another, scaled)."""
    if not rates:
        raise ValueError("rates is empty: give at least one request rate")
    policies = dict(policies)
    if all(priorities is not None for priorities, _ in policies.values()):
        policies = {REFERENCE_POLICY: (None, 0.0), **policies}
    reference = next(label for label, (priorities, _) in policies.items() if priorities is None)
    capacity = capacity_requests_per_s(output_lengths, prompt_lengths, num_slots, cost_model)
    rows = []
    for rate in sorted(rates):
        arrivals_s = poisson_arrivals(len(output_lengths), rate, seed)
        runs = []
        for label, (priorities, predictor_s) in policies.items():
            for aging_per_s in ((0.0,) if priorities is None else aging_values):
                config = ServingConfig(
                    num_slots, "first-come" if priorities is None else "shortest-predicted",
                    aging_per_s, predictor_s, predictor_blocks_engine)
                result = simulate_serving(output_lengths, prompt_lengths, arrivals_s,
                                          priorities, config, cost_model)
                runs.append({"policy": label, "request_rate": rate,
                             "rate_x_capacity": rate / capacity, "aging_per_s": aging_per_s,
                             "predictor_s_per_request": predictor_s,
                             "is_reference": label == reference, **result.summary})
        base = next(run for run in runs if run["is_reference"])
        for run in runs:
            run["mean_latency_x_first_come"] = run["mean_latency_s"] / base["mean_latency_s"]
            run["p99_latency_x_first_come"] = run["p99_latency_s"] / base["p99_latency_s"]
        rows += runs
    return rows


def break_even_rate(rows: Sequence[dict], policy: str, aging_per_s: float = 0.0,
                    min_gain: float = 0.0) -> float | None:
    """The request rate above which `policy` (at `aging_per_s`) has a lower mean latency than
    first come (by at least the share `min_gain` of first come's), or None if it never does
    among the rows (`serving_sweep`'s).

    Between the last measured rate where it does not pay and the first where it does, the rate
    is interpolated where the two mean-latency curves cross, each linear in log(rate) (the
    crossing a log-rate plot of both shows). If it already pays at the lowest rate, that rate
    is returned (the break-even lies at or below it); a crossing next to a burst (rate inf) is
    the burst's rate."""
    reference = {row["request_rate"]: row["mean_latency_s"] for row in rows
                 if row["is_reference"]}
    if not 0 <= min_gain < 1:
        raise ValueError(f"min_gain must lie in [0, 1), got {min_gain}")
    # the gap to beat: `min_gain` of first come's mean latency (0: any gain beyond float noise)
    own = sorted((row["request_rate"], row["mean_latency_s"] - reference[row["request_rate"]]
                  * (1 - min_gain))
                 for row in rows if row["policy"] == policy and not row["is_reference"]
                 and math.isclose(row["aging_per_s"], aging_per_s, abs_tol=1e-12))
    if not own:
        raise ValueError(f"no rows for policy {policy!r} at aging_per_s={aging_per_s}"
                         " (the reference policy has no break-even)")
    # a gain under 1e-9 of the latency is float noise, not a gain
    pays = [gap < -1e-9 * reference[rate] for rate, gap in own]
    if True not in pays:
        return None
    k = pays.index(True)
    if k == 0 or math.isinf(own[k][0]):
        return own[k][0]
    (low_rate, low_gap), (high_rate, high_gap) = own[k - 1], own[k]
    share = low_gap / (low_gap - high_gap)  # low_gap >= 0 > high_gap
    return math.exp(math.log(low_rate) + share * (math.log(high_rate) - math.log(low_rate)))
