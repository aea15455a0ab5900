"""Sequence scheduling: from predicted response lengths to an ordered list of batches.

Strategies (registry `STRATEGIES`): "vanilla" keeps dataset order; "sort" sorts by predicted
length and cuts fixed-size batches; "bin" groups predictions into `bin_size`-token buckets
and batches within buckets, optionally with variable batch size (VBS). With failure
collection and recomputation (FCR) a batch is capped at its predicted length and the rows
that hit the cap are recomputed afterwards by `recompute_batches`. Example::

    from seqsch.scheduling.scheduler import SchedulerConfig, schedule
    batches = schedule([12, 480, 40], SchedulerConfig(strategy="bin", vbs=True, fcr=True))

Rules follow the paper's code (src/utils.py `schedule`, src/generate.py `generate_group`):
a bucket's upper bound is the prediction rounded up to a multiple of `bin_size`; the last,
partial batch of a bucket moves to the next non-empty bucket when it holds fewer than
max(bucket batch size // 2, batch_size) rows (the paper hard-codes 16 = its batch size);
the FCR cap is the bucket upper bound ("bin") or the batch's max prediction ("sort").
With `group_size` the requests are scheduled in consecutive groups (the paper's benchmark:
`--group-size 256`), each group's FCR failures recomputed before the next group starts
(`schedule_groups`); the simulator, the pipeline and the widget share the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from seqsch.core.paper import PAPER_VBS_TABLE  # (bucket upper bound, batch size) of VBS


@dataclass(frozen=True)
class Batch:
    indices: tuple[int, ...]  # positions in the input list
    max_new_tokens: int  # this batch's generation cap
    is_recompute: bool = False


@dataclass
class SchedulerConfig:
    strategy: str = "vanilla"
    batch_size: int = 16
    max_new_tokens: int = 512
    bin_size: int = 50
    vbs: bool = False  # variable batch size (strategy "bin" only)
    fcr: bool = False  # failure collection and recomputation ("sort" or "bin")
    vbs_table: tuple[tuple[int, int], ...] = PAPER_VBS_TABLE
    vbs_token_budget: int | None = None  # if set, replaces vbs_table: budget // bucket bound
    max_vbs_batch_size: int = 256  # upper clamp of budget-derived batch sizes
    group_size: int | None = None  # schedule consecutive groups of this many requests apart

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {self.strategy!r}; choose one of {sorted(STRATEGIES)}"
            )
        for name in ("batch_size", "max_new_tokens", "bin_size", "max_vbs_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.vbs and self.strategy != "bin":
            raise ValueError("vbs=True needs strategy='bin' (batch sizes are set per bucket)")
        if self.fcr and self.strategy == "vanilla":
            raise ValueError("fcr=True needs predictions: use strategy 'sort' or 'bin'")
        self.vbs_table = tuple(sorted((int(b), int(s)) for b, s in self.vbs_table))
        if any(bound < 1 or size < 1 for bound, size in self.vbs_table):
            raise ValueError(f"vbs_table entries must be positive, got {self.vbs_table}")
        if self.vbs_token_budget is not None and self.vbs_token_budget < 1:
            raise ValueError(f"vbs_token_budget must be positive, got {self.vbs_token_budget}")
        if self.group_size is not None and self.group_size < 1:
            raise ValueError(f"group_size must be a positive integer or None, got "
                             f"{self.group_size}")


def bucket_upper_bound(length: float, bin_size: int) -> int:
    """Prediction rounded up to a multiple of bin_size (0 goes to the first bucket)."""
    return max(bin_size, math.ceil(length / bin_size) * bin_size)


def vbs_batch_size(bucket_upper: int, config: SchedulerConfig) -> int:
    """Batch size of a bucket: from the token budget if given, else from the VBS table."""
    if config.vbs_token_budget is not None:
        size = config.vbs_token_budget // bucket_upper
        return min(config.max_vbs_batch_size, max(config.batch_size, size))
    for bound, size in config.vbs_table:
        if bucket_upper <= bound:
            return size
    return config.batch_size


def _chunks(indices: Sequence[int], size: int) -> list[tuple[int, ...]]:
    return [tuple(indices[i : i + size]) for i in range(0, len(indices), size)]


def _sorted_indices(predicted_lengths: Sequence[float]) -> list[int]:
    return sorted(range(len(predicted_lengths)), key=lambda i: predicted_lengths[i])


def _schedule_vanilla(predicted_lengths: Sequence, config: SchedulerConfig) -> list[Batch]:
    order = list(range(len(predicted_lengths)))
    return [Batch(chunk, config.max_new_tokens) for chunk in _chunks(order, config.batch_size)]


def _schedule_sort(predicted_lengths: Sequence[float], config: SchedulerConfig) -> list[Batch]:
    batches = []
    for chunk in _chunks(_sorted_indices(predicted_lengths), config.batch_size):
        cap = config.max_new_tokens
        if config.fcr:
            max_predicted = math.ceil(max(predicted_lengths[i] for i in chunk))
            cap = min(cap, max(1, max_predicted))
        batches.append(Batch(chunk, cap))
    return batches


def _schedule_bin(predicted_lengths: Sequence[float], config: SchedulerConfig) -> list[Batch]:
    buckets: dict[int, list[int]] = {}
    for i in _sorted_indices(predicted_lengths):
        buckets.setdefault(bucket_upper_bound(predicted_lengths[i], config.bin_size), []).append(i)
    uppers = sorted(buckets)
    batches = []
    for position, upper in enumerate(uppers):
        size = vbs_batch_size(upper, config) if config.vbs else config.batch_size
        min_rows = max(size // 2, config.batch_size)
        cap = min(upper, config.max_new_tokens) if config.fcr else config.max_new_tokens
        for chunk in _chunks(buckets[upper], size):
            if position + 1 < len(uppers) and len(chunk) < min_rows:
                buckets[uppers[position + 1]].extend(chunk)  # appended, as the paper does
                break
            batches.append(Batch(chunk, cap))
    return batches


STRATEGIES: dict[str, Callable[[Sequence, SchedulerConfig], list[Batch]]] = {
    "vanilla": _schedule_vanilla,
    "sort": _schedule_sort,
    "bin": _schedule_bin,
}


def _check_lengths(predicted_lengths: Sequence, is_none_allowed: bool) -> None:
    if len(predicted_lengths) == 0:
        raise ValueError("no requests to schedule: pass at least one predicted length")
    for i, length in enumerate(predicted_lengths):
        if length is None:
            if not is_none_allowed:
                raise ValueError(
                    f"request {i} has no predicted length; predict every request or use "
                    "strategy 'vanilla'"
                )
        elif not length >= 0 or math.isinf(length):
            raise ValueError(f"predicted length of request {i} must be >= 0, got {length}")


def group_ranges(num_requests: int, group_size: int | None) -> list[range]:
    """Consecutive groups of request positions; one group of all when group_size is None."""
    size = group_size or max(num_requests, 1)
    return [range(start, min(start + size, num_requests)) for start in range(0, num_requests, size)]


def schedule_groups(predicted_lengths: Sequence[float | None],
                    config: SchedulerConfig) -> list[list[Batch]]:
    """The batches of each group of `config.group_size` consecutive requests, scheduled apart
    (indices into the whole list). A group's FCR failures are recomputed before the next."""
    _check_lengths(predicted_lengths, is_none_allowed=config.strategy == "vanilla")
    groups = []
    for positions in group_ranges(len(predicted_lengths), config.group_size):
        local = STRATEGIES[config.strategy]([predicted_lengths[i] for i in positions], config)
        groups.append([Batch(tuple(positions[i] for i in batch.indices), batch.max_new_tokens)
                       for batch in local])
    return groups


def schedule(predicted_lengths: Sequence[float | None], config: SchedulerConfig) -> list[Batch]:
    """Order requests into batches; every index appears in exactly one batch."""
    return [batch for group in schedule_groups(predicted_lengths, config) for batch in group]


def recompute_batches(failed_indices: Sequence[int], config: SchedulerConfig) -> list[Batch]:
    """Batches that regenerate FCR failures with the full cap, in the given order."""
    if len(set(failed_indices)) != len(failed_indices) or any(i < 0 for i in failed_indices):
        raise ValueError("failed_indices must be distinct non-negative request positions")
    size = config.batch_size
    if config.vbs:
        size = vbs_batch_size(bucket_upper_bound(config.max_new_tokens, config.bin_size), config)
    return [
        Batch(chunk, config.max_new_tokens, is_recompute=True)
        for chunk in _chunks(list(failed_indices), size)
    ]


def order_for_priority(predicted_lengths: Sequence[float]) -> list[int]:
    """Shortest-predicted-first order (stable), for engines with continuous batching."""
    _check_lengths(predicted_lengths, is_none_allowed=False)
    return _sorted_indices(predicted_lengths)
