"""Simulate scheduled batch inference from known response lengths, without a model.

Given each request's true output length (generated with the full cap) and a predicted
length, the simulator builds the schedule, counts the steps every batch runs, the FCR
failures and recomputations, and prices the batches with a cost model. Run::

    python -m seqsch.scheduling --lengths data/paper/alpaca-val-10k-length.json \
        --num-data 1024 --strategy vanilla sort bin --vbs --fcr

The last line of output is a one-line JSON summary.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from seqsch.core.length_records import LengthRecord
from seqsch.core.paper import PAPER_ROWS
from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.metrics import BatchStats, summarize
from seqsch.scheduling.scheduler import (
    Batch,
    SchedulerConfig,
    recompute_batches,
    schedule_groups,
)

# Measured by the paper (Vicuna-7B, one A100, 1,024 Alpaca val prompts, batch 16, max 512),
# under the CLI's labels: reference values for its output, not inputs of the simulation.
PAPER_TABLE: dict[str, dict[str, float]] = {
    "vanilla": PAPER_ROWS["vanilla"], "scheduled (VBS+FCR)": PAPER_ROWS["standin+vbs+fcr"],
    "oracle": PAPER_ROWS["oracle+vbs+fcr"]}


@dataclass
class SimResult:
    plan: list[Batch]  # scheduled batches, then recompute batches
    batches: list[BatchStats]  # one per entry of plan
    summary: dict  # metrics.summarize keys
    num_steps_total: int
    failed_indices: list[int]
    completion_s: list[float] | None  # per request, when a cost model is given


def simulate(
    true_lengths: Sequence[int],
    predicted_lengths: Sequence[float | None],
    config: SchedulerConfig,
    cost_model: CostModel | None = None,
    prompt_lengths: Sequence[int] | None = None,
    prediction_s: float = 0.0,
) -> SimResult:
    """Run the schedule on known lengths; a true length >= max_new_tokens is a capped answer."""
    num_requests = len(true_lengths)
    if num_requests == 0 or len(predicted_lengths) != num_requests:
        raise ValueError(
            f"need one predicted length per request: {num_requests} true lengths, "
            f"{len(predicted_lengths)} predictions"
        )
    if prompt_lengths is not None and len(prompt_lengths) != num_requests:
        raise ValueError("prompt_lengths must have one entry per request")
    if min(true_lengths) < 1:
        raise ValueError("true lengths count the EOS token, so each must be >= 1")
    produced = [min(length, config.max_new_tokens) for length in true_lengths]
    elapsed_s = prediction_s
    completion_s = [0.0] * num_requests
    plan, stats, failed = [], [], []

    def run(batch: Batch) -> None:
        nonlocal elapsed_s
        cap = batch.max_new_tokens
        lengths = [produced[i] for i in batch.indices]
        num_steps = min(cap, max(lengths))
        failed_here = [i for i, length in zip(batch.indices, lengths, strict=True) if length > cap]
        if cost_model is not None:
            prompt_len = max(prompt_lengths[i] for i in batch.indices) if prompt_lengths else 0
            elapsed_s += cost_model.batch_time_s(len(lengths), num_steps, prompt_len)
            for i in batch.indices:
                completion_s[i] = elapsed_s
        failed.extend(failed_here)
        stats.append(
            BatchStats(
                num_rows=len(lengths),
                num_steps=num_steps,
                num_output_tokens=sum(length for length in lengths if length <= cap),
                num_failed=len(failed_here),
                is_recompute=batch.is_recompute,
            )
        )

    for group in schedule_groups(predicted_lengths, config):
        num_failed_before = len(failed)
        for batch in group:
            run(batch)
        group_failed = failed[num_failed_before:]
        recompute = recompute_batches(group_failed, config) if group_failed else []
        for batch in recompute:
            run(batch)
        if len(failed) != num_failed_before + len(group_failed):
            raise RuntimeError("a recompute batch failed although it runs with the full cap")
        plan += group + recompute
    has_time = cost_model is not None
    return SimResult(
        plan=plan,
        batches=stats,
        summary=summarize(stats, num_requests, elapsed_s if has_time else None),
        num_steps_total=sum(s.num_steps for s in stats),
        failed_indices=failed,
        completion_s=completion_s if has_time else None,
    )


def calibrate_fixed_cost(
    cost_model: CostModel,
    true_lengths: Sequence[int],
    config: SchedulerConfig,
    target_samples_per_s: float,
    prompt_lengths: Sequence[int] | None = None,
    predicted_lengths: Sequence[float | None] | None = None,
) -> CostModel:
    """`cost_model` with the fixed cost of a step (and of a prefill) set so that simulating this
    schedule gives `target_samples_per_s`: e.g. an analytic GPU model calibrated on a measured
    vanilla row. The run's time is linear in the fixed cost, so two simulations solve it."""
    predicted = predicted_lengths or [None] * len(true_lengths)

    def wall_s(fixed_s: float) -> float:
        model = replace(cost_model, step_fixed_s=fixed_s, prefill_fixed_s=fixed_s)
        return simulate(true_lengths, predicted, config, model, prompt_lengths).summary["wall_s"]

    at_zero, slope = wall_s(0.0), wall_s(1.0) - wall_s(0.0)
    fixed_s = (len(true_lengths) / target_samples_per_s - at_zero) / slope
    if fixed_s < 0:
        raise ValueError(f"{target_samples_per_s} samples/s is faster than this cost model allows "
                         f"with no fixed cost at all: calibrate another model")
    return replace(cost_model, name=f"{cost_model.name}-calibrated", step_fixed_s=fixed_s,
                   prefill_fixed_s=fixed_s,
                   source=f"{cost_model.source}; fixed cost per step calibrated to "
                          f"{target_samples_per_s} samples/s on {len(true_lengths)} prompts")


SIMULATED_PREDICTORS = ("oracle-max4", "oracle-greedy", "noisy-max4")


def predict_lengths(
    records: Sequence[LengthRecord], predictor: str, noise_std: float = 60.0, seed: int = 0
) -> list[int]:
    """oracle-max4: the longest of the sampled answers (the paper's gt); oracle-greedy: the
    greedy answer's length; noisy-max4: oracle-max4 + N(0, std)."""
    if predictor == "oracle-max4":
        return [r.max_length for r in records]
    if predictor == "oracle-greedy":
        return [r.greedy_length for r in records]
    if predictor == "noisy-max4":
        rng = random.Random(seed)
        return [max(0, round(r.max_length + rng.gauss(0.0, noise_std))) for r in records]
    raise ValueError(f"unknown predictor {predictor!r}; choose one of "
                     f"{', '.join(SIMULATED_PREDICTORS)}")
