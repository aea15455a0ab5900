"""Notebook 03's figures: its table's predictors as bars, one panel per metric and target, then
each prediction against its target, the module's collapse, its loss curve and the depth sweep.

The rows come from `seqsch.lab.perception_tables.main_rows`; the learned predictors and the
baselines are bars, while the paper's module (reported on other answers) and the noise floor
(scored against another sample, not a predictor) are reference lines, so that no bar stands
beside a number measured against another target. Save it with `seqsch.lab.plots.save_figure`.

    fig = main_figure(main_rows())
    fig = predicted_vs_actual_figure(main, targets)  # targets: perception_targets
    fig = loss_curve_figure(shipped_loss_run(), reference["per_token"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from seqsch.core.paths import DATA_DIR
from seqsch.lab.perception_heads import depth_title
from seqsch.lab.perception_notes import loss_title
from seqsch.lab.perception_tables import LEARNED
from seqsch.lab.perception_targets import eval_predictions, predictions_against, share_at_least
from seqsch.lab.plots import (
    length_histogram,
    line_chart,
    metric_panels,
    predicted_vs_actual_panels,
    probe_depth_chart,
)
from seqsch.lab.result_files import ORDER_CAP

LOSS_AXES = ("optimizer step", "cross-entropy (nats per target token)")


def main_figure(rows: Sequence[dict]) -> Figure:
    """The main table's learned predictors and baselines as bars, one panel per metric (error,
    Acc-100 and tau against the longest of four, tau against the greedy answer at ORDER_CAP),
    the noise floor and the paper's module as reference lines (in that order in every panel, so
    that each keeps its line style); the title names the best length predictor and the best
    order among the learned ones (computed from `rows`)."""
    by_name = {row["name"]: row for row in rows}
    bars = [row for row in rows if row["name"] not in ("paper", "noise-floor")]
    length = min(LEARNED, key=lambda name: by_name[name]["error"])
    order = max(LEARNED, key=lambda name: by_name[name]["tau_greedy_cap"])
    floor, paper = by_name["noise-floor"], by_name["paper"]
    floor_label, paper_label = "noise floor (vs another sample)", "the paper (Vicuna-7B)"
    scores = {row["label"]: {"error": row["error"], "acc100": 100 * row["acc100"],
                             "kendall_tau": row["kendall_tau"],
                             "tau_greedy_cap": row["tau_greedy_cap"]} for row in bars}
    title = (f"The {by_name[length]['predictor']} predicts lengths best (error "
             f"{by_name[length]['error']:.0f} tokens, the paper's module here "
             f"{by_name['lora']['error']:.0f}), the {by_name[order]['predictor']} orders best "
             f"(tau {by_name[order]['tau_greedy_cap']:.2f} vs greedy at cap {ORDER_CAP})")
    return metric_panels(
        scores, {"error": "error vs longest of 4 (tokens)\nlower is better",
                 "acc100": "Acc-100 vs longest of 4 (%)", "kendall_tau": "tau vs longest of 4",
                 "tau_greedy_cap": f"tau vs greedy (cap {ORDER_CAP})"}, title,
        references={"error": {floor_label: floor["error"], paper_label: paper["error"]},
                    "acc100": {floor_label: 100 * floor["acc100"],
                               paper_label: 100 * paper["acc100"]},
                    "kendall_tau": {floor_label: floor["kendall_tau"]}},
        groups={row["label"]: "learned" if row["name"] in LEARNED else "baseline"
                for row in bars})


def predicted_vs_actual_figure(main: Mapping[str, dict], targets: dict,
                               data_dir: Path = DATA_DIR) -> Figure:
    """Each validation prompt's prediction against its predictor's target: the paper's module
    and the length head against the longest of four, the rank head against the greedy answer
    cut at ORDER_CAP; the title gives the shares that stand at the cap (no prediction orders
    them). `main`: the main table's rows by name; `targets`: `censored_targets`."""
    records, cap = targets["val_records"], targets["cap"]
    longest = {r.id: r.max_length for r in records}
    greedy = {r.id: min(r.greedy_length, ORDER_CAP) for r in records}
    axis = "longest of 4 answers (tokens)"
    panels = {
        f"{main[name]['label']}, tau {main[name][key]:.2f}":
            (*predictions_against(eval_predictions(name, data_dir), truths), xlabel)
        for name, key, truths, xlabel in (
            ("lora", "kendall_tau", longest, axis),
            ("length-head", "kendall_tau", longest, axis),
            ("rank-head", "tau_greedy_cap", greedy, f"greedy answer, cut at {ORDER_CAP} (tokens)"))}
    at_cap = share_at_least([r.max_length for r in records], cap)
    greedy_at_cap = share_at_least([r.greedy_length for r in records], ORDER_CAP)
    return predicted_vs_actual_panels(
        panels, f"{at_cap:.0%} of the longest answers stand at the {cap}-token cap, "
                f"{greedy_at_cap:.0%} of the greedy answers at {ORDER_CAP}: a column that no "
                "prediction can order")


def collapse_figure(collapse: dict, cap: int) -> Figure:
    """The module's predictions (bucket median and greedy answer) beside the truth, the last
    bin from `collapse["top"]` (`seqsch.lab.perception_targets.module_collapse`)."""
    top = collapse["top"]
    fig = length_histogram(
        {"LoRA module, bucket median": collapse["lora"],
         "LoRA module, greedy answer": collapse["lora_generate"],
         "the truth: longest of 4 answers": collapse["longest"]}, cap,
        at_cap=top, at_cap_label=f"at {top} or more",
        title=f"The module collapses onto the cap bucket: {collapse['share_top']:.0%} of prompts "
              f"predicted >= {top} tokens ({collapse['share_top_generate']:.0%} greedily)")
    fig.axes[0].set_xlabel("predicted or actual length (tokens)")
    return fig


def loss_curve_figure(run: dict, per_token: float) -> Figure:
    """The shipped run's loss per step and its running mean, against the bucket frequencies'
    loss (`run`: `seqsch.lab.perception_notes.shipped_loss_run`)."""
    loss = run["summary"]
    fig = line_chart(run["steps"], {"loss of each step": run["losses"],
                                    f"mean of {loss['window']} steps": loss["smooth"]},
                     *LOSS_AXES, loss_title(loss, per_token),
                     references={f"bucket frequencies alone ({per_token:.2f})": per_token},
                     marker=None)
    fig.axes[0].set_ylim(bottom=0)
    return fig


def live_loss_figure(live: dict, shipped_losses: Sequence[float], per_token: float) -> Figure:
    """The live run's loss per step beside the shipped run's first steps (`live`:
    `seqsch.lab.perception_live.live_tuning`)."""
    losses = live["losses"]
    return line_chart(list(range(1, len(losses) + 1)),
                      {"live run": losses, "shipped run": shipped_losses[:len(losses)]},
                      *LOSS_AXES, f"{live['num_steps']} live steps: loss {losses[0]:.2f} -> "
                      f"{losses[-1]:.2f} (frequencies alone: {per_token:.2f})",
                      references={f"bucket frequencies alone ({per_token:.2f})": per_token})


def depth_figure(sweep: dict) -> Figure:
    """The depth sweep's scores and prefill cost per depth (`perception_heads.depth_sweep`)."""
    return probe_depth_chart(sweep["depths"], depth_title(sweep))
