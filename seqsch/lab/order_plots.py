"""Figures of notebooks 05 and 06: throughput beside mean completion time, ratios against a
baseline run, and what a request order does to completion times. Notebook 06's figures are
drawn from the summaries its sections compute (`seqsch.lab.order_replay`, `order_load`,
`order_clock`, `live_verdicts`), one function per figure.

`seqsch.lab.plots` holds the suite's general plots; these are the ones that compare runs by
both of their measured costs (how fast the whole workload ends, how long a request waits) and
orders of one workload. Each returns a matplotlib figure; save it with
`seqsch.lab.plots.save_figure(fig, "06_name")`.

    fig = throughput_and_completion(summaries, "vanilla", "Sorting cuts the waiting")
    fig = completion_curves({"first come": [3.1, 5.0], "oracle": [1.2, 5.0]}, "seconds", "...")
    fig = step_clock_figure(committed_clock(step_files, seconds_file))  # from 06's summary
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from seqsch.bench.serving_projection import MIN_GAIN
from seqsch.lab.order_clock import clock_rows, clock_title
from seqsch.lab.order_load import HEAD
from seqsch.lab.order_replay import replay_title
from seqsch.lab.serving_plots import latency_vs_rate, tail_frontier

ENGINE_COLOURS = {"static": "tab:blue", "continuous": "tab:orange", "vllm": "tab:green"}
ENGINE_LABELS = {"static": "static batches", "continuous": "transformers' continuous batching",
                 "vllm": "vLLM (continuous batching)"}


def engine_of(spec: str) -> str:
    """The engine a run spec names ("continuous+oracle" -> continuous; no engine part: static)."""
    first = spec.split("+")[0]
    return first if first in ENGINE_COLOURS else "static"


def _rotate(ax) -> None:
    ax.tick_params(axis="x", rotation=30)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")


def throughput_and_completion(summaries: dict[str, dict], reference: str, title: str) -> Figure:
    """Measured throughput and mean completion time per run spec, side by side, one colour per
    engine; a dashed line marks the `reference` run's value in each panel; one legend under
    the panels."""
    if reference not in summaries:
        raise ValueError(f"reference run {reference!r} is not among {sorted(summaries)}")
    names = list(summaries)
    fig, axes = plt.subplots(1, 2, figsize=(max(10, 1.2 * len(names) + 4), 4.5))
    panels = (("samples_per_s", "throughput (samples/s)\nhigher is better"),
              ("mean_completion_s", "mean completion time (s)\nlower is better"))
    for ax, (key, label) in zip(axes, panels):
        for engine, colour in ENGINE_COLOURS.items():
            shown = [n for n in names if engine_of(n) == engine]
            if shown:
                ax.bar(shown, [summaries[n][key] for n in shown], color=colour,
                       label=ENGINE_LABELS[engine])
        ax.axhline(summaries[reference][key], color="grey", linestyle="--",
                   label=f"{reference} (reference)")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        _rotate(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize="small")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 0.94))
    return fig


def ratio_panels(rows: Sequence[dict], series: dict[str, str], metrics: dict[str, str],
                 title: str, reference_label: str = "reference run (1x)") -> Figure:
    """Grouped bars of ratios against a reference run: one panel per `metrics` key (its value is
    the panel's axis label), one bar colour per `series` key (its value the legend label). Each
    row holds "label" and `rows[i][series_key][metric_key]`; a missing value leaves its bar out.
    The dashed line marks 1x; one legend under the panels."""
    width = 0.8 / max(1, len(series))
    fig, axes = plt.subplots(1, len(metrics), figsize=(
        min(18, max(9, 1.6 * len(rows) * len(metrics))), 5), squeeze=False)
    for ax, (metric, label) in zip(axes[0], metrics.items()):
        for k, (key, legend) in enumerate(series.items()):
            kept = [(i + (k - (len(series) - 1) / 2) * width, row[key][metric])
                    for i, row in enumerate(rows)
                    if row.get(key) and row[key].get(metric) is not None]
            bars = ax.bar([x for x, _ in kept], [v for _, v in kept], width, label=legend,
                          color=f"C{k}")
            ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label=reference_label)
        ax.set_xticks(range(len(rows)), [row["label"] for row in rows])
        _rotate(ax)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize="small")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1, 1, 0.94))
    return fig


def completion_curves(times_by_label: dict[str, Sequence[float]], unit: str, title: str) -> Figure:
    """Requests completed against time, one step line per order, with each order's mean
    completion time as a dotted vertical line: the area left of a curve is the waiting that
    shortest-first removes."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, times in times_by_label.items():
        if not times:
            raise ValueError(f"no completion times for {label!r}")
        ordered = sorted(times)
        mean = sum(ordered) / len(ordered)
        line, = ax.step([0.0, *ordered], range(len(ordered) + 1), where="post",
                        label=f"{label} (mean {mean:.1f} {unit})")
        ax.axvline(mean, color=line.get_color(), linestyle=":", linewidth=1.5)
    ax.set_xlabel(f"time since the run started ({unit}); dotted: each order's mean")
    ax.set_ylabel("requests completed")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return fig


def order_scores_chart(rows: Sequence[dict], title: str) -> Figure:
    """Per ordering (row "label"): mean completion relative to first come ("relative", with
    1 = first come dashed) and the share of the oracle's cut recovered ("order_gain") beside
    Kendall's tau ("kendall_tau"), both on a 0-1 scale."""
    labels = [row["label"] for row in rows]
    xs = range(len(rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(max(10, 2.2 * len(rows)), 4.5))
    bars = left.bar(xs, [row["relative"] for row in rows], color="tab:blue",
                    label="ordered by this predictor")
    left.bar_label(bars, fmt="%.2f", fontsize=8)
    left.axhline(1.0, color="grey", linestyle="--", label="first come (1x)")
    left.set_ylabel("mean completion / first come's")
    left.set_ylim(0, max(1.3, 1.1 * max(row["relative"] for row in rows)))
    left.legend(loc="upper left", fontsize="small")
    width = 0.4
    for offset, key, legend in ((-width / 2, "order_gain", "order gain (share of oracle's cut)"),
                                (width / 2, "kendall_tau", "Kendall's tau vs true lengths")):
        bars = right.bar([x + offset for x in xs], [row[key] for row in rows], width,
                         label=legend)
        right.bar_label(bars, fmt="%.2f", fontsize=8)
    right.axhline(0.0, color="black", linewidth=0.8)
    right.set_ylabel("score (0: first come, 1: oracle)")
    lowest = min(min(row["order_gain"], row["kendall_tau"]) for row in rows)
    right.set_ylim(min(0.0, lowest - 0.1), 1.3)  # an order worse than first come scores below 0
    right.legend(loc="upper right", fontsize="small")
    for ax in (left, right):
        ax.set_xticks(list(xs), labels)
        _rotate(ax)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


# Notebook 06's figures, each from the summary its section computed
def replay_figure(replay: dict) -> Figure:
    """`order_scores_chart` of `seqsch.lab.order_replay.predictor_replay`, titled with the
    oracle's cut and the best predictor's share of it."""
    return order_scores_chart(replay["rows"], replay_title(replay))


def simulated_latency_figure(load: dict) -> Figure:
    """Mean latency against the request rate of the simulated sweep's unaged policies
    (`seqsch.lab.order_load.simulated_load`), with each policy's break-even."""
    return latency_vs_rate(load["unaged"], min_gain=MIN_GAIN,
                           title="GPU (analytic A100 model, 7B), simulated")


def simulated_tail_figure(load: dict, policies: Sequence[str] = ("first-come", HEAD)) -> Figure:
    """Mean against p99 latency of `policies` at the loaded rate, one point per aging value."""
    return tail_frontier([r for r in load["rows"] if r["policy"] in policies],
                         load["loaded_rate"])


def measured_latency_figure(measured: dict) -> Figure:
    """Mean latency against the request rate of the measured sweep
    (`seqsch.lab.order_load.measured_load`), titled with what served it."""
    env = measured["environment"]
    return latency_vs_rate(measured["rows"], min_gain=MIN_GAIN,
                           title=f"{env['engine']} on {env['device']} ({env['num_threads']} "
                                 "threads), measured")


def step_clock_figure(clock: dict) -> Figure:
    """`ratio_panels` of the committed vLLM runs (`seqsch.lab.order_clock.committed_clock`):
    each order's mean completion and throughput over first come's, on each workload's step
    clock and in seconds with the prediction."""
    series = {w: f"step clock, {w}" for w in clock["steps"]}
    series["seconds"] = f"seconds with the prediction, median of {clock['num_rounds']} rounds"
    return ratio_panels(clock_rows(clock), series,
                        {"done": "mean completion / first come's",
                         "rate": "throughput / first come's"},
                        clock_title(clock), "first come (1x)")


def live_completion_figure(runs: dict, oracle_verdict: dict, num_slots: int) -> Figure:
    """`completion_curves` of a live slice's runs (label -> engine run), titled with whether
    the oracle's order cut the mean completion and whether that agrees with the committed
    ratio (`oracle_verdict`: `seqsch.lab.live_verdicts.order_verdict`'s)."""
    times = {label: [r.completion_s for r in run.results] for label, run in runs.items()}
    oracle_x = oracle_verdict["live_x"]
    return completion_curves(
        times, "s", f"Live on a CPU, {len(times['first come'])} prompts x {num_slots} slots: the "
                    f"oracle's order {'cuts' if oracle_x < 1 else 'does not cut'} mean completion "
                    f"({oracle_x:.2f}x first come's; "
                    f"{'agrees with' if oracle_verdict['agrees'] else 'DISAGREES with'} the "
                    f"committed {oracle_verdict['committed_x']:.2f}x)")
