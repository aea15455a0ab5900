"""The slot timeline: each request a bar in the slot that served it, over engine steps.

A completion-time table says an order helped; the timeline shows why. Under static batching a
slot stays held (hatched) until its batch's longest answer ends; under continuous batching it
frees the step its answer ends, so the padding is gone, and what is left to choose is which
waiting request takes it next. A strip under each panel counts the requests waiting at each
step: its area is the total wait, the one thing an order changes. Draws the runs of
`seqsch.scheduling.slot_timeline`; save with `seqsch.lab.plots.save_figure`.

    panels = {"first come": continuous_timeline(lengths, None, 4),
              "shortest first": continuous_timeline(lengths, lengths, 4)}
    fig = slot_timeline_chart(panels, "Shortest first cuts the wait")
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from seqsch.scheduling.slot_timeline import SlotRun, timeline_summary, waiting_counts

PADDING_STYLE = {"facecolor": "whitesmoke", "edgecolor": "grey", "hatch": "///"}


def _panel_title(label: str, runs: Sequence[SlotRun]) -> str:
    summary = timeline_summary(runs)
    text = (f"{label}: mean completion {summary['mean_completion']:.0f} steps, "
            f"mean wait {summary['mean_wait']:.0f}")
    if summary["padding"]:
        text += f", {summary['padding']} slot-steps of padding"
    return text


def slot_timeline_chart(panels: dict[str, Sequence[SlotRun]], title: str,
                        label_requests: bool = True) -> Figure:
    """One panel per order (its runs, all of one workload): slots on the vertical axis, steps
    on the horizontal; each request a bar from its start to its end, coloured by its length
    (the same colour in every panel), labelled with its index when the bar has room; a slot
    held past its answer is hatched; a dotted line marks the mean completion step. Under each
    panel, the number of requests waiting at each step. A long `title` is wrapped."""
    if not panels or any(not runs for runs in panels.values()):
        raise ValueError("every panel needs runs: lay them out with slot_timeline")
    last_step = max(run.held_until for runs in panels.values() for run in runs)
    lengths = [run.end - run.start for runs in panels.values() for run in runs]
    colour = plt.get_cmap("viridis_r")
    norm = Normalize(min(lengths), max(max(lengths), min(lengths) + 1))
    heights = [ratio for _ in panels for ratio in (3, 1)]
    fig, axes = plt.subplots(2 * len(panels), 1, sharex=True, figsize=(11, 3.2 * len(panels)),
                             gridspec_kw={"height_ratios": heights})
    for k, (label, runs) in enumerate(panels.items()):
        slots_ax, wait_ax = axes[2 * k], axes[2 * k + 1]
        for run in runs:
            length = run.end - run.start
            slots_ax.broken_barh([(run.start, length)], (run.slot - 0.4, 0.8),
                                 facecolor=colour(norm(length)), edgecolor="white")
            if run.padding:
                slots_ax.broken_barh([(run.end, run.padding)], (run.slot - 0.4, 0.8),
                                     **PADDING_STYLE)
            if label_requests and length >= 0.03 * last_step:
                slots_ax.text(run.start + length / 2, run.slot, f"#{run.index}", ha="center",
                              va="center", fontsize=7,
                              color="white" if norm(length) > 0.5 else "black")
        mean_done = timeline_summary(runs)["mean_completion"]
        slots_ax.axvline(mean_done, color="black", linestyle=":", linewidth=1.5)
        num_slots = max(run.slot for run in runs) + 1
        slots_ax.set_yticks(range(num_slots), [f"slot {s}" for s in range(num_slots)])
        slots_ax.set_ylim(num_slots - 0.5, -0.5)
        slots_ax.set_title(_panel_title(label, runs), fontsize="medium", loc="left")
        slots_ax.grid(axis="y", visible=False)
        counts = waiting_counts(runs)
        wait_ax.fill_between(range(len(counts) + 1), [*counts, 0], step="post",
                             color="tab:red", alpha=0.4)
        wait_ax.set_ylabel("waiting", fontsize="small")
        wait_ax.set_ylim(0, max(1, max(counts)) * 1.15)
    axes[-1].set_xlabel("engine step (one token per running request)")
    axes[-1].set_xlim(0, last_step * 1.01)
    handles = [Patch(facecolor=colour(0.2), label="request decoding (colour: its length)"),
               Patch(label="slot held past its answer (padding)", **PADDING_STYLE),
               Patch(facecolor="tab:red", alpha=0.4, label="requests waiting for a slot"),
               plt.Line2D([], [], color="black", linestyle=":", label="mean completion step")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize="small")
    fig.suptitle(textwrap.fill(title, 110))
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return fig
