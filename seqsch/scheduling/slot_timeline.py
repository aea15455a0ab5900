"""Which slot each request holds, and from which step to which: the picture behind an order.

`seqsch.scheduling.priority` reduces a replay to completion steps. To *see* why continuous
batching frees the padding and why the order is what is left, one needs every request's slot,
the step it starts and the step it ends, and how long its slot stays held: under static batching
a slot is held until the batch's longest answer ends (the padding), under continuous batching it
frees the step its own answer ends. Same clock as `priority` (one token per running request per
step, a request of length n holds its slot n steps, at least one); pure Python, instant:

    from seqsch.scheduling.slot_timeline import continuous_timeline, static_timeline
    first_come = continuous_timeline(lengths, None, num_slots=4)
    shortest_first = continuous_timeline(lengths, lengths, num_slots=4)
    padded = static_timeline(lengths, None, num_slots=4)
    timeline_summary(shortest_first)["mean_completion"]
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from seqsch.scheduling.scheduler import order_for_priority
from seqsch.scheduling.serving import waiting_key


@dataclass(frozen=True)
class SlotRun:
    """One request's stay in a slot, in steps from 0."""

    index: int  # the request's index in the inputs
    slot: int
    arrival: int  # the first step it could start (0 in a burst)
    start: int
    end: int  # the step its last token is done: start + its length
    held_until: int  # the step its slot frees: `end`, or its static batch's end

    @property
    def wait(self) -> int:
        return self.start - self.arrival

    @property
    def padding(self) -> int:
        """Steps the slot stays held after the answer ended (static batches only)."""
        return self.held_until - self.end


def _check(lengths: Sequence[int], priorities: Sequence[float] | None, num_slots: int,
           arrivals: Sequence[int] | None = None) -> None:
    if num_slots < 1:
        raise ValueError(f"num_slots must be >= 1, got {num_slots}")
    if not lengths:
        raise ValueError("no lengths given: lay out at least one request")
    for name, values in (("priorities", priorities), ("arrivals", arrivals)):
        if values is not None and len(values) != len(lengths):
            raise ValueError(f"{name} has {len(values)} entries for {len(lengths)} requests")
    if arrivals is not None and min(arrivals) < 0:
        raise ValueError("arrivals must be steps >= 0")


def continuous_timeline(lengths: Sequence[int], priorities: Sequence[float] | None,
                        num_slots: int, arrivals: Sequence[int] | None = None) -> list[SlotRun]:
    """Continuous batching: whenever a slot frees, the waiting request with the lowest priority
    takes it (`priorities=None`: first come; ties in arrival order, then index), and holds it
    exactly its length. `arrivals` (steps) default to a burst at 0. No preemption. Runs are
    indexed like the inputs; in a burst the completion steps are `priority.completion_steps`'."""
    _check(lengths, priorities, num_slots, arrivals)
    arrived_at = [0] * len(lengths) if arrivals is None else list(arrivals)
    pending = sorted(range(len(lengths)), key=lambda i: (arrived_at[i], i))
    free = [(0, slot) for slot in range(min(num_slots, len(lengths)))]  # (free from, slot)
    waiting: list[tuple[float, float, int]] = []
    runs: list[SlotRun | None] = [None] * len(lengths)
    num_seen = 0
    for _ in lengths:
        now, slot = heapq.heappop(free)
        if not waiting:  # idle until the next arrival
            now = max(now, arrived_at[pending[num_seen]])
        while num_seen < len(pending) and arrived_at[pending[num_seen]] <= now:
            heapq.heappush(waiting, waiting_key(pending[num_seen], arrived_at, priorities))
            num_seen += 1
        index = heapq.heappop(waiting)[2]
        end = now + max(1, lengths[index])
        runs[index] = SlotRun(index, slot, arrived_at[index], now, end, end)
        heapq.heappush(free, (end, slot))
    return [run for run in runs if run is not None]


def static_timeline(lengths: Sequence[int], priorities: Sequence[float] | None,
                    num_slots: int) -> list[SlotRun]:
    """Static batches of `num_slots` in order (`priorities=None`: first come, else shortest
    first), all at once from step 0: a batch starts when the previous one's longest answer
    ends, and every slot of it is held until then."""
    _check(lengths, priorities, num_slots)
    order = list(range(len(lengths))) if priorities is None else order_for_priority(priorities)
    runs: list[SlotRun | None] = [None] * len(lengths)
    start = 0
    for first in range(0, len(order), num_slots):
        batch = order[first:first + num_slots]
        batch_end = start + max(max(1, lengths[i]) for i in batch)
        for slot, index in enumerate(batch):
            runs[index] = SlotRun(index, slot, 0, start, start + max(1, lengths[index]),
                                  batch_end)
        start = batch_end
    return [run for run in runs if run is not None]


def waiting_counts(runs: Sequence[SlotRun]) -> list[int]:
    """Requests waiting (arrived, not started) during each step 0 .. the last end - 1: the area
    under this curve is the total wait an order decides."""
    if not runs:
        raise ValueError("no runs given")
    counts = [0] * max(run.held_until for run in runs)
    for run in runs:
        for step in range(run.arrival, run.start):
            counts[step] += 1
    return counts


def timeline_summary(runs: Sequence[SlotRun]) -> dict[str, float | int]:
    """Mean completion (end - arrival) and wait, in steps; the steps until every slot is free;
    the slot-steps held after answers ended (padding) and held at all (busy)."""
    if not runs:
        raise ValueError("no runs given")
    num = len(runs)
    return {"num_requests": num,
            "mean_completion": sum(run.end - run.arrival for run in runs) / num,
            "mean_wait": sum(run.wait for run in runs) / num,
            "total_wait": sum(run.wait for run in runs),
            "makespan": max(run.held_until for run in runs),
            "padding": sum(run.padding for run in runs),
            "busy": sum(run.held_until - run.start for run in runs)}
