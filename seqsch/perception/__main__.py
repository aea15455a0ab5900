"""Train and evaluate length perception from the command line: one config per command.

    python -m seqsch.perception train-lora --num-steps 75   # the paper's LoRA module
    python -m seqsch.perception train-lora --length-target greedy   # a less censored label
    python -m seqsch.perception train-head --predictor length-head
    python -m seqsch.perception train-head --length-target greedy --max-length 256 \
        --num-layers 15 --target buckets --decode mean --out build/probe-priority
    python -m seqsch.perception eval --predictor query   # or any of --help's choices
    python -m seqsch.perception depth --depths 0 4 8 30
    python -m seqsch.perception select --depths 15 20 25 --targets rank log_mse \
        --length-targets greedy mean --max-length 256   # a priority head, chosen on train only
    python -m seqsch.perception recorded-train --out build/recorded-head   # recorded lengths
    python -m seqsch.perception recorded-train-lora --num-train 2560   # the paper's module, too
    python -m seqsch.perception recorded-eval --head build/recorded-head   # their test split

A command's options are the fields of its one config, named as the library names them, with
the config's defaults and help texts (`python -m seqsch.perception <command> --help`; built by
`seqsch.core.config_args`, so a default or a help text lives only beside its field):

    eval            EvalConfig                               experiments.evaluate
    depth           DepthConfig (+ ProbeConfig's fields)     experiments.depth_sweep
    train-lora      AdapterTrainConfig (+ LoraTrainConfig's)  experiments.train_adapter
    train-head      HeadTrainConfig (+ ProbeConfig's)         experiments.train_head
    select          SelectionConfig                          selection.select_head
    recorded-train  RecordedTrainConfig (+ RecordedHeadConfig's)  recorded_experiments
    recorded-train-lora  RecordedLoraConfig (+ LoraTrainConfig's)  recorded_lora
    recorded-eval   RecordedEvalConfig                       recorded_experiments

(the first four configs live in `seqsch.perception.configs`). `train --predictor lora ...` is
`train-lora ...`, and `train --predictor <a head> ...` is `train-head --predictor <a head> ...`:
the registry's rows (`seqsch.core.sources`) name their training so.

Every command writes under build/ by default; `--out data/...` refreshes a shipped file (the
data card lists those commands). The last line is a JSON summary. `build_config(argv)` returns
the command and its config without running anything (the tests read it).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from seqsch.core.cli import parse_args, run
from seqsch.core.config_args import add_config_arguments, config_from_args
from seqsch.perception.configs import (
    AdapterTrainConfig,
    DepthConfig,
    EvalConfig,
    HeadTrainConfig,
    head_choices,
)
from seqsch.perception.experiments import depth_sweep, evaluate, train_adapter, train_head
from seqsch.perception.recorded_experiments import (
    RecordedEvalConfig,
    RecordedTrainConfig,
    evaluate_recorded,
    train_recorded,
)
from seqsch.perception.recorded_lora import RecordedLoraConfig, train_recorded_lora
from seqsch.perception.registry import trainable_choices
from seqsch.perception.selection import SelectionConfig, select_head

TRAIN = "train"  # the shorthand for train-lora and train-head, by --predictor


def _report(experiment: Callable[[Any], dict]) -> Callable[[Any], dict]:
    """Run `experiment`; print its summary, a line per value, then as one JSON line."""
    def report(config: Any) -> dict:
        summary = experiment(config)
        rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}
        print("\n".join(f"{k:>20}: {v}" for k, v in rounded.items() if k != "candidates"))
        print(json.dumps(rounded))
        return summary
    return report


def _select(config: SelectionConfig) -> dict:
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


def _recorded_train(config: RecordedTrainConfig) -> dict:
    result = train_recorded(config)
    summary = {k: result[k] for k in ("chosen", "best", "learning_curve", "out")}
    print(json.dumps(summary))
    return summary


def _recorded_eval(config: RecordedEvalConfig) -> dict:
    result = evaluate_recorded(config)
    summary = {name: {k: round(v, 4) for k, v in scores.items() if k != "predictions"}
               for name, scores in result["sources"].items()}
    print(json.dumps(summary))
    return summary


# command: (its config, what runs it and prints its summary, its one-line help)
COMMANDS: dict[str, tuple[type, Callable[[Any], dict], str]] = {
    "eval": (EvalConfig, _report(evaluate),
             "score a predictor on the validation records (the paper's metrics, tau)"),
    "depth": (DepthConfig, _report(depth_sweep),
              "heads at several depths: accuracy against prefill cost"),
    "train-lora": (AdapterTrainConfig, _report(train_adapter),
                   "tune the paper's LoRA length module on the train records"),
    "train-head": (HeadTrainConfig, _report(train_head),
                   "train a head on the train prompts' hidden states"),
    "select": (SelectionConfig, _select,
               "a priority head's depth, label and loss by k-fold cross-validation on the "
               "train prompts"),
    "recorded-train": (RecordedTrainConfig, _recorded_train,
                       "a head of ShareGPT's recorded answer lengths, chosen on their train "
                       "split"),
    "recorded-train-lora": (RecordedLoraConfig, _report(train_recorded_lora),
                            "the paper's LoRA length module, tuned on the recorded lengths"),
    "recorded-eval": (RecordedEvalConfig, _recorded_eval,
                      "every length source scored once on the recorded lengths' test split"),
}


def build_parser() -> argparse.ArgumentParser:
    """The command line: a sub-parser per command, built from its config's fields."""
    parser = argparse.ArgumentParser(prog="python -m seqsch.perception",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (config_cls, _, text) in COMMANDS.items():
        sub = commands.add_parser(name, help=text, description=text)
        add_config_arguments(sub, config_cls)
    text = "train-lora (--predictor lora) or train-head (--predictor <a head>), with its options"
    train = commands.add_parser(TRAIN, help=text, description=text, allow_abbrev=False)
    train.add_argument("--predictor", required=True, choices=trainable_choices())
    return parser


def expand_train(argv: Sequence[str]) -> list[str]:
    """`train --predictor lora ...` -> `train-lora ...`, `train --predictor <a head> ...` ->
    `train-head --predictor <a head> ...`; any other command line as given (for `train`, its
    parser then says what is missing)."""
    argv = list(argv)
    if argv[:1] != [TRAIN]:
        return argv
    rest = argv[1:]
    for i, word in enumerate(rest):
        if word == "--predictor" and i + 1 < len(rest):
            value, end = rest[i + 1], i + 2
        elif word.startswith("--predictor="):
            value, end = word.partition("=")[2], i + 1
        else:
            continue
        if value == "lora":
            return ["train-lora", *rest[:i], *rest[end:]]
        if value in head_choices():
            return ["train-head", *rest]
        break
    return argv


def build_config(argv: Sequence[str] | None = None) -> tuple[str, Any]:
    """The command of `argv` and its config, without running it."""
    args = parse_args(build_parser(), expand_train(sys.argv[1:] if argv is None else argv))
    return args.command, config_from_args(COMMANDS[args.command][0], args)


def main(argv: Sequence[str] | None = None) -> dict:
    command, config = build_config(argv)
    return COMMANDS[command][1](config)


if __name__ == "__main__":
    run(main)
