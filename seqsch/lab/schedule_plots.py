"""The padding a static schedule computes, drawn as rows x steps.

Each panel lays one schedule's batches side by side along the step axis: a batch is a block as
wide as its longest answer (or its FCR cap) and as tall as its rows. In each row the answer's
tokens are coloured and the steps the row waits for the batch's longest answer are grey, so the
coloured share of the area is the effective token ratio, and the width is the number of decoding
steps (on hardware whose step cost barely grows with its rows, the run's time). Rows that FCR cut
are red: their tokens are decoded again in a recompute batch at the end.

    from seqsch.bench.live_slice import slice_plans
    from seqsch.lab.schedule_plots import padding_map
    fig = padding_map(slice_plans(config), true_lengths, "sorting removes the grey")
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from seqsch.scheduling.simulate import SimResult

USEFUL, PADDING, CUT = "#4c72b0", "#d9d9d9", "#c44e52"


def _row_segments(plan: SimResult, lengths: Sequence[int]):
    """(x, width, y, colour) bars of every row of every batch, and the batches' (x, steps)."""
    bars, blocks, x = [], [], 0
    failed = set(plan.failed_indices)
    for batch, stats in zip(plan.plan, plan.batches, strict=True):
        steps = stats.num_steps
        for y, i in enumerate(batch.indices):
            produced = min(lengths[i], batch.max_new_tokens)
            is_cut = i in failed and not batch.is_recompute
            bars.append((x, produced, y, CUT if is_cut else USEFUL))
            if produced < steps:
                bars.append((x + produced, steps - produced, y, PADDING))
        blocks.append((x, steps, len(batch.indices)))
        x += steps
    return bars, blocks


def padding_map(plans: dict[str, SimResult], lengths: Sequence[int], title: str,
                labels: dict[str, str] | None = None) -> Figure:
    """One panel per schedule, sharing the step axis; `lengths` are the true answer lengths
    the plans ran on, `labels` optional display names by spec."""
    if not plans:
        raise ValueError("padding_map needs at least one schedule")
    max_rows = max(len(b.indices) for plan in plans.values() for b in plan.plan)
    fig, axes = plt.subplots(len(plans), 1, figsize=(11, 1.2 + 1.5 * len(plans)), sharex=True,
                             squeeze=False)
    max_steps = max(plan.num_steps_total for plan in plans.values())
    for ax, (name, plan) in zip(axes[:, 0], plans.items(), strict=True):
        bars, blocks = _row_segments(plan, lengths)
        for colour in (USEFUL, PADDING, CUT):
            mine = [(x, w, y) for x, w, y, c in bars if c == colour]
            for y in sorted({y for _, _, y in mine}):
                ax.broken_barh([(x, w) for x, w, yy in mine if yy == y], (y, 1),
                               facecolors=colour, linewidth=0)
        for x, steps, rows in blocks:
            ax.add_patch(plt.Rectangle((x, 0), steps, rows, fill=False, edgecolor="black",
                                       linewidth=0.6))
        summary = plan.summary
        label = (labels or {}).get(name, name)
        ax.set_title(f"{label}: {len(plan.plan)} batches, {plan.num_steps_total:,} steps, "
                     f"ETR {summary['effective_token_ratio']:.0%}", fontsize=10, loc="left")
        ax.set_ylim(max_rows, 0)
        ax.set_xlim(0, max_steps)
        ax.set_ylabel("rows")
        ax.grid(False)
    axes[-1, 0].set_xlabel("decoding steps (batches side by side)")
    fig.legend(handles=[Patch(color=USEFUL, label="answer tokens"),
                        Patch(color=PADDING, label="padding: waiting for the batch's end"),
                        Patch(color=CUT, label="cut by FCR, decoded again")],
               loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig
