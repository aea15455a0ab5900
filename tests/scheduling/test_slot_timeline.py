"""Tests of seqsch.scheduling.slot_timeline: each request's slot, start and end."""

import pytest

from seqsch.scheduling.priority import completion_steps
from seqsch.scheduling.scheduler import order_for_priority
from seqsch.scheduling.slot_timeline import (
    continuous_timeline,
    static_timeline,
    timeline_summary,
    waiting_counts,
)

LENGTHS = [5, 1, 2, 4]


def test_first_come_takes_the_first_free_slot():
    runs = continuous_timeline(LENGTHS, None, num_slots=2)
    assert [(r.slot, r.start, r.end) for r in runs] == [(0, 0, 5), (1, 0, 1), (1, 1, 3), (1, 3, 7)]
    assert [r.wait for r in runs] == [0, 0, 1, 3]
    assert all(r.padding == 0 for r in runs)  # a continuous slot frees when its answer ends


@pytest.mark.parametrize("priorities", [None, LENGTHS, [3, 3, 1, 1]])
def test_a_burst_ends_where_the_priority_replay_says(priorities):
    order = list(range(len(LENGTHS))) if priorities is None else order_for_priority(priorities)
    runs = continuous_timeline(LENGTHS, priorities, num_slots=2)
    assert [r.end for r in runs] == completion_steps(LENGTHS, order, num_slots=2)


def test_shortest_first_cuts_the_wait_not_the_work():
    first_come = timeline_summary(continuous_timeline(LENGTHS, None, 2))
    oracle = timeline_summary(continuous_timeline(LENGTHS, LENGTHS, 2))
    assert oracle["mean_completion"] < first_come["mean_completion"]
    assert oracle["total_wait"] < first_come["total_wait"]
    assert oracle["busy"] == first_come["busy"] == sum(LENGTHS)
    assert sum(waiting_counts(continuous_timeline(LENGTHS, None, 2))) == first_come["total_wait"]


def test_a_static_batch_holds_every_slot_until_its_longest_answer():
    runs = static_timeline(LENGTHS, None, num_slots=2)
    assert [(r.slot, r.start, r.end, r.held_until) for r in runs] == [
        (0, 0, 5, 5), (1, 0, 1, 5), (0, 5, 7, 9), (1, 5, 9, 9)]
    summary = timeline_summary(runs)
    assert summary["padding"] == 4 + 2 and summary["makespan"] == 9
    assert [r.start for r in static_timeline(LENGTHS, LENGTHS, 2)] == [2, 0, 0, 2]  # sorted


def test_arrivals_wait_only_when_the_slots_are_full():
    runs = continuous_timeline([3, 3, 1], [3, 3, 1], num_slots=1, arrivals=[0, 1, 2])
    assert [(r.start, r.end, r.wait) for r in runs] == [(0, 3, 0), (4, 7, 3), (3, 4, 1)]
    idle = continuous_timeline([2, 2], None, num_slots=1, arrivals=[0, 10])
    assert [(r.start, r.wait) for r in idle] == [(0, 0), (10, 0)]  # nothing waits at low load


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="num_slots"):
        continuous_timeline([1], None, num_slots=0)
    with pytest.raises(ValueError, match="no lengths"):
        static_timeline([], None, num_slots=1)
    with pytest.raises(ValueError, match="priorities has 1"):
        continuous_timeline([1, 2], [1], num_slots=1)
    with pytest.raises(ValueError, match="arrivals"):
        continuous_timeline([1, 2], None, num_slots=1, arrivals=[0, -1])
    with pytest.raises(ValueError, match="no runs"):
        timeline_summary([])
