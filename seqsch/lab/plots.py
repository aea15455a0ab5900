"""Figures for the notebooks: one function per kind of plot, every axis titled with its unit.

Figures are saved as PNG under `$SEQSCH_FIGURES` (set by `python -m seqsch.lab`), else
the repository's `figures/`, named after the notebook and the figure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from seqsch.core.paths import FIGURES_DIR

sns.set_theme(style="whitegrid", context="notebook")


def figure_dir() -> Path:
    path = Path(os.environ.get("SEQSCH_FIGURES") or FIGURES_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, name: str) -> Path:
    """Save `fig` as `<figure dir>/<name>.png` and return the path."""
    path = figure_dir() / f"{name}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def length_histogram(
    lengths_by_label: dict[str, Sequence[int]], max_new_tokens: int, bin_size: int = 50,
    title: str = "Response lengths",
):
    """Histogram of answer lengths; the last bar holds answers cut by the cap (censored)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = list(range(0, max_new_tokens + bin_size, bin_size))
    for label, lengths in lengths_by_label.items():
        num_capped = sum(n >= max_new_tokens for n in lengths)
        share = num_capped / max(1, len(lengths))
        ax.hist(lengths, bins=bins, alpha=0.55, label=f"{label} ({share:.0%} cut at the cap)")
    ax.set_xlabel("answer length (tokens)")
    ax.set_ylabel("number of prompts")
    ax.set_title(title)
    ax.legend()
    return fig


def predicted_vs_actual(predicted: Sequence[float], actual: Sequence[float], title: str):
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(actual, predicted, s=12, alpha=0.6)
    top = max(max(actual, default=1), max(predicted, default=1))
    ax.plot([0, top], [0, top], color="gray", linestyle="--", label="perfect prediction")
    ax.set_xlabel("actual length (tokens)")
    ax.set_ylabel("predicted length (tokens)")
    ax.set_title(title)
    ax.legend()
    return fig


def step_time_by_position(batches, title: str = "Time per decoding step"):
    """Each batch's step times against the token position (the context grows by one per step)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for index, batch in enumerate(batches):
        positions = range(2, len(batch.step_s) + 2)
        ax.plot(positions, [s * 1000 for s in batch.step_s], alpha=0.7,
                label=f"batch {index} ({batch.num_rows} rows)")
    ax.set_xlabel("output token position")
    ax.set_ylabel("step time (ms)")
    ax.set_title(title)
    ax.legend(fontsize="small", ncol=2)
    return fig


def bar_chart(values: dict[str, float], ylabel: str, title: str, reference: float | None = None):
    fig, ax = plt.subplots(figsize=(max(6, len(values) * 1.1), 4))
    ax.bar(list(values), list(values.values()), color="tab:blue")
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle="--")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    return fig


def benchmark_chart(summaries: dict[str, dict], title: str):
    """Throughput and mean completion time per run spec, side by side, one colour per engine."""
    names = list(summaries)
    engines = [n.split("+")[0] if n.split("+")[0] in ("continuous", "vllm") else "static"
               for n in names]
    palette = {"static": "tab:blue", "continuous": "tab:orange", "vllm": "tab:green"}
    colors = [palette[e] for e in engines]
    fig, axes = plt.subplots(1, 2, figsize=(max(10, len(names) * 1.3), 4.5))
    for ax, key, label in ((axes[0], "samples_per_s", "throughput (samples/s)"),
                           (axes[1], "mean_completion_s", "mean completion time (s)")):
        ax.bar(names, [summaries[n][key] for n in names], color=colors)
        ax.set_ylabel(label)
        ax.set_xlabel("run (engine + length source + options)")
        ax.tick_params(axis="x", rotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def line_chart(x: Sequence[float], series: dict[str, Sequence[float]], xlabel: str,
               ylabel: str, title: str):
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, ys in series.items():
        ax.plot(x, ys, marker="o", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return fig


def probe_depth_chart(rows: Sequence[dict], title: str):
    """Accuracy (Kendall's tau, Acc-100) against depth, with the prefill cost on a second axis;
    `rows` as `python -m seqsch.perception depth` writes them."""
    depths = [row["num_layers"] for row in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(depths, [row["kendall_tau"] for row in rows], marker="o", label="Kendall's tau")
    ax.plot(depths, [row["acc100"] for row in rows], marker="s", label="Acc-100")
    ax.set_xlabel("decoder layers the probe reads through (0 = token embeddings)")
    ax.set_ylabel("score on validation prompts (0-1)")
    cost = ax.twinx()
    cost.plot(depths, [1000 * row["predict_s"] for row in rows], color="grey", linestyle="--",
              marker="x", label="prefill cost")
    cost.set_ylabel("prefill cost (ms per prompt)")
    cost.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()
    more = cost.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right")
    ax.set_title(title)
    return fig


def speedup_chart(rows: Sequence[dict], series: dict[str, str], title: str):
    """Grouped bars of the speed-up over vanilla per run: `series` maps a key of the rows (e.g.
    "x_vanilla", "paper_x_vanilla", as `seqsch.bench.paper_table` makes them) to its legend label; a
    missing value leaves its bar out. The dashed line marks vanilla (1x)."""
    labels = [row["label"] for row in rows]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(rows)), 4.5))
    for k, (key, legend) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(rows))]
        values = [row.get(key) for row in rows]
        kept = [(x, v) for x, v in zip(xs, values) if v is not None]
        bars = ax.bar([x for x, _ in kept], [v for _, v in kept], width, label=legend)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="vanilla (1x)")
    ax.set_xticks(range(len(rows)), labels, rotation=20, ha="right")
    ax.set_ylabel("throughput / vanilla's (samples/s ratio)")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return fig


def step_cost_chart(curves: dict[str, dict[int, float]], title: str):
    """Seconds of one decoding step against the rows in the batch, one line per machine/model,
    each normalised to its own 16-row step: how much a bigger batch costs (flat on a GPU that
    reads its weights once per step, rising on a CPU that computes every row)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, by_rows in curves.items():
        rows = sorted(by_rows)
        base = by_rows[16] if 16 in by_rows else by_rows[rows[0]]
        ax.plot(rows, [by_rows[r] / base for r in rows], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("rows in the batch")
    ax.set_ylabel("step time / 16-row step time")
    ax.set_title(title)
    ax.legend()
    return fig
