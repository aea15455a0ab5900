"""Metrics for response length prediction, as reported in the paper, plus ranking quality.

The reference evaluation (zhengzangw/Sequence-Scheduling, `src/eval.py`) compares each
prediction with the longest of four sampled answers (temperatures 0, 0.3, 0.5, 0.7; "L_max")
and reports

* Error: mean absolute difference |pred - true| in tokens;
* Acc-50 / Acc-100: share of prompts with |pred - true| <= 50 / <= 100 (inclusive).

Scheduling only needs the *order* of lengths to be right, so Kendall's tau-b between
predictions and true lengths is reported too. `noise_floor` measures how well one sampled
answer predicts another sample of the same prompt: no predictor can beat sampling noise.

Usage::

    report = evaluate_predictions([parse_length(text) for text in outputs], true_lengths)
    report["acc50"], report["kendall_tau"]
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from itertools import combinations, pairwise


def _check_same_length(pred: Sequence[float], true: Sequence[float]) -> None:
    if len(pred) != len(true):
        raise ValueError(f"{len(pred)} predictions for {len(true)} true lengths")
    if not true:
        raise ValueError("cannot evaluate an empty set of predictions")


def length_error(pred: Sequence[float], true: Sequence[float]) -> float:
    """Mean absolute error in tokens (the paper's "Error")."""
    _check_same_length(pred, true)
    return sum(abs(p - t) for p, t in zip(pred, true)) / len(true)


def accuracy_within(pred: Sequence[float], true: Sequence[float], tolerance: float) -> float:
    """Share of predictions with |pred - true| <= tolerance (Acc-50 uses tolerance=50)."""
    _check_same_length(pred, true)
    return sum(abs(p - t) <= tolerance for p, t in zip(pred, true)) / len(true)


def _count_tied_pairs(sorted_values: Sequence[float]) -> int:
    """Number of pairs with equal values in an already sorted sequence."""
    num_tied_pairs, run_length = 0, 1
    for previous, current in pairwise(sorted_values):
        if current == previous:
            run_length += 1
        else:
            num_tied_pairs += run_length * (run_length - 1) // 2
            run_length = 1
    return num_tied_pairs + run_length * (run_length - 1) // 2


def _sort_counting_swaps(values: list[float]) -> tuple[list[float], int]:
    """Merge sort returning the sorted list and the number of strictly inverted pairs."""
    if len(values) <= 1:
        return values, 0
    middle = len(values) // 2
    left, num_left_swaps = _sort_counting_swaps(values[:middle])
    right, num_right_swaps = _sort_counting_swaps(values[middle:])
    merged: list[float] = []
    num_swaps = num_left_swaps + num_right_swaps
    i = j = 0
    while i < len(left) and j < len(right):
        if right[j] < left[i]:
            merged.append(right[j])
            num_swaps += len(left) - i
            j += 1
        else:
            merged.append(left[i])
            i += 1
    merged.extend(left[i:])
    merged.extend(right[j:])
    return merged, num_swaps


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b with tie correction, in O(n log n) (Knight's algorithm).

    tau_b = (concordant - discordant) / sqrt((n0 - ties_x) * (n0 - ties_y)), n0 = n(n-1)/2.
    When either sequence is constant (or has fewer than two items) tau-b is 0/0; this returns
    0.0 there, as a constant predictor carries no ordering information (scipy returns nan).
    """
    _check_same_length(x, y)
    num_items = len(x)
    num_pairs = num_items * (num_items - 1) // 2
    pairs = sorted(zip(x, y))
    num_x_ties = _count_tied_pairs([xi for xi, _ in pairs])
    num_joint_ties = _count_tied_pairs(pairs)
    sorted_y, num_discordant = _sort_counting_swaps([yi for _, yi in pairs])
    num_y_ties = _count_tied_pairs(sorted_y)
    denominator = math.sqrt((num_pairs - num_x_ties) * (num_pairs - num_y_ties))
    if denominator == 0:
        return 0.0
    numerator = num_pairs - num_x_ties - num_y_ties + num_joint_ties - 2 * num_discordant
    return numerator / denominator


def fill_missing(pred: Sequence[int | None]) -> list[int]:
    """Replace None with the mean of the valid predictions, rounded half up (0 if none valid).

    A missing prediction thus costs what an uninformed guess costs; 0 as the last resort is
    what the reference parser returns for text without numbers.
    """
    valid_preds = [p for p in pred if p is not None]
    fill_value = int(sum(valid_preds) / len(valid_preds) + 0.5) if valid_preds else 0
    return [fill_value if p is None else p for p in pred]


def evaluate_predictions(pred: Sequence[int | None], true: Sequence[int]) -> dict[str, float]:
    """All metrics for one set of predictions; missing ones are filled by `fill_missing`.

    Returns error (tokens), acc50 and acc100 (fractions in [0, 1]), kendall_tau,
    num_prompts and num_missing (how many predictions were None before filling).
    """
    _check_same_length(pred, true)
    filled_pred = fill_missing(pred)
    return {
        "error": length_error(filled_pred, true),
        "acc50": accuracy_within(filled_pred, true, 50),
        "acc100": accuracy_within(filled_pred, true, 100),
        "kendall_tau": kendall_tau(filled_pred, true),
        "num_prompts": len(true),
        "num_missing": sum(p is None for p in pred),
    }


def noise_floor(samples_by_prompt: Sequence[Sequence[int]]) -> dict[str, float]:
    """Metrics of predicting one sampled answer length from another sample of the same prompt.

    With k the smallest number of samples any prompt has (k >= 2 required), every pair of
    sample indices (a, b), a < b < k, is scored once: sample a of each prompt is the
    prediction, sample b the truth. Each metric is averaged over the k(k-1)/2 pairs; all
    metrics are symmetric, so the reversed pairs would give the same values. Samples drawn at
    different temperatures are mixed this way. Adds num_index_pairs to the usual keys.
    """
    if not samples_by_prompt:
        raise ValueError("need at least one prompt")
    num_samples = min(len(samples) for samples in samples_by_prompt)
    if num_samples < 2:
        raise ValueError("every prompt needs at least two sampled lengths")
    reports = [
        evaluate_predictions(
            [samples[a] for samples in samples_by_prompt],
            [samples[b] for samples in samples_by_prompt],
        )
        for a, b in combinations(range(num_samples), 2)
    ]
    averaged: dict[str, float] = {
        key: statistics.fmean(report[key] for report in reports)
        for key in ("error", "acc50", "acc100", "kendall_tau")
    }
    averaged["num_prompts"] = len(samples_by_prompt)
    averaged["num_missing"] = 0
    averaged["num_index_pairs"] = len(reports)
    return averaged


def constant_baseline(train_lengths: Sequence[int], n: int) -> list[int]:
    """Predict the median training length (rounded half up) for all `n` prompts.

    The median is the constant with the smallest mean absolute error on the training set.
    """
    if not train_lengths:
        raise ValueError("need at least one training length")
    return [int(statistics.median(train_lengths) + 0.5)] * n
