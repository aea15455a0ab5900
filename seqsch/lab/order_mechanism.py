"""Notebook 06's mechanism: the same answers laid out three ways on a few slots.

Static batches hold every slot until the batch's longest answer ends (the padding); continuous
batching frees a slot the step its answer ends, so the padding is gone and only the order is
left; shortest first then moves the short answers ahead, which cuts the wait at the same work.
`mechanism` lays the answers out (`seqsch.scheduling.slot_timeline`) and sums each layout up;
the other functions say what the layouts show, in the words of the printout, the figure's title
and the takeaway:

    timeline = mechanism([12, 3, 40, 7], num_slots=2)
    print(mechanism_text(timeline))
    fig = slot_timeline_chart(timeline["layouts"], mechanism_title(timeline))
"""

from __future__ import annotations

from collections.abc import Sequence

from seqsch.scheduling.slot_timeline import continuous_timeline, static_timeline, timeline_summary

STATIC, FIRST_COME, SHORTEST_FIRST = ("static batches, first come", "continuous, first come",
                                      "continuous, shortest first")


def mechanism(lengths: Sequence[int], num_slots: int) -> dict:
    """The answers of `lengths` (all waiting at step 0) on `num_slots` slots in three layouts:
    `layouts` (label -> runs) and `summaries` (label -> `timeline_summary`), with the two
    numbers the section reads, the padding the static batches hold and shortest first's mean
    completion over first come's (`completion_x`)."""
    layouts = {STATIC: static_timeline(lengths, None, num_slots),
               FIRST_COME: continuous_timeline(lengths, None, num_slots),
               SHORTEST_FIRST: continuous_timeline(lengths, lengths, num_slots)}
    summaries = {label: timeline_summary(runs) for label, runs in layouts.items()}
    return {"lengths": list(lengths), "num_slots": num_slots, "layouts": layouts,
            "summaries": summaries, "padding": summaries[STATIC]["padding"],
            "completion_x": (summaries[SHORTEST_FIRST]["mean_completion"]
                             / summaries[FIRST_COME]["mean_completion"])}


def mechanism_text(timeline: dict) -> str:
    """The answer lengths, then each layout's mean completion and wait, the step its last
    slot frees, and its padding."""
    lines = [f"answer lengths: {timeline['lengths']}"]
    lines += [f"{label:>27}: mean completion {s['mean_completion']:5.0f} steps, mean wait "
              f"{s['mean_wait']:5.0f}, last slot free at step {s['makespan']}, padding "
              f"{s['padding']} slot-steps" for label, s in timeline["summaries"].items()]
    return "\n".join(lines)


def _wait_cut(timeline: dict) -> str:
    first_come, shortest = (timeline["summaries"][label] for label in (FIRST_COME, SHORTEST_FIRST))
    return (f"the mean wait from {first_come['mean_wait']:.0f} to {shortest['mean_wait']:.0f} "
            f"steps ({timeline['completion_x']:.2f}x mean completion)")


def mechanism_title(timeline: dict) -> str:
    """The slot timeline figure's title: the padding freed, then the wait shortest first cuts."""
    return (f"{len(timeline['lengths'])} answers on {timeline['num_slots']} slots: continuous "
            f"batching frees {timeline['padding']} padded slot-steps; shortest first then cuts "
            + _wait_cut(timeline))


def mechanism_line(timeline: dict) -> str:
    """The mechanism in the takeaway's words."""
    return (f"Mechanism ({len(timeline['lengths'])} answers, {timeline['num_slots']} slots): "
            f"continuous batching frees {timeline['padding']} padded slot-steps; shortest first "
            f"cuts {_wait_cut(timeline)}")
