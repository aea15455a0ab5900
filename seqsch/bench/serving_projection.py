"""Serving under load at 7B scale, simulated: when the recorded head's order pays, and its tail.

The serving simulator (`seqsch.scheduling.serving`) replays the recorded-lengths test split
(`seqsch.core.recorded`: every answer at its recorded length, prompts at theirs) arriving as a
Poisson stream at rates from half the engine's capacity to twice it, through `num_slots`
continuous-batch slots priced by the analytic A100 model of Vicuna-7B (calibrated on the
paper's vanilla row, `seqsch.bench.recorded_table.a100_cost_model`). Policies: first come, the
oracle (the recorded lengths), the recorded head's test predictions (the committed evaluation
file) and the prompt's length, each shortest-first, optionally aged (a waiting request's
priority drops by `aging_per_s` tokens per second waited). The head runs in the request path:
its time per request is its share of a 7B request's FLOPs times the machine's seconds per
request at capacity (the measured share, `flops_share_7b`).

    projection = project_serving()                 # rows of serving_sweep, with the settings
    break_even_rate(projection["rows"], "recorded-head")
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from seqsch.bench.recorded_table import DEFAULT_EVAL, a100_cost_model
from seqsch.core.recorded import read_evaluation
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.scheduling.serving_sweep import (
    break_even_rate,
    capacity_requests_per_s,
    serving_sweep,
)

MIN_GAIN = 0.01  # a policy "pays" from the rate where it cuts first come's mean latency by 1%


@dataclass(frozen=True)
class ProjectionConfig:
    num_slots: int = 16
    rates_x_capacity: tuple[float, ...] = (0.5, 0.8, 1.0, 1.2, 1.5, 2.0)
    aging_values: tuple[float, ...] = (0.0, 1.0, 3.0, 10.0, 30.0)  # tokens per second waited
    seed: int = 0

    def __post_init__(self) -> None:
        if self.num_slots < 1:
            raise ValueError(f"num_slots must be >= 1, got {self.num_slots}")
        if not self.rates_x_capacity or min(self.rates_x_capacity) <= 0:
            raise ValueError(f"rates_x_capacity must be > 0, got {self.rates_x_capacity}")
        if not self.aging_values or min(self.aging_values) < 0:
            raise ValueError(f"aging_values must be >= 0, got {self.aging_values}")


def project_serving(eval_path: str | Path = DEFAULT_EVAL,
                    config: ProjectionConfig | None = None) -> dict:
    """The sweep's rows, the engine's capacity, the head's seconds per request and each
    policy's break-even rate (unaged; from 1% off first come's mean) in multiples of capacity."""
    config = config or ProjectionConfig()
    evaluation, prompts = read_evaluation(eval_path)
    true = evaluation["recorded_lengths"]
    learned = evaluation["sources"][RECORDED_HEAD_SOURCE]
    cost_model = a100_cost_model()
    capacity = capacity_requests_per_s(true, prompts, config.num_slots, cost_model)
    predictor_s = learned["flops_share_7b"] / capacity
    policies = {"oracle": (true, 0.0), RECORDED_HEAD_SOURCE: (learned["predictions"], predictor_s),
                "prompt-length": (prompts, 0.0)}
    rows = serving_sweep(true, prompts, policies,
                         [m * capacity for m in config.rates_x_capacity], config.num_slots,
                         cost_model, config.seed, config.aging_values)
    break_even = {}
    for name in policies:
        rate = break_even_rate(rows, name, min_gain=MIN_GAIN)
        break_even[name] = None if rate is None else rate / capacity
    return {"config": asdict(config), "cost_model": cost_model.name,
            "num_requests": len(true), "capacity_requests_per_s": capacity,
            "predictor_s_per_request": predictor_s, "break_even_x_capacity": break_even,
            "rows": rows}


def tail_setting(rows: list[dict], policy: str, max_p99_x: float = 1.25) -> dict | None:
    """The smallest aging whose p99 latency stays within `max_p99_x` of first come's at every
    rate, with its worst mean ratio; None if no aging of the sweep does."""
    agings = sorted({r["aging_per_s"] for r in rows if r["policy"] == policy})
    for aging in agings:
        own = [r for r in rows if r["policy"] == policy and r["aging_per_s"] == aging]
        if all(r["p99_latency_x_first_come"] <= max_p99_x for r in own):
            return {"aging_per_s": aging,
                    "worst_mean_x_first_come": max(r["mean_latency_x_first_come"] for r in own),
                    "best_mean_x_first_come": min(r["mean_latency_x_first_come"] for r in own)}
    return None
