"""Cost models fitted to this machine's own step timings, and what they predict.

A vanilla run times one batch size; `calibration_records` adds steps and prefills at several
batch sizes so that `fit_from_runs` can tell the per-row cost from the fixed cost of a step.
`step_cost_curve` is the curve that decides whether VBS pays (a GPU reading its weights once per
step) or not (a CPU computing every row). `simulated_summary` puts the simulator's prediction
beside each static measurement.
"""
from __future__ import annotations

import statistics

from seqsch.core.decoding import DecodingConfig
from seqsch.engines.static import generate_batch
from seqsch.scheduling.cost_model import CostModel, fit_cost_model
from seqsch.scheduling.simulate import simulate


def calibration_records(model, prompts, batch_sizes=(2, 8, 32),
                        num_steps: int = 6) -> tuple[list, list]:
    """Step and prefill timings at several batch sizes (a vanilla run has one), so that the
    fit can tell the per-row cost from the fixed cost of a step and of a prefill: two lists of
    (rows, context or prompt width, seconds) tuples."""

    steps, prefills = [], []
    for num_rows in batch_sizes:
        rows = [prompts[i % len(prompts)] for i in range(num_rows)]
        width = max(len(p) for p in rows)
        _, _, timing = generate_batch(model, rows, num_steps, DecodingConfig(num_steps),
                                      pad_id=0, stop_ids=[])
        steps += [(num_rows, width + k, s) for k, s in enumerate(timing["step_s"], start=1)]
        prefills.append((num_rows, width, timing["prefill_s"]))
    return steps, prefills


def step_cost_curve(model, prompts, batch_sizes=(1, 4, 16, 64), num_steps: int = 6) -> dict:
    """Median seconds of one decoding step at each batch size (the median keeps a slow first
    step out): the curve that decides whether bigger batches of short answers (VBS) are nearly free
    (a GPU reading its weights once per step) or cost per row (a CPU computing every row)."""
    steps, _ = calibration_records(model, prompts, batch_sizes, num_steps)
    return {rows: statistics.median(s for r, _, s in steps if r == rows)
            for rows in batch_sizes}


def fit_from_runs(runs, name: str, extra_steps: list | None = None,
                  extra_prefills: list | None = None) -> CostModel:
    """A cost model fitted to static runs' own step and prefill timings (plus `extra_steps` and
    `extra_prefills`, e.g. from `calibration_records`); runs at several batch sizes identify the
    per-row costs."""
    steps, prefills = list(extra_steps or []), list(extra_prefills or [])
    for batch in (b for run in runs for b in run.batches):
        prefills.append((batch.num_rows, batch.num_prompt_tokens, batch.prefill_s))
        for k, step_s in enumerate(batch.step_s, start=1):
            steps.append((batch.num_rows, batch.num_prompt_tokens + k, step_s))
    return fit_cost_model(steps, prefills, name, runs[0].device)


def simulated_summary(spec, record, predicted, cost_model, config, prompts) -> dict | None:
    """What the simulator predicts for this spec, from the lengths this sweep measured."""
    if spec.engine != "static" or cost_model is None:
        return None
    scheduler = spec.scheduler(config.batch_size, config.max_new_tokens, config.bin_size,
                               config.group_size)
    sim = simulate(record["actual_lengths"], predicted or [None] * len(prompts), scheduler,
                   cost_model, [len(p) for p in prompts],
                   prediction_s=record["extra"].get("prediction_s", 0.0))
    return sim.summary


def cost_model_of(record: dict) -> CostModel | None:
    return CostModel(**record["cost_model"]) if record.get("cost_model") else None
