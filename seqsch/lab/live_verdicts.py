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

from collections.abc import Mapping, Sequence
from typing import Any

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


COMMITTED_STEPS = "vLLM step clock, 128 prompts"  # what the orders' ratios are set beside


def slice_lengths(runs: Mapping[str, Any], reference: str = "first come") -> list[int]:
    """The answer lengths of the `reference` run (first come's: the oracle's in every order)."""
    return [r.num_output_tokens for r in runs[reference].results]


def lengths_line(runs: Mapping[str, Any]) -> str:
    """The slice's answer lengths and whether every order decoded the same ones (greedy answers
    must not depend on the order, else the orders are not comparable)."""
    same = len({tuple(r.num_output_tokens for r in run.results) for run in runs.values()}) == 1
    return f"answer lengths: {slice_lengths(runs)}; the same in every order: {same}"


def runs_text(runs: Mapping[str, Any], num_data: int) -> str:
    """Each run's mean completion and throughput, with its prediction time where it paid one
    (a share of `num_data` prompts)."""
    lines = []
    for label, run in runs.items():
        s, predicted_s = run.summary(), run.extra.get("prediction_s", 0.0)
        paid = (f" (prediction {predicted_s:.2f} s, {1000 * predicted_s / num_data:.0f} ms a "
                "prompt)" if predicted_s else "")
        lines.append(f"{label:>13}: mean completion {s['mean_completion_s']:.1f} s, "
                     f"{s['samples_per_s']:.3f} samples/s{paid}")
    return "\n".join(lines)


def completion_ratios(runs: Mapping[str, Any], reference: str = "first come") -> dict[str, float]:
    """Each run's mean completion over the `reference` run's."""
    means = {label: run.summary()["mean_completion_s"] for label, run in runs.items()}
    return {label: mean / means[reference] for label, mean in means.items()}


def slice_verdicts(runs: Mapping[str, Any], predicted: Mapping[str, Any], check: dict,
                   clock: dict, head: str = "") -> dict:
    """The slice's ratios beside their references: the oracle's order against the committed
    step clock (`clock`: `seqsch.lab.order_clock.committed_clock`); where `head` has a committed
    run, the head's order alone against it, and the head's order with its prediction against
    what the slice's own replay plus its prediction time expect (whether a prediction pays
    depends on its share of a request's time, so on the slice's size). Returns {verdicts,
    note}: `note` says when the head has no committed run to agree with."""
    lengths, num_slots = slice_lengths(runs), check["num_slots"]
    ratios, steps = completion_ratios(runs), clock["steps"][clock["reference"]]
    verdicts = [order_verdict("oracle order, mean completion", ratios["oracle order"],
                              steps["vllm+oracle"], COMMITTED_STEPS, check["replay_oracle_x"])]
    head_spec, note = "vllm+" + head, None
    if head and head_spec in clock["seconds_specs"]:
        first_come_s = runs["first come"].summary()["mean_completion_s"]
        head_s = runs["head order"].summary()["mean_completion_s"]
        prediction_s = runs["head order"].extra.get("prediction_s", 0.0)
        order_only_x = (head_s - prediction_s) / first_come_s
        replay_x = (mean_completion_steps(lengths, predicted["head order"], num_slots)
                    / mean_completion_steps(lengths, None, num_slots))
        verdicts.append(order_verdict("head order alone", order_only_x, steps[head_spec],
                                      COMMITTED_STEPS, replay_x))
        verdicts.append(order_verdict(
            "head order with its prediction", ratios["head order"],
            replay_x + prediction_s / first_come_s,
            f"its replay plus its prediction time; at 128 prompts on vLLM "
            f"{clock['seconds_done'][head_spec]:.2f}x, median of {clock['num_rounds']} rounds",
            reference="expected"))
    elif head:
        note = f"no committed vLLM run orders by {head}: its live ratio has nothing to agree with"
    return {"verdicts": verdicts, "note": note, "ratios": ratios}


def verdicts_text(result: dict) -> str:
    """`slice_verdicts`' note (if any), then each verdict's line."""
    return "\n".join(([result["note"]] if result["note"] else [])
                     + [verdict["line"] for verdict in result["verdicts"]])


def vllm_verdicts_text(runs: Mapping[str, Any], clock: dict, head: str = "") -> str:
    """vLLM's live runs on the step clock, each order beside its committed ratio."""
    committed = {"oracle order": "vllm+oracle", "head order": "vllm+" + head}
    steps = clock["steps"][clock["reference"]]
    base = runs["first come"].summary()["mean_completion_steps"]
    return "\n".join(
        order_verdict(f"vLLM live, {label}", run.summary()["mean_completion_steps"] / base,
                      steps[committed[label]], COMMITTED_STEPS)["line"]
        for label, run in runs.items() if committed.get(label) in steps)


def live_slice_line(check: dict, verdicts: Sequence[dict]) -> str:
    """The live slice in the takeaway's words: whether it can show the order, and how many of
    its ratios agree with their references."""
    return (f"Live slice ({check['num_requests']} prompts, {check['num_slots']} slots, "
            f"{'can' if check['shows_order'] else 'CANNOT'} show the order): "
            f"{sum(v['agrees'] for v in verdicts)} of {len(verdicts)} ratios agree with their "
            "references (the orders with the committed runs, the prediction's cost with the "
            "slice's own replay)")
