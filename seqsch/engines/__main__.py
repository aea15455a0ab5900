"""Run a model on ShareGPT prompts with one engine and print the paper's metrics.

    python -m seqsch.engines --num-data 32 --batch-size 16 --max-new-tokens 128
    python -m seqsch.engines --num-data 32 --compare-hf          # beside model.generate
    python -m seqsch.engines --num-data 32 --engine continuous   # transformers' continuous batching

The options are the fields of `seqsch.engines.demo.DemoConfig`. The last line is a JSON summary.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from seqsch.core.cli import parse_args, run
from seqsch.core.config_args import add_config_arguments, config_from_args
from seqsch.engines.demo import DemoConfig, run_demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seqsch.engines",
                                     description="Run a model on ShareGPT prompts and print "
                                     "the paper's metrics; the last line is a JSON summary.")
    add_config_arguments(parser, DemoConfig)
    return parser


def build_config(argv: Sequence[str] | None = None) -> DemoConfig:
    """The demo a command line asks for."""
    return config_from_args(DemoConfig, parse_args(build_parser(), argv))


def main(argv: Sequence[str] | None = None) -> dict:
    summary = run_demo(build_config(argv))
    for key, value in summary.items():
        print(f"{key:>24}: {value}")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    run(main)
