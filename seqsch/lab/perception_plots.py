"""Notebook 03's main figure: its table's predictors as bars, one panel per metric and target.

The rows come from `seqsch.lab.perception_tables.main_rows`; the learned predictors and the
baselines are bars, while the paper's module (reported on other answers) and the noise floor
(scored against another sample, not a predictor) are reference lines, so that no bar stands
beside a number measured against another target. Save it with `seqsch.lab.plots.save_figure`.

    fig = main_figure(main_rows())
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from seqsch.lab.perception_tables import LEARNED
from seqsch.lab.plots import metric_panels
from seqsch.lab.result_files import ORDER_CAP


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
