"""The paper's pipeline on the real generator: predict lengths, schedule, generate, recompute.

`run_scheduled` takes predicted lengths (or none, for the vanilla baseline), asks
`seqsch.scheduling.scheduler` for batches, runs them with the static generator, then regenerates the
requests that hit an FCR cap (failure collection and recomputation) with the full cap. Both
passes and the prediction time count in the cost, as in the paper. With
`SchedulerConfig.group_size` each group of consecutive requests is scheduled, run and its
failures recomputed before the next group, as the paper's benchmark does. Results come back in
input order.

    from seqsch.engines.scheduled import run_scheduled
    from seqsch.scheduling.scheduler import SchedulerConfig
    run = run_scheduled(model, tokenizer, requests, predicted,
                        SchedulerConfig("bin", vbs=True, fcr=True), decoding)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from seqsch.core.decoding import DecodingConfig
from seqsch.core.device import now_s
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.results import GenerationRun
from seqsch.engines.static import generate
from seqsch.scheduling.scheduler import SchedulerConfig, recompute_batches, schedule_groups


def run_scheduled(
    model, tokenizer, requests: Sequence[Request], predicted: Sequence[float | None] | None,
    scheduler: SchedulerConfig, decoding: DecodingConfig, prediction_s: float = 0.0,
    quiet: bool = False, prompts: Sequence[Sequence[int]] | None = None,
) -> GenerationRun:
    """Schedule and generate `requests`; `prediction_s` (time spent predicting the lengths) is
    added to the wall time and to every completion time."""
    if not requests:
        raise ValueError("no requests given: pass at least one Request")
    if scheduler.max_new_tokens != decoding.max_new_tokens:
        scheduler = replace(scheduler, max_new_tokens=decoding.max_new_tokens)
    predicted = list(predicted) if predicted is not None else [None] * len(requests)
    if len(predicted) != len(requests):
        raise ValueError(f"{len(predicted)} predicted lengths for {len(requests)} requests")
    prompts = prompts if prompts is not None else encode_prompts(tokenizer, requests)
    start_s = now_s(model.device) - prediction_s  # prediction happened before generation
    run, num_failed = None, 0
    for batches in schedule_groups(predicted, scheduler):
        part = generate(model, tokenizer, requests, decoding, batches=batches, quiet=quiet,
                        prompts=prompts, start_s=start_s)
        failed = [i for b in part.batches if b.num_failed for i in b.indices
                  if part.results[i].is_capped]
        if failed:
            again = generate(model, tokenizer, requests, decoding,
                             batches=recompute_batches(failed, scheduler), quiet=quiet,
                             prompts=prompts, start_s=start_s)
            for result in (again.results[i] for i in failed):
                result.num_attempts = 2
                result.batch_index += len(part.batches)
            _merge(part, again, failed)
        num_failed += len(failed)
        if run is None:
            run = part
        else:
            group = sorted({i for b in batches for i in b.indices})
            for i in group:
                part.results[i].batch_index += len(run.batches)
            _merge(run, part, group)
    run.engine = "static"
    run.extra.update({
        "scheduler": {k: v for k, v in vars(scheduler).items() if k != "vbs_table"},
        "prediction_s": prediction_s, "num_failed": num_failed,
        "num_batches": len(run.batches),
    })
    return run


def _merge(run: GenerationRun, later: GenerationRun, indices: Sequence[int]) -> None:
    """Take `later`'s results for `indices` and its batches into `run`; `later` ran after it,
    from the same start, so its wall time is the run's."""
    for i in indices:
        run.results[i] = later.results[i]
    run.batches.extend(b for b in later.batches if b.indices)
    run.wall_s = later.wall_s
