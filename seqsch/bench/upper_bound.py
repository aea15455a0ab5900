"""The conservative bound FCR wants: a ranker's predictions scaled up by a factor chosen on the
validation split, scored once on test.

FCR caps a batch at its longest prediction and recomputes the answers that overrun it. A
prediction below the truth costs a recomputation; one above it costs padding. A ranker is
trained for order, not for that trade, and under FCR its typical-value predictions overrun
often (the recorded head's VBS + FCR fails on 44% of test answers). Scaling every prediction
by one factor keeps the order and moves the trade. The factor is the `q`-quantile of the
true-over-predicted ratios on the validation split, `q` the candidate whose bin + VBS + FCR
schedule is fastest there (simulated: the paper's settings, the analytic A100 model); the
test split is then read once with that factor.

    choice = choose_bound(val_predicted, val_true, val_prompts)
    rows = bound_rows(test_predicted, test_true, test_prompts, choice["factor"])
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from seqsch.bench.recorded_table import (
    RecordedTableConfig,
    a100_cost_model,
    simulate_recorded_table,
)
from seqsch.scheduling.cost_model import CostModel

QUANTILES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)  # the candidates, fixed before any reading
RANKER, BOUND = "recorded head", "recorded head, upper bound"


def ratio_quantile(predicted: Sequence[float], true: Sequence[int], q: float) -> float:
    """The `q`-quantile of true / predicted over the requests with a positive prediction."""
    if not 0 < q < 1:
        raise ValueError(f"q must lie in (0, 1), got {q}")
    ratios = sorted(t / p for p, t in zip(predicted, true) if p and p > 0)
    if len(ratios) < 2:
        raise ValueError("need at least two positive predictions to take a quantile")
    return statistics.quantiles(ratios, n=1000, method="inclusive")[round(q * 1000) - 1]


def scaled(predicted: Sequence[float], factor: float, cap: int) -> list[int]:
    """Each prediction times `factor`, rounded up, at most `cap` (the schedule's own cap)."""
    return [min(cap, math.ceil(p * factor)) for p in predicted]


def choose_bound(predicted: Sequence[float], true: Sequence[int], prompt_lengths: Sequence[int],
                 cost_model: CostModel | None = None, config: RecordedTableConfig | None = None,
                 quantiles: Sequence[float] = QUANTILES) -> dict:
    """On the validation split: each candidate quantile's factor and the simulated bin + VBS +
    FCR throughput over vanilla with the scaled predictions; `chosen` the fastest."""
    config, cost_model = config or RecordedTableConfig(), cost_model or a100_cost_model()
    candidates = []
    for q in quantiles:
        factor = ratio_quantile(predicted, true, q)
        rows = simulate_recorded_table(list(true), list(prompt_lengths),
                                       {BOUND: scaled(predicted, factor, config.max_new_tokens)},
                                       cost_model, config)
        binned = next(r for r in rows if r["label"] == f"{BOUND} + VBS + FCR")
        candidates.append({"quantile": q, "factor": factor, "x_vanilla": binned["x_vanilla"],
                           "failure_ratio": binned["failure_ratio"]})
    chosen = max(candidates, key=lambda c: c["x_vanilla"])
    return {"candidates": candidates, "quantile": chosen["quantile"], "factor": chosen["factor"]}


def bound_rows(predicted: Sequence[float], true: Sequence[int], prompt_lengths: Sequence[int],
               factor: float, cost_model: CostModel | None = None,
               config: RecordedTableConfig | None = None) -> list[dict]:
    """The paper's table on the test split with the ranker's predictions as they are and
    scaled by `factor`: vanilla, each one's sort and bin + VBS + FCR, the oracle's two."""
    config, cost_model = config or RecordedTableConfig(), cost_model or a100_cost_model()
    return simulate_recorded_table(
        list(true), list(prompt_lengths),
        {RANKER: list(predicted), BOUND: scaled(predicted, factor, config.max_new_tokens)},
        cost_model, config)
