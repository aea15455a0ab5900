"""Notebook 03's lab notes: the yardsticks its side results are read against.

A tuning loss means little without the loss of a predictor that ignores the prompt: one that
answers every prompt with the bucket labels' train frequencies. Its cross-entropy is their
entropy per target; the LoRA loss curve averages over target *tokens* (a label's digits and
EOS), so the yardstick is spread over the mean number of target tokens to share its unit.

    reference = bucket_frequency_loss(tuning_set, tokenizer)  # the yardstick
    shipped = shipped_loss_run()  # the shipped adapter's curve, read for its end
    print(loss_text(reference, shipped))
    title = loss_title(shipped["summary"], reference["per_token"])

`frequency_loss` and `loss_summary` are the arithmetic, for any labels and any curve.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from seqsch.core.paths import DATA_DIR
from seqsch.perception.lora import encode_tuning_example

SHIPPED_ADAPTER = DATA_DIR / "lora-smollm2-length"  # its train_config.json and loss_curve.json


def frequency_loss(labels: Sequence[str], num_tokens: Callable[[str], int]) -> dict[str, float]:
    """The cross-entropy of answering every prompt with the frequencies of `labels` (the train
    targets): `per_target` (their entropy, nats per answer), `mean_tokens` (a target's tokens,
    `num_tokens(label)`, averaged over the labels) and `per_token` (the first over the second:
    the unit of a loss averaged over target tokens)."""
    if not labels:
        raise ValueError("need at least one label")
    counts = Counter(labels)
    per_target = -sum(n / len(labels) * math.log(n / len(labels)) for n in counts.values())
    tokens = {label: num_tokens(label) for label in counts}
    if min(tokens.values()) < 1:
        raise ValueError(f"every target has at least one token (EOS), got {tokens}")
    mean_tokens = sum(tokens[label] * n for label, n in counts.items()) / len(labels)
    return {"per_target": per_target, "mean_tokens": mean_tokens,
            "per_token": per_target / mean_tokens}


def loss_summary(losses: Sequence[float], window: int = 10) -> dict:
    """A loss curve read for its end: the running mean over `window` steps (`smooth`), the
    first loss, and the mean over the last quarter of the steps (`end`, over `num_tail`), where
    step-to-step noise averages out."""
    if not losses or window < 1:
        raise ValueError(f"need at least one loss and window >= 1, got {len(losses)}, {window}")
    smooth = [statistics.fmean(losses[max(0, i - window + 1): i + 1])
              for i in range(len(losses))]
    tail = losses[-max(1, len(losses) // 4):]
    return {"smooth": smooth, "first": losses[0], "end": statistics.fmean(tail),
            "num_tail": len(tail), "window": window}


def bucket_frequency_loss(tuning_set: Sequence[dict[str, str]], tokenizer) -> dict[str, float]:
    """`frequency_loss` of the tuning set's targets, each target's tokens counted as the tuning
    encodes them (`seqsch.perception.lora.encode_tuning_example`: its digits and EOS): the
    yardstick the lab notes read the module's loss curve against."""
    def num_tokens(label: str) -> int:
        example = {"prompt": "", "target": label}
        return len(encode_tuning_example(tokenizer, example, tokenizer.eos_token_id)[1])

    return frequency_loss([example["target"] for example in tuning_set], num_tokens)


def shipped_loss_run(adapter_dir: Path = SHIPPED_ADAPTER) -> dict:
    """The shipped adapter's run: its `train_config`, the `steps` and `losses` of its loss curve,
    and their `loss_summary` (`summary`)."""
    train_config = json.loads((adapter_dir / "train_config.json").read_text())
    curve = json.loads((adapter_dir / "loss_curve.json").read_text())
    losses = [row["loss"] for row in curve]
    return {"train_config": train_config, "steps": [row["step"] for row in curve],
            "losses": losses, "summary": loss_summary(losses)}


def loss_text(reference: dict[str, float], run: dict) -> str:
    """The yardstick in its two units, then the shipped run's length and its loss at the start
    and the end, the end against the yardstick."""
    per_token, loss, config = reference["per_token"], run["summary"], run["train_config"]
    return (f"bucket frequencies alone: {reference['per_target']:.2f} nats per target; targets "
            f"hold {reference['mean_tokens']:.2f} tokens on average (digits + EOS), so "
            f"{per_token:.3f} nats per target token\n"
            f"shipped run: {config['total_steps']} steps, {config['num_epochs']} epochs of "
            f"{config['num_examples']} examples; loss {loss['first']:.2f} at step 1, mean "
            f"{loss['end']:.3f} over the last {loss['num_tail']} steps "
            f"({loss['end'] / per_token - 1:+.0%} against the bucket frequencies)")


def loss_title(summary: dict, per_token: float) -> str:
    """The loss figure's conclusion: where the curve starts and ends, and whether it ends below
    the bucket frequencies' loss (`per_token`)."""
    below = (f"ends {1 - summary['end'] / per_token:.0%} below the bucket frequencies alone"
             if summary["end"] < per_token else "ends no lower than the bucket frequencies alone")
    return (f"LoRA tuning: loss falls from {summary['first']:.1f} to {summary['end']:.2f} and "
            + below)
