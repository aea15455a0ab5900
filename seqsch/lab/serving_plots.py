"""Figures of serving under load: at which request rate a length prediction starts to pay, and
what aging buys back in the tail. They draw the rows of
`seqsch.scheduling.serving_sweep.serving_sweep` and state in their titles the conclusion those
rows support. Each returns a matplotlib figure; save it with `seqsch.lab.plots.save_figure`.

    rows = serving_sweep(lengths, prompts, {"oracle": (lengths, 0.0)}, rates, num_slots=16,
                         cost_model=cost, aging_values=(0.0, 0.5, 2.0))
    fig = latency_vs_rate(rows)                 # one line per policy, break-even marked
    fig = tail_frontier(rows, rate=rates[-1])   # mean vs p99 latency as aging varies
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from seqsch.scheduling.serving_sweep import break_even_rate

METRIC_LABELS = {"mean_latency_s": "mean latency (s)", "p99_latency_s": "p99 latency (s)",
                 "median_latency_s": "median latency (s)", "mean_ttft_s": "mean TTFT (s)",
                 "p99_ttft_s": "p99 TTFT (s)", "mean_latency_steps": "mean latency (steps)"}


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _series(rows: Sequence[dict]) -> dict[tuple[str, float], list[dict]]:
    """Rows by (policy, aging), in the order they first appear."""
    series: dict[tuple[str, float], list[dict]] = {}
    for row in rows:
        series.setdefault((row["policy"], row["aging_per_s"]), []).append(row)
    return series


def _label(policy: str, aging_per_s: float, rows: Sequence[dict]) -> str:
    agings = {row["aging_per_s"] for row in rows if row["policy"] == policy}
    return policy if len(agings) == 1 else f"{policy}, aging {aging_per_s:g}/s"


def _capacity_note(rows: Sequence[dict], rate: float) -> str:
    """" (0.8x capacity)" when the rows know the capacity, else ""."""
    known = [row for row in rows if "rate_x_capacity" in row and 0 < row["request_rate"] < math.inf]
    if not known or math.isinf(rate):
        return ""
    return f" ({rate * known[0]['rate_x_capacity'] / known[0]['request_rate']:.2g}x capacity)"


def break_even_phrase(rows: Sequence[dict], policy: str, aging_per_s: float = 0.0,
                      min_gain: float = 0.0) -> str:
    """Where `policy` starts to beat first come on mean latency (by `min_gain`), in words."""
    rate = break_even_rate(rows, policy, aging_per_s, min_gain)
    if rate is None:
        return "never pays here"
    if math.isinf(rate):
        return "pays only in a burst"
    lowest = min(row["request_rate"] for row in rows
                 if row["policy"] == policy and row["aging_per_s"] == aging_per_s)
    if rate == lowest:
        return f"pays from the lowest rate tried, {rate:.3g} req/s"
    return f"pays above {rate:.3g} req/s{_capacity_note(rows, rate)}"


def latency_vs_rate(rows: Sequence[dict], metric: str = "mean_latency_s",
                    ax: Axes | None = None, min_gain: float = 0.0,
                    title: str = "Shortest predicted first against first come") -> Figure:
    """`metric` against the request rate (log axis), one line per (policy, aging); a dotted
    vertical line marks each policy's break-even rate against first come (on mean
    latency, `break_even_rate`: the rate from which it cuts first come's mean by `min_gain`).
    The title (`title`, then each policy's break-even) states the conclusion. A burst (rate
    inf) has no place on the axis and is left out."""
    if not rows:
        raise ValueError("no rows to plot: run serving_sweep first")
    if metric not in rows[0]:
        raise ValueError(f"rows have no metric {metric!r}; they have {sorted(rows[0])}")
    fig, ax = _axes(ax, (8, 5))
    phrases = []
    for k, ((policy, aging_per_s), kept) in enumerate(_series(rows).items()):
        kept = sorted((r for r in kept if r["request_rate"] < math.inf),
                      key=lambda r: r["request_rate"])
        label = _label(policy, aging_per_s, rows)
        is_reference = kept[0]["is_reference"] if kept else False
        ax.plot([r["request_rate"] for r in kept], [r[metric] for r in kept], marker="o",
                color=f"C{k}", linestyle="--" if is_reference else "-",
                label=f"{label} (reference)" if is_reference else label)
        if is_reference:
            continue
        phrase = break_even_phrase(rows, policy, aging_per_s, min_gain)
        phrases.append(f"{label}: {phrase}")
        rate = break_even_rate(rows, policy, aging_per_s, min_gain)
        if rate is not None and rate < math.inf:  # the title names each rate
            ax.axvline(rate, color=f"C{k}", linestyle=":", linewidth=1.5)
    ax.set_xscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")  # 3, not 3x10^0
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.set_xlabel("request rate (requests/s, log scale); dotted: break-even on mean latency")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title(title + "\n" + "\n".join(phrases),
                 fontsize="medium")
    return fig


def _frontier_phrase(policy: str, kept: Sequence[dict], reference: dict) -> str:
    """The least aging that holds p99 to first come's, and what that costs in mean latency."""
    held = [r for r in kept if r["p99_latency_s"] <= reference["p99_latency_s"]]
    if not held:
        best = min(r["p99_latency_s"] for r in kept) / reference["p99_latency_s"]
        return f"{policy}: no aging tried holds p99 to first come's (best {best:.2f}x)"
    least = min(held, key=lambda r: r["aging_per_s"])
    mean_x = least["mean_latency_s"] / reference["mean_latency_s"]
    if least["aging_per_s"] == 0:
        return f"{policy}: p99 within first come's without aging, at {mean_x:.2f}x its mean"
    return (f"{policy}: aging {least['aging_per_s']:g}/s holds p99 to first come's, "
            f"at {mean_x:.2f}x its mean")


def tail_frontier(rows: Sequence[dict], rate: float, ax: Axes | None = None) -> Figure:
    """Mean against p99 latency at one request rate: one point per aging value, joined per
    policy and labelled with its aging, first come as a star with dashed guides (lower left of
    both guides beats first come on both). The title names, per policy, the least aging that
    holds p99 to first come's and its mean latency relative to first come's."""
    at_rate = [r for r in rows if math.isclose(r["request_rate"], rate, rel_tol=1e-9)]
    if not at_rate:
        rates = sorted({r["request_rate"] for r in rows})
        raise ValueError(f"no rows at rate {rate}; the rows have rates {rates}")
    reference = next((r for r in at_rate if r["is_reference"]), None)
    if reference is None:
        raise ValueError(f"no first-come reference row at rate {rate}")
    fig, ax = _axes(ax, (7, 5))
    ax.scatter([reference["mean_latency_s"]], [reference["p99_latency_s"]], marker="*", s=200,
               color="black", zorder=3, label=f"{reference['policy']} (reference)")
    ax.axvline(reference["mean_latency_s"], color="grey", linestyle="--", linewidth=1)
    ax.axhline(reference["p99_latency_s"], color="grey", linestyle="--", linewidth=1)
    phrases = []
    policies = dict.fromkeys(r["policy"] for r in at_rate if not r["is_reference"])
    for k, policy in enumerate(policies):
        kept = sorted((r for r in at_rate if r["policy"] == policy),
                      key=lambda r: r["aging_per_s"])
        ax.plot([r["mean_latency_s"] for r in kept], [r["p99_latency_s"] for r in kept],
                marker="o", color=f"C{k}", label=policy)
        for r in kept:
            ax.annotate(f"{r['aging_per_s']:g}/s", (r["mean_latency_s"], r["p99_latency_s"]),
                        xytext=(4, 4), textcoords="offset points", fontsize=8, color=f"C{k}")
        phrases.append(_frontier_phrase(policy, kept, reference))
    ax.set_xlabel("mean latency (s); dashed: first come's")
    ax.set_ylabel("p99 latency (s)")
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"At {rate:.3g} req/s{_capacity_note(rows, rate)}, aging trades mean for tail\n"
                 + "\n".join(phrases), fontsize="medium")
    return fig
