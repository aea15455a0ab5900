"""Simulate scheduled batch inference from known response lengths, without a model.

    python -m seqsch.scheduling --lengths data/paper/alpaca-val-10k-length.json \
        --num-data 1024 --strategy vanilla sort bin --vbs --fcr
    python -m seqsch.scheduling --lengths data/paper/alpaca-val-10k-length.json \
        --paper-sample --group-size 256 --strategy vanilla bin --vbs --fcr   # the paper's benchmark

The last line of output is a one-line JSON summary. The library behind it:
`seqsch.scheduling.simulate`.
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

from seqsch.core.cli import non_negative_int, parse_args, positive_int, run
from seqsch.core.length_records import PAPER_SAMPLE_SIZE, load_length_file, paper_sample
from seqsch.scheduling.cost_model import load_cost_model
from seqsch.scheduling.metrics import completion_stats
from seqsch.scheduling.scheduler import (
    STRATEGIES,
    SchedulerConfig,
)
from seqsch.scheduling.simulate import (
    PAPER_TABLE,
    SIMULATED_PREDICTORS,
    predict_lengths,
    simulate,
)


def _format(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", required=True, help="length file, paper JSON or JSONL")
    parser.add_argument(
        "--strategy", nargs="+", choices=sorted(STRATEGIES), default=["vanilla", "sort", "bin"]
    )
    parser.add_argument("--predictor", choices=SIMULATED_PREDICTORS, default="oracle-max4",
                        help="the predicted lengths: the longest sampled answer (the paper's "
                             "gt), the greedy answer, or the longest plus Gaussian noise")
    parser.add_argument("--noise-std", type=float, default=60.0, help="tokens, for noisy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vbs", action="store_true", help="variable batch size (bin only)")
    parser.add_argument("--fcr", action="store_true", help="failure collection (sort, bin)")
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--num-data", type=positive_int, default=None, help="first N prompts")
    parser.add_argument("--max-new-tokens", type=positive_int, default=512)
    parser.add_argument("--bin-size", type=positive_int, default=50)
    parser.add_argument("--group-size", type=positive_int, default=None,
                        help="schedule consecutive groups of this many prompts apart, each "
                             "group's failures recomputed before the next (the paper: 256)")
    parser.add_argument("--paper-sample", action="store_true",
                        help=f"first draw the paper's {PAPER_SAMPLE_SIZE:,}-prompt benchmark "
                             "sample (seed 42; --num-data then takes its first N)")
    parser.add_argument(
        "--cost-model",
        default=None,
        help="name or JSON path; paper files default to a100-80gb-vicuna7b-hf",
    )
    parser.add_argument("--prompt-len", type=non_negative_int, default=0,
                        help="if the file has none")
    parser.add_argument("--split", default=None, help="keep records of this split")
    args = parse_args(parser, argv)

    try:
        length_file = load_length_file(args.lengths)
        cost_model_arg = load_cost_model(args.cost_model) if args.cost_model else None
    except (OSError, ValueError) as err:
        parser.error(str(err))
    # paper files hold one split each (named in the file name) and have no split field
    records = [r for r in length_file.records if args.split in (None, r.split) or not r.split]
    if not records:
        splits = sorted({r.split for r in length_file.records if r.split})
        parser.error(f"--split {args.split} selects no records of {args.lengths}: use one of "
                     f"{splits}" if splits else f"{args.lengths} holds no records")
    if args.paper_sample:
        try:
            records = paper_sample(records)
        except ValueError:
            parser.error(f"--paper-sample draws {PAPER_SAMPLE_SIZE} prompts, but "
                         f"{args.lengths} has {len(records)}")
    records = records[: args.num_data] if args.num_data is not None else records
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
            group_size=args.group_size,
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
        "group_size": args.group_size,
        "paper_sample": args.paper_sample,
        "results": results,
        "simulate_s": simulate_seconds,  # wall time of each simulation (varies run to run)
    }
    print(json.dumps(line))
    return line


if __name__ == "__main__":
    run(main)
