"""Figures for the notebooks: one function per kind of plot, every axis titled with its unit.

Figures are saved as PNG under `$SEQSCH_FIGURES`, named after the notebook and the figure.
`python -m seqsch.lab` (`make figures`) sets it to the committed `figures/`; a notebook run by
hand (JupyterLab) leaves it unset and writes to `build/figures/` (ignored by git), so that
exploring with other parameters never overwrites a committed figure. Titles state the
conclusion (the notebooks compute them), reference lines carry a legend entry, and a bar of
height zero still shows its value.

    from seqsch.lab.plots import bar_chart, save_figure
    save_figure(bar_chart({"a": 1.0, "b": 0.0}, "tokens", "b is zero"), "00_example")
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from seqsch.core.paths import BUILD_DIR

sns.set_theme(style="whitegrid", context="notebook")


def figure_dir() -> Path:
    """`$SEQSCH_FIGURES`, else build/figures/: only `make figures` writes the committed ones."""
    path = Path(os.environ.get("SEQSCH_FIGURES") or BUILD_DIR / "figures")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, name: str) -> Path:
    """Save `fig` as `<figure dir>/<name>.png` and return the path."""
    path = figure_dir() / f"{name}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def wrap_label(label: str, width: int = 14) -> str:
    """A long tick label broken into lines of at most `width` characters."""
    return "\n".join(textwrap.wrap(str(label), width)) or str(label)


def _labelled_bars(ax, names: Sequence[str], values: Sequence[float], fmt: str,
                   horizontal: bool = False, **bar_options):
    """Bars with their values written on them (so a zero bar is seen) and a zero line."""
    draw, zero = (ax.barh, ax.axvline) if horizontal else (ax.bar, ax.axhline)
    bars = draw([n if horizontal else wrap_label(n) for n in names], values, **bar_options)
    ax.bar_label(bars, labels=[format(v, fmt) for v in values], fontsize=8, padding=2)
    zero(0, color="black", linewidth=0.8)
    return bars


def _reference_lines(ax, references: dict[str, float] | None, vertical: bool = False) -> None:
    styles = ("--", ":", "-.", (0, (5, 1)))
    for k, (label, value) in enumerate((references or {}).items()):
        line = ax.axvline if vertical else ax.axhline
        line(value, color="dimgray", linestyle=styles[k % len(styles)], linewidth=1.2, label=label)


def length_histogram(
    lengths_by_label: dict[str, Sequence[int]], max_new_tokens: int, bin_size: int = 50,
    title: str = "Response lengths", at_cap: int | None = None,
    at_cap_label: str = "cut at the cap",
) -> Figure:
    """Histogram of answer lengths; the last bar holds answers cut by the cap (censored). The
    legend gives each series' share at or above `at_cap` (default: the cap)."""
    at_cap = max_new_tokens if at_cap is None else at_cap
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = list(range(0, max_new_tokens + bin_size, bin_size))
    for label, lengths in lengths_by_label.items():
        share = sum(n >= at_cap for n in lengths) / max(1, len(lengths))
        shown = format(share, ".1%" if 0 < share < 0.1 else ".0%")
        ax.hist(lengths, bins=bins, alpha=0.55, label=f"{label} ({shown} {at_cap_label})")
    _reference_lines(ax, {f"cap ({max_new_tokens} tokens)": max_new_tokens}, vertical=True)
    ax.set(xlabel="length (tokens)", ylabel="number of prompts", title=title)
    ax.legend(fontsize="small")
    return fig


def predicted_vs_actual(predicted: Sequence[float], actual: Sequence[float], title: str,
                        ax: Axes | None = None, xlabel: str = "actual length (tokens)",
                        legend: bool = True) -> Figure:
    """Scatter of predictions against the truth, with the diagonal of a perfect predictor."""
    fig, ax = plt.subplots(figsize=(5, 5)) if ax is None else (ax.figure, ax)
    ax.scatter(actual, predicted, s=12, alpha=0.5, label="one prompt")
    top = max(max(actual, default=1), max(predicted, default=1))
    ax.plot([0, top], [0, top], color="gray", linestyle="--", label="perfect prediction")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("predicted length (tokens)")
    ax.set_title(title, fontsize="medium")
    if legend:
        ax.legend(fontsize="small", loc="best")
    return fig


def predicted_vs_actual_panels(panels: dict[str, tuple[Sequence[float], Sequence[float], str]],
                               title: str) -> Figure:
    """One `predicted_vs_actual` per entry: panel title -> (predicted, actual, x label)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.6), squeeze=False)
    for ax, (name, (predicted, actual, xlabel)) in zip(axes[0], panels.items()):
        predicted_vs_actual(predicted, actual, wrap_label(name, 40), ax=ax, xlabel=xlabel,
                            legend=False)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=2,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def bar_chart(values: dict[str, float], ylabel: str, title: str, reference: float | None = None,
              reference_label: str = "reference", fmt: str = ".3g") -> Figure:
    """One bar per key, its value written on it; an optional labelled reference line."""
    fig, ax = plt.subplots(figsize=(max(6, len(values) * 1.1), 4))
    _labelled_bars(ax, list(values), list(values.values()), fmt, color="tab:blue")
    if reference is not None:
        _reference_lines(ax, {reference_label: reference})
        ax.legend(fontsize="small")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def metric_panels(results: dict[str, dict[str, float]], metrics: dict[str, str], title: str,
                  references: dict[str, dict[str, float]] | None = None,
                  groups: dict[str, str] | None = None) -> Figure:
    """One panel per metric (key -> axis label), a horizontal bar per predictor (`results`:
    name -> metrics, first on top); `references[metric]` (label -> value) adds labelled lines,
    `groups` (name -> group) colours the bars, with a legend."""
    names, groups, references = list(results), groups or {}, references or {}
    palette = dict(zip(dict.fromkeys(groups.get(n, "") for n in names), sns.color_palette()))
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.9 * len(metrics) + 2.5,
                                                       1.5 + 0.42 * len(names)), sharey=True,
                             squeeze=False)
    axes = axes[0]
    for ax, (key, label) in zip(axes, metrics.items()):
        values = [results[n][key] for n in names]
        _labelled_bars(ax, names, values, ".2f" if max(map(abs, values)) < 2 else ".0f",
                       horizontal=True, color=[palette[groups.get(n, "")] for n in names])
        _reference_lines(ax, references.get(key), vertical=True)
        ax.set_xlabel(label)
        ax.margins(x=0.25)
    axes[0].invert_yaxis()
    legend = {g: plt.Rectangle((0, 0), 1, 1, color=c) for g, c in palette.items() if g}
    for ax in axes:  # each reference line once
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))
    if legend:
        fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend),
                   fontsize="small", bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def line_chart(x: Sequence[float], series: dict[str, Sequence[float]], xlabel: str,
               ylabel: str, title: str, references: dict[str, float] | None = None,
               marker: str | None = "o", ylim: tuple[float, float] | None = None) -> Figure:
    """One line per series over the same x; `references` adds labelled horizontal lines."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, ys in series.items():
        ax.plot(x, ys, marker=marker, label=label)
    _reference_lines(ax, references)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, ylim=ylim or ax.get_ylim())
    ax.legend(fontsize="small")
    return fig


def probe_depth_chart(rows: Sequence[dict], title: str) -> Figure:
    """Accuracy (Kendall's tau, Acc-100) against depth, with the prefill cost on a second axis;
    `rows` as `python -m seqsch.perception depth` writes them."""
    depths = [row["num_layers"] for row in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(depths, [row["kendall_tau"] for row in rows], marker="o", label="Kendall's tau")
    ax.plot(depths, [row["acc100"] for row in rows], marker="s", label="Acc-100")
    ax.set(xlabel="decoder layers the probe reads through (0 = token embeddings)",
           ylabel="score on validation prompts (0-1)")
    cost = ax.twinx()
    cost.plot(depths, [1000 * row["predict_s"] for row in rows], color="grey", linestyle="--",
              marker="x", label="prefill cost")
    cost.set_ylabel("prefill cost (ms per prompt)")
    cost.set_ylim(bottom=0)
    (lines, labels), (more, more_labels) = (a.get_legend_handles_labels() for a in (ax, cost))
    ax.legend(lines + more, labels + more_labels, loc="lower right")
    ax.set_title(title)
    return fig


def speedup_chart(rows: Sequence[dict], series: dict[str, str], title: str) -> Figure:
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


def step_cost_chart(curves: dict[str, dict[int, float]], title: str, base_rows: int = 16) -> Figure:
    """Seconds of one decoding step against the rows in the batch, one line per machine/model,
    each normalised to its own `base_rows`-row step: how much a bigger batch costs (flat on a GPU
    that reads its weights once per step, rising on a CPU that computes every row)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, by_rows in curves.items():
        rows = sorted(by_rows)
        if base_rows not in by_rows:
            raise ValueError(f"curve {label!r} has no {base_rows}-row step to normalise by "
                             f"(it has {rows})")
        base = by_rows[base_rows]
        ax.plot(rows, [by_rows[r] / base for r in rows], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="rows in the batch", ylabel=f"step time / {base_rows}-row step time", title=title)
    ax.legend()
    return fig


def etr_by_batch_size_chart(series: dict[str, dict[int, float]], title: str,
                            references: dict[str, float] | None = None,
                            dashed: Sequence[str] = ()) -> Figure:
    """Effective token ratio (%) against the static batch size, one line per series over its
    own batch sizes (a log2 axis); series named in `dashed` are drawn dashed (e.g. a committed
    run's lengths beside a live one), `references` add labelled horizontal lines."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    sizes = sorted({b for by_size in series.values() for b in by_size})
    for label, by_size in series.items():  # a dashed line stays seen over a solid one
        xs, is_dashed = sorted(by_size), label in dashed
        ax.plot(xs, [by_size[b] for b in xs], label=label, marker="x" if is_dashed else "o",
                linestyle="--" if is_dashed else "-", linewidth=1.2 if is_dashed else 2.5,
                zorder=3 if is_dashed else 2)
    _reference_lines(ax, references)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(b) for b in sizes])
    ax.set(xlabel="static batch size (rows)", ylabel="effective token ratio (%)", title=title,
           ylim=(0, 105))
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return fig
