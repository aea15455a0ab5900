"""Train and evaluate length perception from the command line.

    python -m seqsch.perception train --predictor lora --steps 75
    python -m seqsch.perception train --predictor lora --length-target greedy  # less censored
    python -m seqsch.perception train --predictor length-head
    python -m seqsch.perception train --predictor length-head --length-target greedy \
        --max-length 256 --num-layers 15 --target buckets --decode mean --out build/probe-priority
    python -m seqsch.perception eval --predictor query   # or any of --help's choices
    python -m seqsch.perception depth --depths 0 4 8 30
    python -m seqsch.perception select --depths 15 20 25 --targets rank log_mse \
        --length-targets greedy mean --max-length 256   # a priority head, chosen on train only
    python -m seqsch.perception recorded-train --out build/recorded-head   # recorded lengths
    python -m seqsch.perception recorded-eval --head build/recorded-head   # their test split

Every command writes under build/ by default; `--out data/...` refreshes a shipped file (the
data card lists those commands). The last line is a JSON summary. The library behind it:
`seqsch.perception.experiments` (`train`, `evaluate`, `depth_sweep` with a `PerceptionConfig`),
`seqsch.perception.selection` (`select_head` with a `SelectionConfig`).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from seqsch.core.cli import non_negative_int, parse_args, positive_int, run
from seqsch.core.models import DEFAULT
from seqsch.core.paths import DEFAULT_LENGTHS
from seqsch.perception.experiments import PerceptionConfig, depth_sweep, evaluate, train
from seqsch.perception.probe import DECODES, LENGTH_TARGETS, POOLINGS, TARGETS
from seqsch.perception.query import DEFAULT_LORA_DECODE, QUERY_DECODES
from seqsch.perception.recorded_experiments import (
    EVAL_SOURCES,
    RecordedEvalConfig,
    RecordedTrainConfig,
    evaluate_recorded,
    train_recorded,
)
from seqsch.perception.recorded_heads import RecordedHeadConfig
from seqsch.perception.registry import predictor_choices, trainable_choices
from seqsch.perception.selection import SelectionConfig, select_head

SELECT_ONLY = ("targets", "length_targets", "poolings", "num_folds", "train_sizes")


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["train", "eval", "depth", "select",
                                            "recorded-train", "recorded-eval"],
                        help="depth: probes at several depths, accuracy against prefill cost; "
                             "select: a priority head's depth, label and loss by k-fold "
                             "cross-validation on the train prompts; recorded-train: a head "
                             "of ShareGPT's recorded answer lengths, chosen on their train "
                             "split; recorded-eval: every source scored once on their test "
                             "split")
    parser.add_argument("--predictor", choices=predictor_choices(),
                        help=f"eval: which one; train: {', '.join(trainable_choices())}")
    parser.add_argument("--lengths", type=Path, default=DEFAULT_LENGTHS)
    parser.add_argument("--num-data", type=positive_int,
                        help="use the first N records of the split")
    parser.add_argument("--out", type=Path,
                        help="train: output folder; eval, depth: results JSON (default under "
                             "build/; --out data/... refreshes a shipped file)")
    parser.add_argument("--model", help="default: the model named in the length file")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--adapter", type=Path, help="eval lora: adapter folder")
    parser.add_argument("--probe", type=Path,
                        help="a head's folder (default: the source's own, seqsch.core.sources)")
    parser.add_argument("--lora-decode", choices=QUERY_DECODES, default=DEFAULT_LORA_DECODE,
                        help="eval lora: read the bucket distribution's median (score) or "
                             "decode one answer greedily, as the paper (generate)")
    parser.add_argument("--features", type=Path, help="train a head: feature cache file")
    parser.add_argument("--batch-size", type=positive_int, default=16,
                        help="prediction/feature batch")
    parser.add_argument("--steps", type=positive_int,
                        help="train lora: optimizer steps (else epochs)")
    parser.add_argument("--epochs", type=positive_int, help="train: epochs (lora 3, a head 200)")
    parser.add_argument("--lr", type=float, help="train: learning rate (lora 2e-4, a head 1e-3)")
    parser.add_argument("--micro-batch-size", type=positive_int, default=4)
    parser.add_argument("--grad-accum", type=positive_int, default=8)
    parser.add_argument("--checkpoint-every", type=positive_int, default=25)
    parser.add_argument("--no-resume", action="store_true", help="train lora: start afresh")
    parser.add_argument("--pooling", default="auto", choices=["auto", "mean", "last", "mean+last"])
    parser.add_argument("--target", default="auto", choices=["auto", *TARGETS])
    parser.add_argument("--num-layers", type=non_negative_int,
                        help="train a head: read the state after this many layers (default all)")
    parser.add_argument("--max-prompt-tokens", type=positive_int,
                        help="train a head, depth: read only the first and last halves of this "
                             "many prompt tokens (bounds the cost of long prompts; default all)")
    parser.add_argument("--depths", type=non_negative_int, nargs="+",
                        help="depth: the depths to compare")
    parser.add_argument("--length-target", choices=LENGTH_TARGETS, default="max",
                        help="train: learn the longest sampled answer's length (the "
                             "paper's), the greedy answer's (a greedy workload's order) or the "
                             "geometric mean of all sampled answers (a steadier label); eval: "
                             "score against it (the constant: its train median)")
    parser.add_argument("--max-length", type=positive_int,
                        help="train, eval: censor those lengths at this cap (default: the "
                             "file's; select: 256)")
    parser.add_argument("--decode", choices=DECODES, default="median",
                        help="train a head (buckets): predict the median of the distribution "
                             "(least error) or its mean (the expected length: orders a queue)")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=["rank", "log_mse"],
                        help="select: the losses to compare")
    parser.add_argument("--length-targets", nargs="+", choices=LENGTH_TARGETS,
                        default=["greedy", "mean"], help="select: the labels to compare")
    parser.add_argument("--poolings", nargs="+", choices=POOLINGS, default=["mean+last"],
                        help="select: the poolings to compare")
    parser.add_argument("--num-folds", type=positive_int, default=5,
                        help="select: folds of the train split")
    parser.add_argument("--train-sizes", type=positive_int, nargs="+", default=[],
                        help="select: the best head's learning curve, each fold trained on "
                             "this many prompts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--head", type=Path, help="recorded-eval: the recorded head's folder")
    parser.add_argument("--sources", nargs="+", choices=EVAL_SOURCES,
                        help="recorded-eval: score only these (default all; an earlier file "
                             "at --out keeps the others)")
    args = parse_args(parser, argv)
    if args.command == "select":
        return _select(args, parser)
    if args.command.startswith("recorded-"):
        return _recorded(args, parser)
    if args.head or args.sources:
        parser.error(f"--head and --sources are options of recorded-eval, not {args.command}")
    options = {k: v for k, v in vars(args).items()
               if k not in ("command", "head", "sources", *SELECT_ONLY)}
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


# the options each recorded-* command reads; any other given is refused, not ignored
RECORDED_OPTIONS = {
    "recorded-train": {"lengths", "model", "batch_size", "quiet", "out", "features", "depths",
                       "num_folds", "epochs", "max_prompt_tokens", "train_sizes", "seed"},
    "recorded-eval": {"lengths", "model", "batch_size", "quiet", "out", "head", "sources"},
}


def _recorded(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    unused = sorted(k for k, v in vars(args).items() if k != "command"
                    and k not in RECORDED_OPTIONS[args.command] and v != parser.get_default(k))
    if unused:
        parser.error(f"{args.command} does not read "
                     f"{', '.join('--' + k.replace('_', '-') for k in unused)}")
    common = {"model": args.model or DEFAULT, "batch_size": args.batch_size,
              "quiet": args.quiet}
    if args.lengths != DEFAULT_LENGTHS:  # the recorded workload has its own default file
        common["lengths"] = args.lengths
    if args.command == "recorded-eval":
        config = RecordedEvalConfig(**common, **{k: v for k, v in (
            ("head", args.head), ("out", args.out),
            ("sources", tuple(args.sources or ()))) if v})
        result = evaluate_recorded(config)
        summary = {name: {k: round(v, 4) for k, v in scores.items() if k != "predictions"}
                   for name, scores in result["sources"].items()}
    else:
        head = RecordedHeadConfig(**{k: v for k, v in (
            ("depths", tuple(args.depths or ())), ("num_folds", args.num_folds),
            ("num_epochs", args.epochs), ("max_prompt_tokens", args.max_prompt_tokens),
            ("train_sizes", tuple(args.train_sizes)), ("seed", args.seed)) if v})
        config = RecordedTrainConfig(**common, head=head, **{k: v for k, v in (
            ("out", args.out), ("features", args.features)) if v})
        result = train_recorded(config)
        summary = {k: result[k] for k in ("chosen", "best", "learning_curve", "out")}
    print(json.dumps(summary))
    return summary


def _select(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    options = {"lengths": args.lengths, "poolings": tuple(args.poolings),
               "targets": tuple(args.targets), "length_targets": tuple(args.length_targets),
               "max_length": args.max_length or 256, "num_folds": args.num_folds,
               "num_epochs": args.epochs or 60, "num_train": args.num_data, "seed": args.seed,
               "max_prompt_tokens": args.max_prompt_tokens,
               "train_sizes": tuple(args.train_sizes)}
    options.update({k: v for k, v in (("model", args.model), ("out", args.out),
                                      ("depths", tuple(args.depths or ()))) if v})
    try:
        config = SelectionConfig(**options)
    except ValueError as error:
        parser.error(str(error))
    result = select_head(config)
    for row in result["rows"]:
        print(f"layers {row['num_layers']:>2} {row['pooling']:>9} {row['target']:>8} "
              f"{row['length_target']:>6}: tau {row['cv_kendall_tau']:.3f}, "
              f"order gain {row['cv_order_gain']:.3f}")
    for point in result["learning_curve"]:
        print(f"learning curve, {point['num_train']:>4} train prompts per fold: tau "
              f"{point['cv_kendall_tau']:.3f}, order gain {point['cv_order_gain']:.3f}")
    summary = {"best": result["best"], "num_train": result["num_train"],
               "out": str(config.out), "wall_s": round(result["wall_s"], 1)}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    run(main)
