"""What a length predictor's order is worth to a continuous batch, without a model.

An engine that batches continuously (vLLM, `seqsch.engines.continuous`) wastes no decoding on
padding, so a length prediction can only change the *order* in which waiting requests take a free
slot. Shortest-first lowers the mean completion time, and the true lengths give the best such order.
This module replays a queue through `num_slots` slots, one token per running request per step, and
reports the share of the oracle's gain that a predicted order recovers: 0 is first come, 1 the
oracle, below 0 worse than first come. Pure Python, instant:

    from seqsch.scheduling.priority import order_gain
    order_gain(predicted_lengths, true_lengths, num_slots=16)   # e.g. 0.6
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from seqsch.scheduling.scheduler import order_for_priority


def completion_steps(lengths: Sequence[int], order: Sequence[int],
                     num_slots: int) -> list[int]:
    """Step at which each request ends when requests take free slots in `order` (a
    permutation of their indices) and every running request adds one token per step."""
    if num_slots < 1:
        raise ValueError(f"num_slots must be >= 1, got {num_slots}")
    if not lengths:
        raise ValueError("no lengths given: replay at least one request")
    if sorted(order) != list(range(len(lengths))):
        raise ValueError(f"order must be a permutation of 0..{len(lengths) - 1}")
    free_at = [0] * min(num_slots, len(lengths))  # heap: the step each slot frees up
    done = [0] * len(lengths)
    for index in order:
        start = heapq.heappop(free_at)
        done[index] = start + max(1, lengths[index])  # at least one step: the first token
        heapq.heappush(free_at, done[index])
    return done


def mean_completion_steps(lengths: Sequence[int], priorities: Sequence[float] | None,
                          num_slots: int) -> float:
    """Mean completion step, shortest `priorities` first (ties in arrival order);
    `priorities=None` is first come, first served."""
    order = (list(range(len(lengths))) if priorities is None
             else order_for_priority(priorities))
    done = completion_steps(lengths, order, num_slots)
    return sum(done) / len(done)


def order_gain(predicted: Sequence[float], true: Sequence[int], num_slots: int = 16) -> float:
    """Share of the oracle's cut in mean completion time (against first come) that
    shortest-`predicted`-first recovers; 0.0 when no order can beat first come."""
    if len(predicted) != len(true):
        raise ValueError(f"{len(predicted)} predictions for {len(true)} true lengths")
    first_come = mean_completion_steps(true, None, num_slots)
    oracle = mean_completion_steps(true, true, num_slots)
    if first_come - oracle <= 0:
        return 0.0
    return (first_come - mean_completion_steps(true, predicted, num_slots)) / (
        first_come - oracle)
