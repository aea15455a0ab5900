"""Length perception against its targets: what was met, what was missed, by how much, and why.

The results page's last section. Three tables, each computed from data/:

* the targets: the priority predictor's Kendall's tau and order gain on the validation prompts,
  the paper's module (retrained on the greedy answer's bucket) against the median constant,
  and the priority predictor's mean completion under vLLM, prediction pass included;
* how far a prompt-only order can go here: the model's own sampled answers used as a predictor
  of its greedy answer, and the rank head's learning curve on the train split;
* public anchors (other models, other workloads): learning-to-rank predictors scored by tau.

    python -m seqsch.lab --results        # rewrites docs/results.md, this section included
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from seqsch.core.anchors import RANKER_COMPARISON_ANCHORS
from seqsch.core.length_records import read_length_file, target_lengths
from seqsch.core.paths import DATA_DIR, ROOT
from seqsch.lab.result_files import (
    ORDER_CAP,
    STEP_FILES,
    perception_rows,
    read_evaluation,
    step_clock,
)
from seqsch.perception.evaluation import kendall_tau
from seqsch.scheduling.priority import order_gain

TAU_AIM, ORDER_GAIN_AIM = 0.6, 0.6  # on the validation prompts, against greedy at ORDER_CAP
DONE_AIM, THROUGHPUT_AIM = 0.85, 0.95  # vLLM: mean completion and throughput x first come
LEARNING_CURVE = DATA_DIR / "probe-smollm2-rank" / "learning-curve.json"
# The paper's module retrained on a label the cap censors less (the greedy answer at cap 512),
# and the median constant of the same label: both scored against that label
# (data/perception-eval-<name>.json).
GREEDY_EVALUATIONS = ("lora-greedy", "constant-greedy")
# The paper's metrics as (key, label, format, is_higher_better), in its order, then tau.
MODULE_METRICS = (("error", "error (tokens)", ".1f", False), ("acc50", "Acc-50", ".1%", True),
                  ("acc100", "Acc-100", ".1%", True), ("kendall_tau", "Kendall's tau", ".2f", True))


def verdict(value: float, aim: float, higher_is_better: bool = True) -> str:
    """'met' or 'missed by <gap>' for `value` against `aim`."""
    gap = (aim - value) if higher_is_better else (value - aim)
    return "met" if gap <= 0 else f"missed by {gap:.2f}"


def metrics_beaten(summary: dict, baseline: dict) -> list[str]:
    """The keys of MODULE_METRICS on which `summary` is strictly better than `baseline`."""
    return [key for key, _, _, higher in MODULE_METRICS
            if (summary[key] > baseline[key] if higher else summary[key] < baseline[key])]


def sampled_answer_order(lengths: Path, cap: int = ORDER_CAP,
                         split: str = "val") -> dict[float, dict[str, float]]:
    """{temperature: tau and order gain} of each sampled answer's length used as the priority
    of the same prompt's greedy answer, both censored at `cap`: a second run of the model
    itself, the most a prompt-only predictor could hope to know about one sampled answer."""
    records = [r for r in read_length_file(lengths) if r.split == split]
    greedy = target_lengths(records, "greedy", cap)
    temperatures = sorted({t for r in records for t in r.lengths} - {0.0})
    scores = {}
    for t in temperatures:
        sampled = [min(r.lengths[t], cap) for r in records]
        scores[t] = {"kendall_tau": kendall_tau(sampled, greedy),
                     "order_gain": order_gain(sampled, greedy)}
    return scores


def doublings_to(curve: list[dict], aim: float) -> float | None:
    """Doublings of the training set a least-squares line of tau over log2(prompts) needs to
    reach `aim` from the curve's last point; None when the line does not rise."""
    xs = [math.log2(p["num_train"]) for p in curve]
    ys = [p["cv_kendall_tau"] for p in curve]
    if len(xs) < 2:
        return None
    x_mean, y_mean = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = (sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys))
             / sum((x - x_mean) ** 2 for x in xs))
    return None if slope <= 0 else max(0.0, (aim - ys[-1]) / slope)


def targets_table(data_dir: Path = DATA_DIR) -> str:
    rank = perception_rows(data_dir)["rank-head"]
    lines = ["| target | predictor | measured | aim | verdict |", "|---|---|---|---|---|",
             f"| Kendall's tau vs greedy at {ORDER_CAP}, validation | rank head | "
             f"{rank['tau_greedy_cap']:.2f} | >= {TAU_AIM} | "
             f"{verdict(rank['tau_greedy_cap'], TAU_AIM)} |",
             f"| order gain at {ORDER_CAP}, validation | rank head | "
             f"{rank['order_gain_cap']:.2f} | >= {ORDER_GAIN_AIM} | "
             f"{verdict(rank['order_gain_cap'], ORDER_GAIN_AIM)} |"]
    module, constant = (read_evaluation(data_dir, name)[1] for name in GREEDY_EVALUATIONS)
    for key, label, spec, higher in MODULE_METRICS:
        sign = ">" if higher else "<"
        lines.append(f"| {label} vs the greedy answer (cap 512), validation | retrained "
                     f"module | {format(module[key], spec)} | {sign} "
                     f"{format(constant[key], spec)} (median constant) | "
                     f"{verdict(module[key], constant[key], higher)} |")
    for workload, path in STEP_FILES.items():  # the prediction pass counted at first come's pace
        row = step_clock(data_dir / path.name)["vllm+rank-head"]
        lines.append(f"| vLLM mean completion x first come, pass included, {workload} | "
                     f"rank head | {row['done_steps']:.2f} | <= {DONE_AIM} | "
                     f"{verdict(row['done_steps'], DONE_AIM, False)} |")
        lines.append(f"| vLLM throughput x first come, {workload} | rank head | "
                     f"{row['throughput']:.2f} | >= {THROUGHPUT_AIM} | "
                     f"{verdict(row['throughput'], THROUGHPUT_AIM)} |")
    return "\n".join(lines) + "\n"


def ceiling_table(data_dir: Path = DATA_DIR) -> str:
    lengths = read_evaluation(data_dir, "rank-head")[0]["lengths"]
    rank = perception_rows(data_dir)["rank-head"]
    lines = [f"| order of the greedy answers at cap {ORDER_CAP} (validation) by | Kendall's "
             "tau | order gain |", "|---|---|---|",
             f"| the rank head (layer 25, 800 train prompts) | {rank['tau_greedy_cap']:.2f} | "
             f"{rank['order_gain_cap']:.2f} |"]
    for t, s in sampled_answer_order(ROOT / lengths).items():
        lines.append(f"| the model's own answer sampled at temperature {t} | "
                     f"{s['kendall_tau']:.2f} | {s['order_gain']:.2f} |")
    curve = json.loads((data_dir / LEARNING_CURVE.relative_to(DATA_DIR)).read_text())
    points = curve["learning_curve"]
    for p in points:
        lines.append(f"| rank head, cross-validated on the train split, {p['num_train']} "
                     f"prompts per fold | {p['cv_kendall_tau']:.2f} | "
                     f"{p['cv_order_gain']:.2f} |")
    needed = doublings_to(points, TAU_AIM)
    more = ("the curve does not rise" if needed is None else
            f"{needed:.1f} more doublings of the train prompts (about "
            f"{round(points[-1]['num_train'] * 2 ** needed, -4):,.0f} per fold) at the curve's "
            "slope")
    lines.append(f"| reaching tau {TAU_AIM} | {more} | - |")
    return "\n".join(lines) + "\n"


def anchors_table() -> str:
    lines = ["| public anchor (another model and workload) | Kendall's tau |", "|---|---|"]
    lines += [f"| {name} | {tau:.3f} |" for name, tau in RANKER_COMPARISON_ANCHORS.items()]
    return "\n".join(lines) + "\n"
