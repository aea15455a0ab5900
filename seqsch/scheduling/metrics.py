"""Batch-inference metrics of the paper, in one place.

Every generator and the simulator report one `BatchStats` per forward-pass batch; the
functions below turn a list of them into the paper's numbers (throughput, average length,
effective token ratio, failure ratio). Example::

    from seqsch.scheduling.metrics import BatchStats, summarize
    stats = [BatchStats(num_rows=2, num_steps=10, num_output_tokens=14)]
    summarize(stats, num_samples=2, wall_s=1.5)

Token-counting convention (the generator and the simulator must both follow it):
``num_output_tokens`` of a batch counts only the tokens of rows whose output of this batch
is a final result (EOS token included, padding excluded). A row cut at a per-batch cap by
failure collection (FCR) contributes 0 tokens to its capped batch (those tokens are waste)
and is counted in ``num_failed``; its tokens count in the recomputation batch that
produces its final answer. The slots ``num_rows * num_steps`` of every batch, both passes,
count in the denominators.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class BatchStats:
    """What one batch cost and produced (see the module docstring for the conventions)."""

    num_rows: int
    num_steps: int  # forward passes = max output tokens over rows; the prefill counts as one
    num_output_tokens: int  # tokens of rows that are final results, EOS included
    num_failed: int = 0  # rows cut at this batch's FCR cap, to be recomputed
    wall_s: float = 0.0
    is_recompute: bool = False

    def __post_init__(self) -> None:
        if self.num_rows < 1 or self.num_steps < 0:
            raise ValueError(
                f"BatchStats needs num_rows >= 1 and num_steps >= 0, got "
                f"num_rows={self.num_rows}, num_steps={self.num_steps}"
            )
        if not 0 <= self.num_output_tokens <= self.num_slots:
            raise ValueError(
                f"num_output_tokens={self.num_output_tokens} must lie in "
                f"[0, num_rows*num_steps={self.num_slots}]"
            )
        if not 0 <= self.num_failed <= self.num_rows:
            raise ValueError(f"num_failed={self.num_failed} must lie in [0, {self.num_rows}]")
        if self.wall_s < 0:
            raise ValueError(f"wall_s={self.wall_s} must be >= 0")

    @property
    def num_slots(self) -> int:
        """Token slots the batch computed: rows times steps (real tokens plus waste)."""
        return self.num_rows * self.num_steps


def _check_batches(batches: Sequence[BatchStats]) -> None:
    if len(batches) == 0:
        raise ValueError("no batches given: run at least one batch before computing metrics")


def _check_num_samples(num_samples: int) -> None:
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")


def effective_token_ratio(batches: Sequence[BatchStats]) -> float:
    """Real output tokens (final results only) over all computed slots, both passes."""
    _check_batches(batches)
    num_slots = sum(b.num_slots for b in batches)
    if num_slots == 0:
        raise ValueError("all batches ran 0 steps: the effective token ratio is undefined")
    return sum(b.num_output_tokens for b in batches) / num_slots


def avg_length(batches: Sequence[BatchStats], num_samples: int) -> float:
    """The paper's "average length": steps each sample's batches ran, both passes counted."""
    _check_batches(batches)
    _check_num_samples(num_samples)
    return sum(b.num_slots for b in batches) / num_samples


def failure_ratio(batches: Sequence[BatchStats], num_samples: int) -> float:
    """Fraction of samples cut at an FCR cap and recomputed."""
    _check_batches(batches)
    _check_num_samples(num_samples)
    return sum(b.num_failed for b in batches) / num_samples


def throughput(num_samples: int, wall_s: float) -> float:
    """Samples per second."""
    _check_num_samples(num_samples)
    if not wall_s > 0:
        raise ValueError(f"wall_s must be > 0 to compute a throughput, got {wall_s}")
    return num_samples / wall_s


def summarize(
    batches: Sequence[BatchStats], num_samples: int, wall_s: float | None
) -> dict[str, float | int | None]:
    """All run-level metrics; rates are None when no wall time is known (wall_s=None)."""
    num_tokens = sum(b.num_output_tokens for b in batches)
    has_time = wall_s is not None
    return {
        "samples_per_s": throughput(num_samples, wall_s) if has_time else None,
        "tokens_per_s": num_tokens / wall_s if has_time else None,
        "avg_length": avg_length(batches, num_samples),
        "effective_token_ratio": effective_token_ratio(batches),
        "failure_ratio": failure_ratio(batches, num_samples),
        "num_samples": num_samples,
        "wall_s": wall_s,
    }


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default method) of sorted values."""
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def completion_stats(completion_times_s: Sequence[float]) -> dict[str, float]:
    """Mean, median and 90th percentile of per-request completion times (seconds)."""
    if len(completion_times_s) == 0:
        raise ValueError("no completion times given")
    values = sorted(float(t) for t in completion_times_s)
    if values[0] < 0 or any(math.isnan(t) for t in values):
        raise ValueError("completion times must be non-negative numbers")
    return {
        "mean_completion_s": sum(values) / len(values),
        "median_completion_s": quantile(values, 0.5),
        "p90_completion_s": quantile(values, 0.9),
    }
