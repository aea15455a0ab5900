"""Notebook 03's lab notes: the yardsticks its side results are read against.

A tuning loss means little without the loss of a predictor that ignores the prompt: one that
answers every prompt with the bucket labels' train frequencies. Its cross-entropy is their
entropy per target; the LoRA loss curve averages over target *tokens* (a label's digits and
EOS), so the yardstick is spread over the mean number of target tokens to share its unit.

    reference = frequency_loss(labels, lambda label: len(tokenizer(label).input_ids) + 1)
    summary = loss_summary([row["loss"] for row in loss_curve])
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence


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
