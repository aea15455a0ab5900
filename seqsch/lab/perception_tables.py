"""Notebook 03's tables: one predictor per role, every metric named by the target it scores.

The evaluation files score a predictor against several targets: the longest of four sampled
answers (the paper's target), the greedy answer at cap 512, the same cut at the benchmarks' cap
(`ORDER_CAP`), a workload's recorded lengths. A table that leaves the target out invites reading
a tau against one as a tau against another, so here every column carries its target, a table
keeps one predictor per role (retired or variant predictors stay in the lab notes), and each
claim reads one column. Everything comes from the files of data/; the literature's anchors are
`seqsch.core.anchors.RECORDED_RANKER_ANCHORS`.

    print(text_table(main_rows(), MAIN_COLUMNS))
    print(text_table(recorded_rows(), RECORDED_COLUMNS))
    rows, ceiling = order_ceiling(DEFAULT_LENGTHS)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seqsch.bench.quality_curve import tau_for_share
from seqsch.core.anchors import RECORDED_RANKER_ANCHORS
from seqsch.core.paper import PAPER_MODULE_ACCURACY
from seqsch.core.paths import DATA_DIR, DEFAULT_RECORDED_EVAL, DEFAULT_RECORDED_HEAD
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.lab.recorded_results import SOURCE_LABELS, TARGETS
from seqsch.lab.result_files import ORDER_CAP, perception_rows
from seqsch.lab.scorecard import sampled_answer_order

LONGEST = "vs longest of 4 (cap 512)"
GREEDY_AT_CAP = f"vs greedy (cap {ORDER_CAP})"
RECORDED = "vs recorded length"


@dataclass(frozen=True)
class Column:
    """One column of a text table: the row's key, its header, its format, and the target it
    scores (columns of one target share a header above them)."""

    key: str
    header: str
    fmt: str
    target: str = ""


# (role, evaluation row of seqsch.lab.result_files.perception_rows, predictor): one per role
MAIN_ROLES = (
    ("the paper's module", "lora", "LoRA (bucket median)"),
    ("length", "length-head", "length head (layer 15)"),
    ("order", "rank-head", "rank head (layer 25)"),
    ("perception only", "query", "zero-shot length query"),
    ("baseline", "constant", "the train median (the cap)"),
    ("noise floor", "noise-floor", "one sampled answer predicting another*"),
)
LEARNED = ("lora", "length-head", "rank-head")
PAPER_ROLE, PAPER_PREDICTOR = "reference", "the paper's module on Vicuna-7B (Alpaca)"
NOISE_FLOOR_NOTE = ("* the noise floor is scored against another sampled answer of the same "
                    "prompt (every pair of the four), not against the longest of them")
MAIN_COLUMNS = (
    Column("error", "error", ".1f", LONGEST), Column("acc50", "Acc-50", ".1%", LONGEST),
    Column("acc100", "Acc-100", ".1%", LONGEST), Column("kendall_tau", "tau", ".2f", LONGEST),
    Column("tau_greedy_cap", "tau", ".2f", GREEDY_AT_CAP),
    Column("order_gain_cap", "order gain", ".2f", GREEDY_AT_CAP),
    Column("ms", "ms/prompt", ".0f"),
)


def main_rows(data_dir: Path = DATA_DIR) -> list[dict]:
    """The main table of the embedded model's perception: one row per role of `MAIN_ROLES`
    (its metrics against the longest of four, its order of the greedy answers at ORDER_CAP, its
    cost, and how many answers held no number), then the paper's module as reported (its three
    metrics only). Each row's `label` is "role: predictor"."""
    scored = perception_rows(data_dir)
    rows = []
    for role, name, predictor in MAIN_ROLES:
        s = scored[name]
        rows.append({"role": role, "name": name, "predictor": predictor,
                     "label": f"{role}: {predictor}",
                     **{c.key: s.get(c.key) for c in MAIN_COLUMNS},
                     "ms": 1000 * s["predict_s"] if s.get("predict_s") else None,
                     "num_missing": s.get("num_missing", 0), "num_prompts": s["num_prompts"]})
    rows.append({"role": PAPER_ROLE, "name": "paper", "predictor": PAPER_PREDICTOR,
                 "label": f"{PAPER_ROLE}: {PAPER_PREDICTOR}", **PAPER_MODULE_ACCURACY})
    return rows


def text_table(rows: Sequence[dict], columns: Sequence[Column], label_header: str = "",
               label_key: str = "label") -> str:
    """Rows as a fixed-width text table: the label left, one column per `Column` (a missing or
    None value as "-"), and above the headers each run of columns' shared target, drawn across
    those columns so that the reader sees which target each number is scored against."""
    if not rows or not columns:
        raise ValueError("a table needs at least one row and one column")
    width = max(len(label_header), *(len(str(row[label_key])) for row in rows)) + 2
    cells = [[("-" if row.get(c.key) is None else format(row[c.key], c.fmt)) for c in columns]
             for row in rows]
    widths = [max(len(c.header), *(len(line[k]) for line in cells)) + 2
              for k, c in enumerate(columns)]
    groups: list[tuple[str, list[int]]] = []  # (target, indices of its run of columns)
    for k, column in enumerate(columns):
        if groups and groups[-1][0] == column.target:
            groups[-1][1].append(k)
        else:
            groups.append((column.target, [k]))
    lines = []
    if any(target for target, _ in groups):  # "  --- target ---" over its columns
        for target, indices in groups:  # a long target widens its run's columns evenly
            extra = len(target) + 8 - sum(widths[k] for k in indices) if target else 0
            for step in range(max(0, extra)):
                widths[indices[step % len(indices)]] += 1
        spans = [(target, sum(widths[k] for k in indices)) for target, indices in groups]
        lines.append(" " * width + "".join(f"  {' ' + target + ' ':-^{w - 2}}" if target
                                           else " " * w for target, w in spans).rstrip())
    lines.append(f"{label_header:<{width}}" + "".join(f"{c.header:>{w}}"
                                                      for c, w in zip(columns, widths)))
    lines += [f"{str(row[label_key]):<{width}}" + "".join(f"{cell:>{w}}"
                                                          for cell, w in zip(line, widths))
              for row, line in zip(rows, cells)]
    return "\n".join(lines)


RECORDED_COLUMNS = (
    Column("kendall_tau_vs_recorded", "tau", ".3f", RECORDED),
    Column("order_gain_16_slots", "order gain", ".2f", RECORDED),
    Column("error_vs_recorded", "error", ".0f", RECORDED),
    Column("ms_per_prompt", "ms/prompt", ".2f"),
    Column("flops_share_7b", "of a 7B request", ".2%"),
)


def recorded_rows(data_dir: Path = DATA_DIR) -> list[dict]:
    """Every source scored once on the recorded-lengths test split (its tau, order gain and
    error against the recorded lengths, its cost), then the published rankers' tau (another
    model's lengths on ShareGPT: anchors, not rows of this test)."""
    evaluation = json.loads((data_dir / DEFAULT_RECORDED_EVAL.name).read_text())
    rows = [{"name": name, "label": SOURCE_LABELS.get(name, name), **scores}
            for name, scores in evaluation["sources"].items()]
    rows += [{"name": "anchor", "label": f"anchor: {label}", "kendall_tau_vs_recorded": tau}
             for label, tau in RECORDED_RANKER_ANCHORS.items()]
    return rows


def recorded_summary(data_dir: Path = DATA_DIR) -> dict:
    """What the recorded-lengths table claims: the recorded head's tau and order gain against
    the published ranker's tau (the target), prompt-length order's tau, the test split's size,
    and the choice made by cross-validation on the train split."""
    evaluation = json.loads((data_dir / DEFAULT_RECORDED_EVAL.name).read_text())
    selection = json.loads((data_dir / DEFAULT_RECORDED_HEAD.name / "selection.json").read_text())
    head = evaluation["sources"][RECORDED_HEAD_SOURCE]
    target = TARGETS["kendall_tau_vs_recorded"]
    return {"num_test": len(evaluation["ids"]), "tau": head["kendall_tau_vs_recorded"],
            "order_gain": head["order_gain_16_slots"], "ms": head["ms_per_prompt"],
            "flops_share": head["flops_share_7b"], "target_tau": target,
            "gap": target - head["kendall_tau_vs_recorded"],
            "prompt_length_tau": evaluation["sources"]["prompt-length"]["kendall_tau_vs_recorded"],
            "chosen": selection["chosen"], "num_train": selection["num_records"],
            "rule": selection["rule"]}


ORDER_COLUMNS = (Column("kendall_tau", "tau", ".2f", GREEDY_AT_CAP),
                 Column("order_gain", "order gain", ".2f", GREEDY_AT_CAP))
CEILING_PREDICTORS = {"rank-head": "rank head (layer 25), from the prompt",
                      "length-head": "length head (layer 15), from the prompt",
                      "lora": "LoRA module (bucket median), from the prompt"}


def order_ceiling(lengths: Path, data_dir: Path = DATA_DIR) -> tuple[list[dict], dict]:
    """How well each shipped predictor orders the validation prompts' greedy answers at
    ORDER_CAP, beside how well the model's own answer sampled at each temperature orders them
    (a second run of the model: a prompt-only predictor can hardly know the greedy answer
    better). Returns the rows and {ceiling, temperature, rank_head, share}: the best sampled
    tau, at which temperature, the rank head's tau and its share of that ceiling."""
    scored = perception_rows(data_dir)
    rows = [{"label": label, "kendall_tau": scored[name]["tau_greedy_cap"],
             "order_gain": scored[name]["order_gain_cap"]}
            for name, label in CEILING_PREDICTORS.items()]
    sampled = sampled_answer_order(lengths, cap=ORDER_CAP)
    rows += [{"label": f"the model's own answer sampled at temperature {t}", **s}
             for t, s in sampled.items()]
    best = max(sampled, key=lambda t: sampled[t]["kendall_tau"])
    ceiling, rank = sampled[best]["kendall_tau"], scored["rank-head"]["tau_greedy_cap"]
    return rows, {"ceiling": ceiling, "temperature": best, "rank_head": rank,
                  "share": rank / ceiling}


# the curve's settings: (key of a quality_curve row, label)
CURVE_SETTINGS = (("static_sort_share", "static sort"), ("vbs_fcr_share", "bin + VBS + FCR"),
                  ("order_gain", "continuous order"))


def curve_rows(curves: dict[str, list[dict]]) -> list[dict]:
    """The curves of `seqsch.lab.recorded_results.recorded_curves` side by side: one row per
    target tau, one column per workload and setting (keys "<workload>|<setting key>")."""
    by_tau: dict[float, dict] = {}
    for workload, rows in curves.items():
        for row in rows:
            line = by_tau.setdefault(row["target_tau"], {"label": f"tau {row['target_tau']:.2f}"})
            line.update({f"{workload}|{key}": row[key] for key, _ in CURVE_SETTINGS})
    return [by_tau[tau] for tau in sorted(by_tau)]


def curve_columns(curves: dict[str, list[dict]]) -> tuple[Column, ...]:
    """The columns of `curve_rows`: each workload's settings under its name."""
    return tuple(Column(f"{workload}|{key}", label, ".0%" if key != "order_gain" else ".2f",
                        workload)
                 for workload in curves for key, label in CURVE_SETTINGS)


def half_gain_taus(curves: dict[str, list[dict]]) -> dict[str, dict[str, float | None]]:
    """{workload: {setting label: the lowest tau that keeps half the oracle's gain}}, read off
    the noisy rows only (sigma > 0): between the noisiest-but-one row and the oracle's own tau 1
    the curve is not measured, so a setting that needs more than the highest noisy row is None
    there (`highest_noisy_tau` says how high that row is)."""
    return {workload: {label: tau_for_share([row for row in rows if row["sigma"] > 0], key, 0.5)
                       for key, label in CURVE_SETTINGS}
            for workload, rows in curves.items()}


def highest_noisy_tau(rows: Sequence[dict]) -> float:
    """The highest achieved tau of a curve's noisy rows (sigma > 0)."""
    return max(row["kendall_tau"] for row in rows if row["sigma"] > 0)


TITLE_PHRASES = {"continuous order": "in a continuous order", "static sort": "in a static sort",
                 "bin + VBS + FCR": "with bins + VBS + FCR"}  # the title's order


def curve_title(curves: dict[str, list[dict]]) -> str:
    """The quality figure's title: per workload, the tau each setting needs to keep half the
    oracle's gain (the figure's conclusion, computed from its curves)."""
    lines = []
    for workload, taus in half_gain_taus(curves).items():
        above = f"above {highest_noisy_tau(curves[workload]):.2f}"
        needed = [f"{above if taus[label] is None else format(taus[label], '.2f')} {phrase}"
                  for label, phrase in TITLE_PHRASES.items()]
        lines.append(f"Half the oracle's gain needs tau {', '.join(needed)} ({workload})")
    return "\n".join(lines)


PLACED_COLUMNS = (Column("kendall_tau", "tau", ".2f"),
                  Column("static_sort_share", "static sort", ".0%"),
                  Column("vbs_fcr_share", "bin + VBS + FCR", ".0%"),
                  Column("vbs_fcr_failure_ratio", "FCR recomputes", ".0%"),
                  Column("order_gain", "continuous order", ".2f"))
