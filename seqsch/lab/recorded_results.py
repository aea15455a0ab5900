"""The results page's section on recorded lengths: predictors, their curve and the paper's table.

Read from the committed files of data/: the recorded-lengths workload
(`lengths-sharegpt-recorded.jsonl`), the head chosen on its train split with its selection and
learning curve (`probe-sharegpt-recorded/`), and the one scoring of every source on the test
split (`perception-eval-recorded.json`). Targets and anchors are stated beside the numbers.

    curves, placed = recorded_curves()
    quality_curve_figure(curves, placed)   # seqsch.lab.quality_plots
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from seqsch.bench.paper_table import markdown, replay_table
from seqsch.bench.quality_curve import (
    QualityCurveConfig,
    place_predictor,
    quality_curve,
    tau_for_share,
)
from seqsch.bench.recorded_table import a100_cost_model, recorded_table
from seqsch.bench.records import load_records
from seqsch.bench.replay import paper_workload
from seqsch.core.anchors import RECORDED_RANKER_ANCHORS
from seqsch.core.paths import (
    DATA_DIR,
    DEFAULT_RECORDED,
    DEFAULT_RECORDED_EVAL,
    DEFAULT_RECORDED_HEAD,
)
from seqsch.core.recorded import (
    SPLITS,
    read_evaluation,
    read_recorded_file,
)
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.lab.upper_bound_results import VAL_COMMAND, VAL_EVAL, upper_bound_markdown

TARGETS = {"kendall_tau_vs_recorded": 0.52, "order_gain_16_slots": 0.65}
# trained on the recorded lengths
LEARNED_SOURCES = (RECORDED_HEAD_SOURCE, "text-ridge", "lora-recorded")
SOURCE_LABELS = {RECORDED_HEAD_SOURCE: "recorded head (hidden states + text, chosen on train)",
                 "text-ridge": "text only (words + prompt length, ridge)",
                 "prompt-length": "prompt length (every engine's SJF proposal)",
                 "query": "zero-shot length query (the paper's perception, untuned)",
                 "lora-recorded": "LoRA length module (the paper's, tuned on 2,560 train "
                                  "prompts' recorded buckets)"}


def workload_summary(path: Path = DEFAULT_RECORDED) -> dict:
    records = read_recorded_file(path)
    lengths = sorted(r.num_output_tokens for r in records)
    return {"num_records": len(records),
            "splits": {s: sum(r.split == s for r in records) for s in SPLITS},
            "mean": statistics.fmean(lengths), "median": statistics.median(lengths),
            "p90": lengths[int(0.9 * (len(lengths) - 1))],
            "share_over_512": sum(n > 512 for n in lengths) / len(lengths)}


def perception_table(data_dir: Path = DATA_DIR) -> str:
    evaluation = json.loads((data_dir / DEFAULT_RECORDED_EVAL.name).read_text())
    lines = [f"| source ({evaluation['split']} split, {len(evaluation['ids'])} prompts) | "
             "Kendall's tau | pairs <200 vs >800 | order gain, 16 slots | error | Acc-50 | "
             "Acc-100 | ms per prompt | share of a 7B request's FLOPs |", "|" + "---|" * 9]
    for name, s in evaluation["sources"].items():
        lines.append(
            f"| {SOURCE_LABELS.get(name, name)} | {s['kendall_tau_vs_recorded']:.3f} | "
            f"{s['pair_accuracy_200_800']:.1%} | {s['order_gain_16_slots']:.2f} | "
            f"{s['error_vs_recorded']:.0f} | {s['acc50_vs_recorded']:.1%} | "
            f"{s['acc100_vs_recorded']:.1%} | {s['ms_per_prompt']:.2f} | "
            f"{s['flops_share_7b']:.2%} |")
    for label, tau in RECORDED_RANKER_ANCHORS.items():
        lines.append(f"| *{label}* | *{tau:.2f}* | - | - | - | - | - | - | - |")
    return "\n".join(lines) + "\n"


def selection_table(data_dir: Path = DATA_DIR) -> str:
    head = data_dir / DEFAULT_RECORDED_HEAD.name
    selection = json.loads((head / "selection.json").read_text())
    curve = json.loads((head / "learning-curve.json").read_text())["points"]
    chosen = selection["chosen"]
    lines = ["| depth | loss | text weight | cross-validated tau | +- | order gain | |",
             "|---|---|---|---|---|---|---|"]
    for c in sorted(selection["candidates"], key=lambda c: -c["cv_kendall_tau"])[:8]:
        mark = "chosen" if c == chosen else "best" if c == selection["best"] else ""
        lines.append(f"| {c['depth']} | {c['target']} | {c['text_weight']:.2f} | "
                     f"{c['cv_kendall_tau']:.3f} | {c['cv_tau_se']:.3f} | "
                     f"{c['cv_order_gain']:.2f} | {mark} |")
    lines += ["", "| train prompts per fold | cross-validated tau |", "|---|---|"]
    lines += [f"| {p['num_train']:,} | {p['cv_kendall_tau']:.3f} |" for p in curve]
    return "\n".join(lines) + "\n"


CURVE_TAUS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
RECORDED_CURVE = "ShareGPT recorded (test)"
PAPER_CURVE = "paper's Vicuna-7B"
SHORT_LABELS = {RECORDED_HEAD_SOURCE: "recorded head", "text-ridge": "text only",
                "prompt-length": "prompt length", "query": "zero-shot query",
                "lora-recorded": "LoRA module"}


def recorded_curves(data_dir: Path = DATA_DIR, config: QualityCurveConfig | None = None,
                    ) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    """What a tau buys on the recorded test lengths and on the paper's Vicuna-7B lengths (static
    sort, bin + VBS + FCR, continuous order), and every scored source placed on the first."""
    evaluation, prompts = read_evaluation(data_dir / DEFAULT_RECORDED_EVAL.name)
    true = evaluation["recorded_lengths"]
    # the A100 model calibrated on the paper's vanilla row, as the paper's table on these
    # lengths uses it (`seqsch.bench.recorded_table`)
    config = config or QualityCurveConfig(taus=CURVE_TAUS, cost_model=a100_cost_model())
    curves = {RECORDED_CURVE: quality_curve(true, config, prompts),
              PAPER_CURVE: quality_curve(paper_workload().true_lengths, config)}
    placed = {SHORT_LABELS.get(name, name): place_predictor(true, s["predictions"], config,
                                                            prompts)
              for name, s in evaluation["sources"].items()}
    return curves, placed


def curve_table(curves: dict[str, list[dict]], placed: dict[str, dict]) -> str:
    """The curves as a table, each workload's tau for half the oracle's gain, the sources."""
    lines = ["| workload | tau | static sort: share of the oracle's gain | bin + VBS + FCR | "
             "continuous order gain |", "|---|---|---|---|---|"]
    rows = [(name, row) for name, rows in curves.items() for row in rows]
    rows += [(f"**{name}** (real predictions)", row) for name, row in placed.items()]
    for name, row in rows:
        cells = ["-" if row.get(k) is None else f"{row[k]:.0%}"
                 for k in ("static_sort_share", "vbs_fcr_share")]
        lines.append(f"| {name} | {row['kendall_tau']:.2f} | {cells[0]} | {cells[1]} | "
                     f"{row['order_gain']:.2f} |")
    lines.append("")
    for name, rows in curves.items():
        static, order = (tau_for_share(rows, key, 0.5) for key in ("static_sort_share",
                                                                     "order_gain"))
        lines.append(f"- {name}: half the oracle's static sort gain needs tau "
                     f"{'-' if static is None else format(static, '.2f')}; half its order "
                     f"gain needs {'-' if order is None else format(order, '.2f')}.")
    return "\n".join(lines) + "\n"


def table_markdown(data_dir: Path = DATA_DIR) -> str:
    table = recorded_table(data_dir / DEFAULT_RECORDED_EVAL.name)
    lines = [f"| schedule ({table['num_requests']} test prompts, A100 model) | samples/s | "
             "x vanilla | ETR | FCR ratio |", "|---|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['samples_per_s']:.2f} | {r['x_vanilla']:.2f} | "
              f"{r['effective_token_ratio']:.1%} | {r['failure_ratio']:.1%} |"
              for r in table["rows"]]
    return "\n".join(lines) + "\n"


REPLAY_FILE = DATA_DIR / "replay-cpu-recorded.jsonl"  # the table by trace replay on 2 cores
REPLAY_LABELS = {"vanilla": "vanilla", RECORDED_HEAD_SOURCE: "recorded head sort",
                 f"{RECORDED_HEAD_SOURCE}+vbs+fcr": "recorded head + VBS + FCR",
                 "oracle+vbs+fcr": "oracle + VBS + FCR", "oracle": "oracle sort"}
REPLAY_KEYS = ("label", "samples_per_s", "x_vanilla", "sim_samples_per_s", "sim_gap",
               "sim_x_vanilla", "effective_token_ratio", "avg_length", "failure_ratio")
MAX_SIM_GAP = 0.10  # the simulator's target: within 10% of every measured row


def replay_rows(data_dir: Path = DATA_DIR) -> list[dict] | None:
    """The recorded-lengths table measured by trace replay (`replay_table` rows, labelled),
    each with the seconds its predictions cost; None when the file is not there."""
    path = data_dir / REPLAY_FILE.name
    if not path.is_file():
        return None
    records = load_records(path)
    rows = replay_table(records)
    for row in rows:
        row["label"] = REPLAY_LABELS.get(row["spec"], row["spec"])
        row["prediction_s"] = records[row["spec"]]["extra"].get("prediction_s", 0.0)
        row["cost_model"] = records[row["spec"]].get("cost_model")  # the vanilla row's fit
    order = list(REPLAY_LABELS)  # the paper's order: vanilla, learned, oracle
    return sorted(rows, key=lambda row: order.index(row["spec"]) if row["spec"] in order
                  else len(order))


def replay_markdown(rows: list[dict]) -> str:
    """The replay's table and the verdicts its targets ask for."""
    by_spec = {row["spec"]: row for row in rows}
    worst = max(abs(row["sim_gap"]) for row in rows if row["sim_gap"] is not None)
    learned = by_spec.get(RECORDED_HEAD_SOURCE)
    fit = by_spec["vanilla"]["cost_model"] or {}
    missed = [row["label"] for row in rows if abs(row["sim_gap"] or 0) > MAX_SIM_GAP]
    verdict = (f"The simulator lands within {worst:.1%} of every measured row (target "
               f"{MAX_SIM_GAP:.0%}: {'met' if worst <= MAX_SIM_GAP else 'missed'}).")
    if missed and fit:
        verdict += (f" It prices {', '.join(missed)} too fast: its step cost, fitted to "
                    f"vanilla's 16-row steps and a few calibration batches, is a line whose "
                    f"fixed parts come out negative ({fit['step_fixed_s']:+.2f} s a step, "
                    f"{fit['prefill_fixed_s']:+.1f} s a prefill), so the short-context steps "
                    "these schedules are made of are priced below their cost (our reading, "
                    "not yet measured step by step).")
    if learned:
        verdict += (f" The recorded head's sort, its {learned['prediction_s']:.0f} s of "
                    f"prediction counted, runs {learned['x_vanilla']:.2f}x vanilla "
                    f"({'faster' if learned['x_vanilla'] > 1 else 'not faster'}).")
    return markdown(rows, REPLAY_KEYS) + "\n" + verdict + "\n"


def recorded_numbers(data_dir: Path = DATA_DIR) -> dict[str, float]:
    """The README's numbers on recorded lengths, each from its data file."""
    evaluation = json.loads((data_dir / DEFAULT_RECORDED_EVAL.name).read_text())
    head = evaluation["sources"][RECORDED_HEAD_SOURCE]
    table = recorded_table(data_dir / DEFAULT_RECORDED_EVAL.name)
    rows = {row["label"]: row for row in table["rows"]}
    curves, _ = recorded_curves(data_dir)
    replayed = {row["spec"]: row for row in replay_rows(data_dir) or []}
    return {
        "recorded_num_test": len(evaluation["ids"]),
        "recorded_tau": head["kendall_tau_vs_recorded"],
        "recorded_order_gain": head["order_gain_16_slots"],
        "recorded_ms": head["ms_per_prompt"],
        "recorded_flops_share": head["flops_share_7b"],
        "recorded_sort_x": rows["recorded-head sort"]["x_vanilla"],
        "recorded_oracle_sort_x": rows["oracle sort"]["x_vanilla"],
        "recorded_prompt_sort_x": rows["prompt-length sort"]["x_vanilla"],
        "recorded_static_half_tau": tau_for_share(curves[RECORDED_CURVE], "static_sort_share"),
        "recorded_order_half_tau": tau_for_share(curves[RECORDED_CURVE], "order_gain"),
        **{f"recorded_replay_{key}_x": replayed[spec]["x_vanilla"]
           for key, spec in (("sort", RECORDED_HEAD_SOURCE), ("oracle_sort", "oracle"))},
    }


def recorded_section(data_dir: Path = DATA_DIR) -> tuple[str, str, str, str, str]:
    """The results page's section 7: (title, what, data, command, tables)."""
    workload = workload_summary(data_dir / DEFAULT_RECORDED.name)
    evaluation = json.loads((data_dir / DEFAULT_RECORDED_EVAL.name).read_text())
    head = evaluation["sources"][RECORDED_HEAD_SOURCE]
    curves, placed = recorded_curves(data_dir)
    met = {key: head[key] >= aim for key, aim in TARGETS.items()}
    baseline = evaluation["sources"]["prompt-length"]["kendall_tau_vs_recorded"]
    beaten = all(evaluation["sources"][name]["kendall_tau_vs_recorded"] > baseline
                 for name in LEARNED_SOURCES)
    what = (
        f"ShareGPT's reference answers as vLLM's serving benchmark replays them: "
        f"{workload['num_records']:,} first chunks pass its filter (answers: mean "
        f"{workload['mean']:.0f} tokens, median {workload['median']:.0f}, 90th percentile "
        f"{workload['p90']}, {workload['share_over_512']:.0%} over 512), split by id into "
        f"{workload['splits']['train']:,} train, {workload['splits']['val']:,} validation and "
        f"{workload['splits']['test']:,} test prompts. Every choice (depth, loss, the text "
        "model's weight in the blend) was made by 5-fold cross-validation on train, the "
        "shallowest candidate within one standard error of the best; each source was scored "
        "once on the test split (first table), and no choice was made on it. The paper's LoRA "
        "module was tuned with the project's LoRA settings, unchanged, on the recorded buckets "
        "of the first 2,560 train prompts (one epoch: what half an hour of 2 cores buys). "
        "Targets: Kendall's "
        "tau >= "
        f"{TARGETS['kendall_tau_vs_recorded']} (the published fine-tuned 125M ranker), "
        f"{'met' if met['kendall_tau_vs_recorded'] else 'missed'} at "
        f"{head['kendall_tau_vs_recorded']:.3f}; order gain >= "
        f"{TARGETS['order_gain_16_slots']}, {'met' if met['order_gain_16_slots'] else 'missed'} "
        f"at {head['order_gain_16_slots']:.2f}; every learned source beats prompt-length order: "
        f"{'yes' if beaten else 'no'}. Then the cross-validation and the learning curve, what "
        "a tau buys (simulated: cap 512, batch 16, groups of 256, the analytic A100 model "
        "calibrated on the paper's vanilla row; "
        "static shares of the oracle's gain over vanilla, continuous order gain over first "
        "come, with each source placed at its measured tau), and the paper's table on the test "
        "split (the A100 model calibrated on the paper's vanilla row). Notebook 03 draws it.")
    command = ("python -m seqsch.bench lengths recorded --out build/lengths-sharegpt-recorded"
               ".jsonl\npython -m seqsch.perception recorded-train --out build/recorded-head   "
               "# about 30 minutes, features included\npython -m seqsch.perception "
               "recorded-train-lora --num-train 2560 --out build/lora-sharegpt-recorded   # 30 "
               "minutes\npython -m seqsch.perception "
               "recorded-eval --head build/recorded-head \\\n    --out build/perception-eval-"
               "recorded.json\npython -m seqsch.bench recorded-table --eval build/perception-"
               "eval-recorded.json")
    data = (f"`data/{DEFAULT_RECORDED.name}`, `data/{DEFAULT_RECORDED_HEAD.name}/` (with "
            f"`selection.json`, `learning-curve.json`), `data/lora-sharegpt-recorded/`, "
            f"`data/{DEFAULT_RECORDED_EVAL.name}`")
    tables = (perception_table(data_dir) + "\n" + selection_table(data_dir) + "\n"
              + curve_table(curves, placed) + "\n" + table_markdown(data_dir))
    bound = upper_bound_markdown(data_dir)
    if bound is not None:
        tables += "\n" + bound
        what += (" Then the conservative bound FCR wants: the recorded head's predictions scaled "
                 "by a quantile of true over predicted, the quantile chosen on the validation "
                 "split (the fastest bin + VBS + FCR there), then applied to test once.")
        data += f", `data/{VAL_EVAL.name}`"
        command += "\n" + VAL_COMMAND
    replayed = replay_rows(data_dir)
    if replayed is not None:
        tables += "\n" + replay_markdown(replayed)
        what += (" Last, the same table measured by trace replay on 2 CPU cores (the first 256 "
                 "test prompts, random weights of the embedded model's shape in bf16, the "
                 "head's prediction time counted), the simulator's prediction beside each row.")
        data += f", `data/{REPLAY_FILE.name}`"
        command += ("\npython -m seqsch.bench sweep --replay sharegpt-recorded --model "
                    "random:smollm2-135m --dtype bf16 \\\n    --num-data 256 --group-size 256 "
                    "--specs vanilla recorded-head oracle recorded-head+vbs+fcr oracle+vbs+fcr "
                    "\\\n    --out build/replay-cpu-recorded.jsonl   # about 100 minutes on 2 "
                    "cores")
    return ("7. Recorded lengths: a small model that ranks a large model's answers", what,
            data, command, tables)
