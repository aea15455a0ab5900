"""The figure of what prediction quality buys: share of the oracle's gain against Kendall's tau.

A static schedule (the paper's sort, or its bins with VBS and FCR) pays for a misplaced answer in
padding, a continuous batch only in the waiting of the requests behind it; the curves of
`seqsch.bench.quality_curve` show how much of the oracle's gain each keeps at a given tau. One
line style per setting, one colour per workload, real predictors as labelled markers, and a title
computed from the curves (a line per workload). Save it with `seqsch.lab.plots.save_figure`.

    rows = quality_curve(true_lengths, QualityCurveConfig())
    fig = quality_curve_figure({"paper's Vicuna-7B": rows},
                               {"stand-in": place_predictor(true_lengths, standin)})
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from seqsch.bench.quality_curve import share_at_tau

# setting key of a curve row: (legend label, line style, marker of a real predictor)
SETTINGS = {"static_sort_share": ("static sort", "--", "s"),
            "vbs_fcr_share": ("bin + VBS + FCR", ":", "^"),
            "order_gain": ("continuous order gain", "-", "o")}
TITLE_TAU = 0.5


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{round(value, 2) + 0.0:.2f}"  # no "-0.00"


def conclusion(rows: list[dict], workload: str, tau: float = TITLE_TAU) -> str:
    """One line of the title: the order's and the static sort's shares at `tau` on a curve."""
    order = share_at_tau(rows, "order_gain", tau)
    static = share_at_tau(rows, "static_sort_share", tau)
    return (f"At tau {tau:g} an order keeps {_fmt(order)} of the oracle's gain, a static sort "
            f"{_fmt(static)} ({workload})")


def quality_curve_figure(curves: dict[str, list[dict]],
                         predictors: dict[str, dict] | None = None,
                         title: str | None = None) -> Figure:
    """Share of the oracle's gain (0: vanilla or first come, 1: the oracle) against the achieved
    Kendall's tau: a line per setting (`SETTINGS`) and workload (`curves`: name -> rows of
    `quality_curve`), each of `predictors` (name -> `place_predictor` dict) as black markers at
    its tau (one shape per setting, in the legend; its name written once, beside its highest
    marker, so that a predictor's points do not bury each other's labels), a dashed line at half
    the gain. The title is `title` (the caller's computed conclusion), else each workload's
    shares at tau 0.5."""
    if not curves or any(not rows for rows in curves.values()):
        raise ValueError("need at least one workload, each with at least one curve row")
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    lowest = 0.0
    for k, (workload, rows) in enumerate(curves.items()):
        ordered = sorted(rows, key=lambda row: row["kendall_tau"])
        for key, (setting, style, _) in SETTINGS.items():
            points = [(row["kendall_tau"], row[key]) for row in ordered if row[key] is not None]
            if points:
                ax.plot(*zip(*points), linestyle=style, color=f"C{k}", marker=".",
                        label=f"{workload}: {setting}")
                lowest = min(lowest, min(share for _, share in points))
    shown = set()  # settings with a marker in the legend already
    for name, placed in (predictors or {}).items():
        keys = [key for key in SETTINGS if placed.get(key) is not None]
        for key in keys:
            setting, _, marker = SETTINGS[key]
            ax.scatter(placed["kendall_tau"], placed[key], marker=marker, color="black",
                       zorder=3, label=None if key in shown else f"real predictions: {setting}")
            shown.add(key)
            lowest = min(lowest, placed[key])
        if keys:
            top = max(placed[key] for key in keys)
            ax.annotate(name, (placed["kendall_tau"], top), textcoords="offset points",
                        xytext=(6, 4), fontsize=8)
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="half the oracle's gain")
    ax.set_xlabel("Kendall's tau of the predictions against the true lengths")
    ax.set_ylabel("share of the oracle's gain\n(0: vanilla / first come, 1: oracle)")
    ax.set_ylim(min(0.0, lowest - 0.05), 1.05)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize="small")
    ax.set_title(title or "\n".join(conclusion(rows, workload)
                                    for workload, rows in curves.items()), fontsize="medium")
    fig.tight_layout()
    return fig
