"""The measured serving sweep as rows: what a real engine did under load, beside the simulator.

`python -m seqsch.bench serve` writes one record per (rate, policy) cell. This module turns a
file of them into the rows `seqsch.scheduling.serving_sweep.serving_sweep` returns, so that
the serving figures (`seqsch.lab.serving_plots`) and the break-even rule draw measured cells as
they draw simulated ones. Each row also holds the simulator's mean and p99 latency for the same
arrivals, lengths, order and predictor time, priced by a cost model fitted to the run's own
engine steps. `simulated_aging` extends the aging settings the run measured to a whole range,
on that fitted cost model.

    records = read_jsonl("data/serving-vllm-cpu.jsonl")
    rows = measured_rows(records)       # one row per cell, ratios to first come at its rate
    frontier = simulated_aging(records, "recorded-head", (0, 3, 7, 14, 30))
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from seqsch.bench.serving_bench import parse_policy
from seqsch.bench.serving_compare import (
    compare_with_simulation,
    fit_serving_cost_model,
    serving_config,
)
from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.serving import ServingConfig, simulate_serving
from seqsch.scheduling.serving_sweep import capacity_requests_per_s

REFERENCE = "first-come"


def _check(records: Sequence[dict]) -> None:
    if not records:
        raise ValueError("no serving records: run python -m seqsch.bench serve first")
    settings = {str(sorted((k, str(v)) for k, v in r["config"].items())) for r in records}
    if len(settings) > 1:
        raise ValueError("serving records of different settings (model, slots, workload): "
                         "give one run's records")
    cells = [(r["request_rate"], r["policy"]) for r in records]
    if len(set(cells)) < len(cells):
        twice = sorted({cell for cell in cells if cells.count(cell) > 1})
        raise ValueError(f"serving records measure a cell twice: {twice} (one run's records, "
                         f"each (rate, policy) once)")
    rates = {r["request_rate"] for r in records}
    missing = rates - {r["request_rate"] for r in records if r["policy"] == REFERENCE}
    if missing:
        raise ValueError(f"no {REFERENCE} cell at rate(s) {sorted(missing)}: each rate needs "
                         f"its reference")


def serving_capacity(records: Sequence[dict], cost_model: CostModel) -> float:
    """Requests per second the run's engine sustains (`capacity_requests_per_s` on its
    lengths, prompts and slots, priced by `cost_model`)."""
    requests = records[0]["requests"]
    return capacity_requests_per_s(requests["num_output_tokens"], requests["prompt_tokens"],
                                   records[0]["config"]["num_slots"], cost_model)


def _with_ratios(rows: list[dict], keys: Sequence[str]) -> list[dict]:
    """Each row's `key_x_first_come` for `keys`, against the reference row at its rate."""
    for row in rows:
        base = next(r for r in rows if r["is_reference"]
                    and r["request_rate"] == row["request_rate"])
        for key in keys:
            row[f"{key.removesuffix('_s')}_x_first_come"] = row[key] / base[key]
    return rows


def measured_rows(records: Sequence[dict], cost_model: CostModel | None = None) -> list[dict]:
    """One row per measured cell, in `serving_sweep`'s keys (policy, request_rate,
    rate_x_capacity, aging_per_s, predictor_s_per_request, is_reference, the summary, mean and
    p99 latency against first come's at the same rate), the mean latency on the engine's step
    clock against first come's (`mean_latency_steps_x_first_come`: free of the machine's speed
    drifting between cells), the engine's `mean_step_s`, the simulator's `simulated_*` mean
    and p99 latency and the gap measured / simulated - 1 (`mean_latency_gap`), and that gap
    with a cost model fitted to the cell's own steps (`mean_latency_gap_own_steps`: what is
    left once the machine's speed during the cell is known)."""
    _check(records)
    cost_model = cost_model or fit_serving_cost_model(records)
    capacity = serving_capacity(records, cost_model)
    rows = []
    for record, cell in zip(records, compare_with_simulation(records, cost_model)):
        own_steps = compare_with_simulation([record], fit_serving_cost_model([record]))[0]
        name, aging_per_s = parse_policy(record["policy"])
        predict_s = record["requests"]["predict_s"]
        rows.append({
            "policy": name, "label": record["policy"], "request_rate": record["request_rate"],
            "rate_x_capacity": record["request_rate"] / capacity, "aging_per_s": aging_per_s,
            "predictor_s_per_request": statistics.fmean(predict_s),
            "is_reference": name == REFERENCE, **record["summary"],
            "mean_step_s": statistics.fmean(record["step_s"]),
            "simulated_mean_latency_s": cell["simulated"]["mean_latency_s"],
            "simulated_p99_latency_s": cell["simulated"]["p99_latency_s"],
            "mean_latency_gap": cell["mean_latency_gap"],
            "mean_latency_gap_own_steps": own_steps["mean_latency_gap"],
            "mean_latency_steps_gap": cell["mean_latency_steps_gap"]})
    return _with_ratios(rows, ("mean_latency_s", "p99_latency_s", "mean_latency_steps",
                               "simulated_mean_latency_s", "simulated_p99_latency_s"))


def simulated_aging(records: Sequence[dict], policy: str, aging_values: Sequence[float],
                    cost_model: CostModel | None = None) -> list[dict]:
    """`policy` at every aging in `aging_values`, and first come, simulated at each measured
    rate on the measured cells' arrivals, lengths, prompts, priorities and prediction time as
    `compare_with_simulation` prices them (the cost model fitted to the run unless given):
    rows as `serving_sweep`'s."""
    _check(records)
    own = [r for r in records if parse_policy(r["policy"])[0] == policy]
    if not own:
        raise ValueError(f"no measured cell of policy {policy!r}")
    if not aging_values or min(aging_values) < 0 or not all(map(math.isfinite, aging_values)):
        raise ValueError(f"aging_values must be finite and >= 0, got {aging_values}")
    cost_model = cost_model or fit_serving_cost_model(records)
    capacity = serving_capacity(records, cost_model)
    num_slots = records[0]["config"]["num_slots"]
    rows = []
    for rate in sorted({r["request_rate"] for r in own}):
        cell = next(r for r in own if r["request_rate"] == rate)
        req = cell["requests"]
        for aging_per_s in (None, *aging_values):  # None: first come
            if aging_per_s is None:
                config, priorities = ServingConfig(num_slots), None
            else:
                config = serving_config(num_slots, policy, aging_per_s, req["predict_s"],
                                        cell["predictor"])
                priorities = req["priorities"]
            result = simulate_serving(req["num_output_tokens"], req["prompt_tokens"],
                                      req["arrival_s"], priorities, config, cost_model)
            rows.append({"policy": REFERENCE if priorities is None else policy,
                         "request_rate": rate, "rate_x_capacity": rate / capacity,
                         "aging_per_s": aging_per_s or 0.0,
                         "predictor_s_per_request": config.predictor_s_per_request,
                         "is_reference": priorities is None, **result.summary})
    return _with_ratios(rows, ("mean_latency_s", "p99_latency_s"))
