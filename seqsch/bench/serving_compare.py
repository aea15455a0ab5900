"""Measured serving cells beside the simulator: how well `seqsch.scheduling.serving` predicts
a real engine under arrivals, on its step clock and in seconds.

Each record of `seqsch.bench.serving_bench.run_serving_bench` holds its per-request times and
which steps served each request, so the simulator can replay the same arrivals, lengths, order
and predictor time. Its cost model is fitted to the measured steps themselves, unless given:
one least-squares fit over every step, a step costing its decoding rows plus its admitted
prompts (`seqsch.scheduling.cost_model.fit_mixed_cost_model`):

    rows = run_serving_bench(config, requests, prompts=prompts)
    for cell in compare_with_simulation(rows):
        print(cell["request_rate"], cell["policy"], cell["mean_latency_gap"])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from seqsch.scheduling.cost_model import CostModel, fit_mixed_cost_model
from seqsch.scheduling.serving import ServingConfig, simulate_serving


def serving_config(num_slots: int, name: str, aging_per_s: float, predict_s: Sequence[float],
                   predictor: dict) -> ServingConfig:
    """The simulator's settings for a measured cell. Predictions ran on a worker of their own
    (`seqsch.engines.continuous_arrivals.ArrivalFeeder`), so the engine kept stepping: a slept
    predictor costs its seconds, a callable one its measured mean."""
    is_callable = predictor.get("mode") == "callable"
    predictor_s = (sum(predict_s) / len(predict_s) if is_callable
                   else predictor.get("s_per_request", 0.0))
    return ServingConfig(num_slots, "first-come" if name == "first-come" else "shortest-predicted",
                         aging_per_s, predictor_s, predictor_blocks_engine=False)


def step_terms(record: dict) -> list[tuple[int, int, int, int, float]]:
    """(rows decoding, their context tokens, requests admitted, their prompt tokens, s) of
    each engine step of a measured cell, from which requests each step served."""
    req, terms = record["requests"], []
    first, last, prompts = req["first_token_step"], req["finish_step"], req["prompt_tokens"]
    for step, step_s in enumerate(record["step_s"], start=1):
        new = [i for i, f in enumerate(first) if f == step]
        decoding = [i for i, (f, done) in enumerate(zip(first, last)) if f < step <= done]
        terms.append((len(decoding), sum(prompts[i] + step - first[i] for i in decoding),
                      len(new), sum(prompts[i] for i in new), step_s))
    return terms


def fit_serving_cost_model(rows: Sequence[dict], name: str = "serving-fit") -> CostModel:
    """A cost model fitted to the measured cells' own engine steps, mixed ones included."""
    terms = [term for row in rows for term in step_terms(row)]
    device = rows[0]["environment"].get("device", "") if rows else ""
    return fit_mixed_cost_model(terms, name, device)


def compare_with_simulation(rows: Sequence[dict],
                            cost_model: CostModel | None = None) -> list[dict]:
    """Each measured cell beside the simulator's run of the same arrivals, lengths, order and
    predictor time, priced by `cost_model` (default: fitted to `rows`' own steps). Gaps are
    measured / simulated - 1, in seconds and on the step clock."""
    cost_model = cost_model or fit_serving_cost_model(rows)
    out = []
    for row in rows:
        req = row["requests"]
        name = row["policy"].partition("@")[0]
        config = serving_config(row["config"]["num_slots"], name, row["aging_per_s"],
                                req["predict_s"], row["predictor"])
        simulated = simulate_serving(req["num_output_tokens"], req["prompt_tokens"],
                                     req["arrival_s"], req["priorities"], config,
                                     cost_model).summary
        measured = row["summary"]
        out.append({
            "request_rate": row["request_rate"], "policy": row["policy"],
            "measured": measured, "simulated": simulated, "cost_model": asdict(cost_model),
            "mean_latency_gap": measured["mean_latency_s"] / simulated["mean_latency_s"] - 1,
            "mean_latency_steps_gap": (measured["mean_latency_steps"]
                                       / simulated["mean_latency_steps"] - 1)})
    return out
