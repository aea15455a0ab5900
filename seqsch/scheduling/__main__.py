"""Simulate scheduled batch inference from known response lengths, without a model.

    python -m seqsch.scheduling --lengths data/paper/alpaca-val-10k-length.json \
        --num-data 1024 --strategies vanilla sort bin --vbs --fcr
    python -m seqsch.scheduling --lengths data/paper/alpaca-val-10k-length.json \
        --paper-sample --group-size 256 --strategies vanilla bin --vbs --fcr   # the paper's

The options are the fields of `seqsch.scheduling.simulate.SimulationConfig`. The last line of
output is a one-line JSON summary.
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

from seqsch.core.cli import UsageError, parse_args, run
from seqsch.core.config_args import add_config_arguments, config_from_args
from seqsch.core.length_records import PAPER_SAMPLE_SIZE, load_length_file, paper_sample
from seqsch.scheduling.cost_model import load_cost_model
from seqsch.scheduling.metrics import completion_stats
from seqsch.scheduling.simulate import (
    PAPER_TABLE,
    SimulationConfig,
    predict_lengths,
    simulate,
)


def _format(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seqsch.scheduling",
                                     description=__doc__.split("\n\n")[0])
    add_config_arguments(parser, SimulationConfig)
    return parser


def build_config(argv: Sequence[str] | None = None) -> SimulationConfig:
    """The simulation a command line asks for."""
    return config_from_args(SimulationConfig, parse_args(build_parser(), argv))


def main(argv: Sequence[str] | None = None) -> dict:
    config = build_config(argv)
    length_file = load_length_file(config.lengths)
    cost_model_arg = load_cost_model(config.cost_model) if config.cost_model else None
    # paper files hold one split each (named in the file name) and have no split field
    records = [r for r in length_file.records if config.split in (None, r.split) or not r.split]
    if not records:
        splits = sorted({r.split for r in length_file.records if r.split})
        raise UsageError(f"--split {config.split} selects no records of {config.lengths}: use "
                         f"one of {splits}" if splits else f"{config.lengths} holds no records")
    if config.paper_sample:
        try:
            records = paper_sample(records)
        except ValueError:
            raise UsageError(f"--paper-sample draws {PAPER_SAMPLE_SIZE} prompts, but "
                             f"{config.lengths} has {len(records)}") from None
    records = records[: config.num_data] if config.num_data is not None else records
    if any(
        r.max_new_tokens is not None and r.max_new_tokens < config.max_new_tokens for r in records
    ):
        raise UsageError("the file was generated with a smaller cap than --max-new-tokens")
    paper_default = "a100-80gb-vicuna7b-hf" if length_file.is_paper_format else None
    cost_name = config.cost_model or paper_default
    cost_model = cost_model_arg or (load_cost_model(paper_default) if paper_default else None)
    true_lengths = [r.greedy_length for r in records]
    predicted = predict_lengths(records, config.predictor, config.noise_std, config.seed)
    prompt_lengths = [r.num_prompt_tokens or config.prompt_tokens for r in records]

    print(
        f"{len(records)} prompts from {config.lengths}; predictor {config.predictor}; "
        f"cost model {cost_name or 'none (no times)'}"
    )
    print(
        f"{'run':<16}{'batches':>8}{'avg_len':>9}{'ETR':>8}{'fail':>7}{'samp/s':>8}"
        f"{'tok/s':>9}{'p90_s':>9}{'sim_ms':>8}"
    )
    results, simulate_seconds = {}, {}
    for strategy in config.strategies:
        scheduler = config.scheduler(strategy)
        label = strategy + ("+vbs" if scheduler.vbs else "") + ("+fcr" if scheduler.fcr else "")
        start_s = time.perf_counter()
        result = simulate(true_lengths, predicted, scheduler, cost_model, prompt_lengths)
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
        "lengths": str(config.lengths),
        "num_samples": len(records),
        "predictor": config.predictor,
        "cost_model": cost_name,
        "group_size": config.group_size,
        "paper_sample": config.paper_sample,
        "results": results,
        "simulate_s": simulate_seconds,  # wall time of each simulation (varies run to run)
    }
    print(json.dumps(line))
    return line


if __name__ == "__main__":
    run(main)
