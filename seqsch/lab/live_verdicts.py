"""Whether a live slice could show an order's effect, and whether it agreed with the record.

A live run in a notebook is small, so it can fail to show the lever it is there to show: with no
more requests than slots nothing waits, and when every answer has the same length (the cap cut
them all) shortest-first is first come. `slice_check` says, from the slice's own answer
lengths, whether it queues, how many requests the oracle's order moves, and what the step-clock
replay of those lengths (`seqsch.scheduling.priority`) expects the oracle's order to give.
`order_verdict` then sets the live ratio beside the committed measurement's and says whether
they point the same way (a cut is a ratio below 1), so a slice that disagrees says so:

    check = slice_check(lengths, num_slots=3)
    print(slice_line(check))
    print(order_verdict("oracle order", 0.81, 0.70, "vLLM step clock, 128 prompts")["line"])
"""

from __future__ import annotations

from collections.abc import Sequence

from seqsch.core.verdicts import direction as move
from seqsch.scheduling.priority import mean_completion_steps
from seqsch.scheduling.scheduler import order_for_priority

# the oracle's order must cut the slice's replayed mean completion by this share for the slice
# to show it: a smaller cut drowns in a shared CPU's run-to-run drift of seconds
MIN_REPLAY_CUT = 0.1


def slice_check(lengths: Sequence[int], num_slots: int,
                min_cut: float = MIN_REPLAY_CUT) -> dict[str, float | int | bool]:
    """What the slice can show: `queues` (more requests than slots), `moved` (requests whose
    place the oracle's shortest-first order changes), `replay_oracle_x` (its mean completion
    over first come's on the step clock) and `shows_order` (it queues and that replay cuts
    first come's by at least `min_cut`, so the live seconds can see it)."""
    if num_slots < 1:
        raise ValueError(f"num_slots must be >= 1, got {num_slots}")
    if not lengths:
        raise ValueError("no lengths given: run the slice first")
    order = order_for_priority(lengths)
    moved = sum(place != index for place, index in enumerate(order))
    replay_x = (mean_completion_steps(lengths, lengths, num_slots)
                / mean_completion_steps(lengths, None, num_slots))
    queues = len(lengths) > num_slots
    return {"num_requests": len(lengths), "num_slots": num_slots, "queues": queues,
            "moved": moved, "replay_oracle_x": replay_x,
            "shows_order": queues and replay_x <= 1 - min_cut}


def slice_line(check: dict) -> str:
    """The check in one sentence, ending in whether the slice can show the order's effect."""
    head = (f"slice: {check['num_requests']} requests, {check['num_slots']} slots "
            f"({'requests queue' if check['queues'] else 'no one waits'}); the oracle's order "
            f"moves {check['moved']} of them; the step-clock replay of their lengths expects "
            f"{check['replay_oracle_x']:.2f}x first come's mean completion")
    if check["shows_order"]:
        return head + ": the slice can show the order's effect"
    return head + (": the slice CANNOT show the order's effect (resize it: more prompts than "
                   "slots, a cap that leaves the answers different lengths)")


CUT_WORDS = ("does not cut", "cuts", "does not cut")  # above, below and at 1x first come's


def direction(ratio: float) -> str:
    """'cuts' below 1x first come's, else 'does not cut' (`seqsch.core.verdicts.direction`
    with no flat band)."""
    return move(ratio, 0.0, CUT_WORDS)


def order_verdict(what: str, live_x: float, committed_x: float, committed_source: str,
                  replay_x: float | None = None, reference: str = "committed") -> dict:
    """The live ratio (x first come's) beside the committed one: `agrees` when both cut or
    both do not; `line` says it in words, 'agrees' or 'DISAGREES', with the step-clock replay
    of the slice's own lengths in that order (`replay_x`) when given: what the slice would show
    free of the machine's noise. `reference` names what `committed_x` is ('expected' for a
    ratio computed from the slice itself)."""
    for name, value in (("live_x", live_x), ("committed_x", committed_x)):
        if not value > 0:
            raise ValueError(f"{name} must be a ratio > 0, got {value}")
    agrees = (live_x < 1) == (committed_x < 1)
    replay = "" if replay_x is None else f", its replay {replay_x:.2f}x"
    line = (f"{what}: live {live_x:.2f}x first come's ({direction(live_x)}{replay}); {reference} "
            f"{committed_x:.2f}x ({direction(committed_x)}; {committed_source}): "
            f"{'agrees' if agrees else 'DISAGREES'}")
    return {"what": what, "live_x": live_x, "committed_x": committed_x, "agrees": agrees,
            "line": line}
