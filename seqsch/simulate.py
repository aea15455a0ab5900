"""Simulate scheduled batch inference from known response lengths, without a model.

Given each request's true output length (generated with the full cap) and a predicted
length, the simulator builds the schedule, counts the steps every batch runs, the FCR
failures and recomputations, and prices the batches with a cost model. Run::

    python -m seqsch.simulate --lengths alpaca-val-10k-length.json \
        --num-data 1024 --strategy vanilla sort bin --vbs --fcr

The last line of output is a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from seqsch.cost_model import CostModel, load_cost_model
from seqsch.length_records import LengthRecord, load_length_file
from seqsch.metrics import BatchStats, completion_stats, summarize
from seqsch.scheduler import (
    STRATEGIES,
    Batch,
    SchedulerConfig,
    recompute_batches,
    schedule_groups,
)

# Reported by the paper (Vicuna-7B, one A100, 1,024 Alpaca val prompts, batch 16, max 512):
# reference values for the CLI output, not inputs of the simulation.
PAPER_TABLE: dict[str, dict[str, float]] = {
    "vanilla": {"samples_per_s": 1.39, "effective_token_ratio": 0.339},
    "scheduled (VBS+FCR)": {"samples_per_s": 2.30, "effective_token_ratio": 0.472},
    "oracle": {"samples_per_s": 2.69},
}


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


def predict_lengths(
    records: Sequence[LengthRecord], predictor: str, noise_std: float = 60.0, seed: int = 0
) -> list[int]:
    """gt: longest sampled answer; greedy: the true greedy length; noisy: gt + N(0, std)."""
    if predictor == "gt":
        return [r.max_length for r in records]
    if predictor == "greedy":
        return [r.greedy_length for r in records]
    if predictor == "noisy":
        rng = random.Random(seed)
        return [max(0, round(r.max_length + rng.gauss(0.0, noise_std))) for r in records]
    raise ValueError(f"unknown predictor {predictor!r}; choose gt, greedy or noisy")


def _format(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", required=True, help="length file, paper JSON or JSONL")
    parser.add_argument(
        "--strategy", nargs="+", choices=sorted(STRATEGIES), default=["vanilla", "sort", "bin"]
    )
    parser.add_argument("--predictor", choices=["gt", "greedy", "noisy"], default="gt")
    parser.add_argument("--noise-std", type=float, default=60.0, help="tokens, for noisy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vbs", action="store_true", help="variable batch size (bin only)")
    parser.add_argument("--fcr", action="store_true", help="failure collection (sort, bin)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--num-data", type=int, default=None, help="first N prompts")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--bin-size", type=int, default=50)
    parser.add_argument(
        "--cost-model",
        default=None,
        help="name or JSON path; paper files default to a100-80gb-vicuna7b-hf",
    )
    parser.add_argument("--prompt-len", type=int, default=0, help="if the file has none")
    parser.add_argument("--split", default=None, help="keep records of this split")
    args = parser.parse_args(argv)

    try:
        length_file = load_length_file(args.lengths)
        cost_model_arg = load_cost_model(args.cost_model) if args.cost_model else None
    except (OSError, ValueError) as err:
        parser.error(str(err))
    # paper files hold one split each (named in the file name) and have no split field
    records = [r for r in length_file.records if args.split in (None, r.split) or not r.split]
    records = records[: args.num_data] if args.num_data is not None else records
    if not records:
        parser.error("no records left after --split/--num-data")
    if any(
        r.max_new_tokens is not None and r.max_new_tokens < args.max_new_tokens for r in records
    ):
        parser.error("the file was generated with a smaller cap than --max-new-tokens")
    paper_default = "a100-80gb-vicuna7b-hf" if length_file.is_paper_format else None
    cost_name = args.cost_model or paper_default
    cost_model = cost_model_arg or (load_cost_model(paper_default) if paper_default else None)
    true_lengths = [r.greedy_length for r in records]
    predicted = predict_lengths(records, args.predictor, args.noise_std, args.seed)
    prompt_lengths = [r.num_prompt_tokens or args.prompt_len for r in records]

    print(
        f"{len(records)} prompts from {args.lengths}; predictor {args.predictor}; "
        f"cost model {cost_name or 'none (no times)'}"
    )
    print(
        f"{'run':<16}{'batches':>8}{'avg_len':>9}{'ETR':>8}{'fail':>7}{'samp/s':>8}"
        f"{'tok/s':>9}{'p90_s':>9}{'sim_ms':>8}"
    )
    results, simulate_seconds = {}, {}
    for strategy in args.strategy:
        config = SchedulerConfig(
            strategy=strategy,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            bin_size=args.bin_size,
            vbs=args.vbs and strategy == "bin",
            fcr=args.fcr and strategy != "vanilla",
        )
        label = strategy + ("+vbs" if config.vbs else "") + ("+fcr" if config.fcr else "")
        start_s = time.perf_counter()
        result = simulate(true_lengths, predicted, config, cost_model, prompt_lengths)
        simulate_s = time.perf_counter() - start_s  # the slider's budget: well under a second
        summary = result.summary
        p90 = completion_stats(result.completion_s)["p90_completion_s"] if cost_model else None
        print(
            f"{label:<16}{len(result.plan):>8}{summary['avg_length']:>9.1f}"
            f"{summary['effective_token_ratio']:>8.1%}{summary['failure_ratio']:>7.1%}"
            f"{_format(summary['samples_per_s'], '.2f'):>8}"
            f"{_format(summary['tokens_per_s'], '.0f'):>9}{_format(p90, '.0f'):>9}"
            f"{simulate_s * 1000:>8.0f}"
        )
        results[label] = summary
        simulate_seconds[label] = round(simulate_s, 4)
    if length_file.is_paper_format:
        print("paper's reported numbers (reference, measured, not simulated):")
        for label, values in PAPER_TABLE.items():
            etr = values.get("effective_token_ratio")
            print(
                f"  {label:<22} {values['samples_per_s']:.2f} samples/s  ETR {_format(etr, '.1%')}"
            )
    line = {
        "lengths": str(args.lengths),
        "num_samples": len(records),
        "predictor": args.predictor,
        "cost_model": cost_name,
        "results": results,
        "simulate_s": simulate_seconds,  # wall time of each simulation (varies run to run)
    }
    print(json.dumps(line))
    return line


if __name__ == "__main__":
    main()
