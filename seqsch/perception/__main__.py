"""Train and evaluate length perception from the command line.

    python -m seqsch.perception train --predictor lora --steps 75
    python -m seqsch.perception train --predictor probe
    python -m seqsch.perception train --predictor probe --length-target greedy --max-length 256 \
        --num-layers 15 --target buckets --decode mean --out build/probe-priority
    python -m seqsch.perception eval --predictor {lora,probe,pia,constant,noise-floor}
    python -m seqsch.perception depth --depths 0 4 8 30

Every command writes under build/ by default; `--out data/...` refreshes a shipped file (the
data card lists those commands). The last line is a JSON summary. The library behind it:
`seqsch.perception.experiments` (`train`, `evaluate`, `depth_sweep` with a `PerceptionConfig`).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from seqsch.core.paths import DEFAULT_LENGTHS
from seqsch.perception.experiments import PerceptionConfig, depth_sweep, evaluate, train
from seqsch.perception.probe import DECODES, LENGTH_TARGETS
from seqsch.perception.query import DEFAULT_LORA_DECODE, QUERY_DECODES


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["train", "eval", "depth"],
                        help="depth: probes at several depths, accuracy against prefill cost")
    parser.add_argument("--predictor", choices=["lora", "probe", "pia", "constant",
                                                "noise-floor"], help="train and eval: which one")
    parser.add_argument("--lengths", type=Path, default=DEFAULT_LENGTHS)
    parser.add_argument("--num-data", type=int, help="use the first N records of the split")
    parser.add_argument("--out", type=Path,
                        help="train: output folder; eval, depth: results JSON (default under "
                             "build/; --out data/... refreshes a shipped file)")
    parser.add_argument("--model", help="default: the model named in the length file")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--adapter", type=Path, help="eval lora: adapter folder")
    parser.add_argument("--probe", type=Path, help="eval probe: probe folder")
    parser.add_argument("--lora-decode", choices=QUERY_DECODES, default=DEFAULT_LORA_DECODE,
                        help="eval lora: read the bucket distribution's median (score) or "
                             "decode one answer greedily, as the paper (generate)")
    parser.add_argument("--features", type=Path, help="train probe: feature cache file")
    parser.add_argument("--batch-size", type=int, default=16, help="prediction/feature batch")
    parser.add_argument("--steps", type=int, help="train lora: optimizer steps (else epochs)")
    parser.add_argument("--epochs", type=int, help="train: epochs (lora 3, probe 200)")
    parser.add_argument("--lr", type=float, help="train: learning rate (lora 2e-4, probe 1e-3)")
    parser.add_argument("--micro-batch-size", type=int, default=4)
    parser.add_argument("--grad-accum", type=int, default=8)
    parser.add_argument("--checkpoint-every", type=int, default=25)
    parser.add_argument("--no-resume", action="store_true", help="train lora: start afresh")
    parser.add_argument("--pooling", default="auto", choices=["auto", "mean", "last", "mean+last"])
    parser.add_argument("--target", default="auto", choices=["auto", "l1", "log_mse", "buckets"])
    parser.add_argument("--num-layers", type=int,
                        help="train probe: read the state after this many layers (default all)")
    parser.add_argument("--max-prompt-tokens", type=int,
                        help="train probe, depth: read only the first and last halves of this "
                             "many prompt tokens (bounds the cost of long prompts; default all)")
    parser.add_argument("--depths", type=int, nargs="+", help="depth: the depths to compare")
    parser.add_argument("--length-target", choices=LENGTH_TARGETS, default="max",
                        help="train probe: learn the longest sampled answer's length (the "
                             "paper's) or the greedy answer's (a greedy workload's order)")
    parser.add_argument("--max-length", type=int,
                        help="train probe: censor lengths at this cap (default: the file's)")
    parser.add_argument("--decode", choices=DECODES, default="median",
                        help="train probe (buckets): predict the median of the distribution "
                             "(least error) or its mean (the expected length: orders a queue)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        config = PerceptionConfig(**options)
        config.check_for(args.command)
    except ValueError as error:
        parser.error(str(error))
    commands = {"train": train, "eval": evaluate, "depth": depth_sweep}
    summary = commands[args.command](config)
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}
    print("\n".join(f"{k:>20}: {v}" for k, v in rounded.items() if k != "candidates"))
    print(json.dumps(rounded))
    return summary


if __name__ == "__main__":
    main()
