"""The results page (docs/results.md) and the README's headline numbers, read from data/.

Every table on the page is computed here from a canonical file of data/ (data/MANIFEST.md lists
them), never typed by hand, and names the file and the command that measured it. The README
quotes five headline numbers; `headline_numbers` computes them from the same files and a test
checks that the README's text still says what the data says.

    python -m seqsch.lab --results          # rewrite docs/results.md (instant, no model)
"""

from __future__ import annotations

from pathlib import Path

from seqsch.bench.lengths import summarize_lengths
from seqsch.bench.paper_table import (
    REPLAY_KEYS,
    SIMULATED_KEYS,
    PaperTableConfig,
    markdown,
    replay_table,
    simulate_paper_table,
)
from seqsch.bench.records import load_records, load_rounds
from seqsch.bench.report import markdown_table
from seqsch.core.length_records import read_length_file
from seqsch.core.paper import PAPER_MODULE_ACCURACY
from seqsch.core.paths import DATA_DIR, DEFAULT_LENGTHS
from seqsch.lab.recorded_results import recorded_numbers, recorded_section
from seqsch.lab.result_files import (
    ORDER_CAP,
    REPLAY_FILE,
    RESULTS_PAGE,
    SORT_FILE,
    STATIC_FILE,
    STEP_FILES,
    VLLM_FILE,
    VLLM_ORDERS,
    evaluations,
    perception_rows,
    step_clock,
)
from seqsch.lab.scorecard import anchors_table, ceiling_table, targets_table
from seqsch.lab.serving_results import measured_serving_section, serving_section


def headline_numbers(data_dir: Path = DATA_DIR) -> dict[str, float]:
    """The README's headline numbers, each computed from its data file."""
    replay = {row["spec"]: row for row in replay_table(load_records(
        data_dir / REPLAY_FILE.name))}
    static = load_records(data_dir / STATIC_FILE.name)
    sort_check = load_records(data_dir / SORT_FILE.name)
    perception = perception_rows(data_dir)
    steps = {label: step_clock(data_dir / path.name) for label, path in STEP_FILES.items()}
    first, second = steps.values()

    def speedup(records: dict, name: str) -> float:
        return records[name]["summary"]["samples_per_s"] / records["vanilla"]["summary"][
            "samples_per_s"]

    return {
        "replay_oracle_x": replay["oracle+vbs+fcr"]["x_vanilla"],
        "replay_sort_x": replay["oracle"]["x_vanilla"],
        "replay_standin_x": replay["standin+vbs+fcr"]["x_vanilla"],
        "replay_max_sim_gap": max(abs(r["sim_gap"]) for r in replay.values()),
        "replay_vanilla_etr": replay["vanilla"]["effective_token_ratio"],
        "static_oracle_x": speedup(static, "oracle+vbs+fcr"),
        "static_sort_x": speedup(sort_check, "oracle"),
        "static_vanilla_etr": static["vanilla"]["summary"]["effective_token_ratio"],
        "head_error": perception["length-head"]["error"],
        "head_acc100": perception["length-head"]["acc100"],
        "lora_error": perception["lora"]["error"],
        "rank_tau": perception["rank-head"]["tau_greedy_cap"],
        "rank_order_gain": perception["rank-head"]["order_gain_cap"],
        "head_ms": 1000 * perception["length-head"]["predict_s"],
        "lora_ms": 1000 * perception["lora"]["predict_s"],
        "vllm_oracle_steps": first["vllm+oracle"]["order_steps"],
        "vllm_oracle_throughput": first["vllm+oracle"]["throughput"],
        "vllm_oracle_steps_second": second["vllm+oracle"]["order_steps"],
        "vllm_rank_order_steps": first["vllm+rank-head"]["order_steps"],
        "vllm_rank_order_steps_second": second["vllm+rank-head"]["order_steps"],
        "vllm_rank_steps": first["vllm+rank-head"]["done_steps"],
        "vllm_rank_steps_second": second["vllm+rank-head"]["done_steps"],
        "vllm_rank_predict_s": first["vllm+rank-head"]["predict_s"],
        "vllm_rank_predict_s_second": second["vllm+rank-head"]["predict_s"],
        **recorded_numbers(data_dir),
    }


def _cell(summary: dict, key: str, spec: str) -> str:
    return "-" if summary.get(key) is None else format(summary[key], spec)


def _perception_table(data_dir: Path) -> str:
    header = ("| predictor (200 validation prompts) | error (tokens) | Acc-50 | Acc-100 | "
              f"Kendall's tau | tau vs greedy at {ORDER_CAP} | order gain at {ORDER_CAP} | "
              "ms per prompt |")
    lines = [header, "|" + "---|" * 8]
    labels = {name: label for name, (_, _, label) in evaluations().items()}
    for name, s in perception_rows(data_dir).items():
        cells = [_cell(s, key, spec) for key, spec in (
            ("error", ".1f"), ("acc50", ".1%"), ("acc100", ".1%"), ("kendall_tau", ".2f"),
            ("tau_greedy_cap", ".2f"), ("order_gain_cap", ".2f"))]
        lines.append(f"| {labels[name]} | {' | '.join(cells)} | "
                     f"{1000 * (s.get('predict_s') or 0):.0f} |")
    paper = PAPER_MODULE_ACCURACY
    lines.append(f"| *the paper: tuned Vicuna-7B on Alpaca* | *{paper['error']:.0f}* | "
                 f"*{paper['acc50']:.0%}* | *{paper['acc100']:.0%}* | - | - | - | - |")
    return "\n".join(lines) + "\n"


def _step_table(data_dir: Path) -> str:
    lines = ["| workload | order | rounds | order only, steps | predict s | "
             "done, steps + predict | throughput |", "|---|---|---|---|---|---|---|"]
    for label, path in STEP_FILES.items():
        for name, row in step_clock(data_dir / path.name).items():
            lines.append(f"| {label} | {VLLM_ORDERS.get(name, name)} | {row['num_rounds']} | "
                         f"{row['order_steps']:.2f} | {row['predict_s']:.1f} | "
                         f"{row['done_steps']:.2f} | {row['throughput']:.2f} |")
    return "\n".join(lines) + "\n"


def _section(title: str, what: str, data: str, command: str, table: str) -> str:
    return (f"## {title}\n\n{what}\n\n- data: {data}\n- measured by:\n\n```bash\n{command}\n```\n\n"
            f"{table}\n")


def results_page(data_dir: Path = DATA_DIR) -> str:
    """The results page's markdown: one section per claim, each with its file and command."""
    numbers = headline_numbers(data_dir)
    simulated = simulate_paper_table(PaperTableConfig())["rows"]
    replay = replay_table(load_records(data_dir / REPLAY_FILE.name))
    capped = summarize_lengths([r for r in read_length_file(data_dir / DEFAULT_LENGTHS.name)
                                if r.split == "train"])
    sections = [
        _section(
            "1. The paper's table, simulated",
            "The paper's own workload (its Vicuna-7B lengths, its 1,024-prompt sample in groups "
            "of 256, batch 16, cap 512) through seqsch's scheduler and simulator, priced by the "
            "analytic A100 model whose fixed step cost is calibrated on the paper's vanilla row "
            "only. Notebook 07 draws it.",
            "`data/paper/alpaca-val-10k-length.json`",
            "python -m seqsch.bench paper-table",
            markdown(simulated, SIMULATED_KEYS)),
        _section(
            "2. The paper's lengths replayed on 2 CPU cores",
            "Trace replay: every answer forced to Vicuna-7B's greedy length, the embedded "
            "model's shape with random weights, the first group of 256 prompts, all rows in one "
            "process. Beside each row, the simulator's prediction from a cost model fitted to "
            f"the vanilla run: every row within {numbers['replay_max_sim_gap']:.0%}. Notebook 07 "
            "draws it.",
            "`data/replay-cpu-smollm2-135m.jsonl`",
            "python -m seqsch.bench sweep --replay paper-val --model random:smollm2-135m "
            "--dtype float32 \\\n    --num-data 256 --group-size 256 --specs vanilla standin "
            "standin+vbs+fcr oracle+vbs+fcr oracle \\\n"
            "    --out build/replay-cpu-smollm2-135m.jsonl   "
            "# about 85 minutes",
            markdown(replay, REPLAY_KEYS)),
        _section(
            "3. Length perception: 200 validation prompts",
            "Error, Acc-50 and Acc-100 as the paper computes them, against the longest of four "
            "sampled answers (cap 512); Kendall's tau against the same, and against the greedy "
            "length censored at 256 (what a greedy workload at the benchmarks' cap is ordered "
            "by); order gain: the share of the oracle's cut in mean completion time that a "
            "16-slot continuous replay in the predicted order recovers (0: first come, 1: the "
            "oracle). A constant's order is first come. Notebooks 03 and 06 draw it.",
            "`data/perception-eval-*.json` (every prediction), predictors in "
            "`data/lora-smollm2-length/`, `data/probe-smollm2-length/`, "
            "`data/probe-smollm2-rank/`",
            "python -m seqsch.perception eval --predictor lora "
            "--out build/perception-eval-lora.json\n"
            "# likewise --predictor length-head | rank-head | query | constant | noise-floor, "
            "--lora-decode generate\n# (data/README.md lists each, the layer-4 head's training "
            "too)",
            _perception_table(data_dir)),
        _section(
            "4. Static scheduling on the embedded model: 128 ShareGPT prompts",
            "Greedy at most 256 new tokens, batch 16, fp32 on 2 cores, every spec back to back "
            "in one process; `oracle` is the first-come run's own lengths. The cap censors the "
            f"workload: vanilla's ETR is already {numbers['static_vanilla_etr']:.1%}. Sorting "
            "without VBS or FCR was measured against its own vanilla in a second process (second "
            "table). The learned rows (`lora`: the LoRA module read by its greedy answer; "
            "`length-head`; `query`: the zero-shot query) used predictors trained on the first "
            "105 prompts "
            "of the length file, before the shipped ones (section 3), and these 128 prompts "
            "have since joined the train split (the command now picks the 128 that follow the "
            "length file's 1,000); the other rows need no predictor. Notebook 05 shows it "
            "beside a live run.",
            "`data/benchmark-cpu-smollm2-sharegpt.jsonl`, "
            "`data/benchmark-cpu-smollm2-sharegpt-sort-check.jsonl`",
            ".venv-vllm/bin/python -m seqsch.bench sweep --data sharegpt --num-data 128 "
            "--max-new-tokens 256 \\\n    --batch-size 16 --specs vanilla oracle+vbs+fcr "
            "lora+vbs+fcr length-head+vbs+fcr query+vbs+fcr \\\n    continuous continuous+oracle "
            "vllm vllm+oracle vllm+lora vllm+length-head --out build/benchmark.jsonl\n"
            "python -m seqsch.bench sweep "
            "--data sharegpt --num-data 128 --max-new-tokens 256 --specs vanilla oracle \\\n"
            "    --out build/sort-check.jsonl",
            markdown_table(load_rounds(data_dir / STATIC_FILE.name)) + "\n"
            + markdown_table(load_rounds(data_dir / SORT_FILE.name))),
        _section(
            "5. Order under continuous batching: vLLM, 128 unseen prompts",
            "First come against shortest-first by the oracle, the LoRA module and the rank head "
            "(`vllm+rank-head`, the shipped priority predictor), 16 concurrent requests; every "
            "prediction is made before serving, so its time delays every request. Three rounds "
            "on the benchmark's prompts in seconds (first table, medians and ranges), then "
            "vLLM's step clock, which is the same for the same order however busy the machine, "
            "on those prompts and on a second workload (second table; the prediction pass is "
            "counted at first come's pace, seconds as medians of each round's ratios). "
            "Notebook 06 draws it.",
            f"`data/{VLLM_FILE.name}`, `data/{STEP_FILES['second workload (--seed 1)'].name}`",
            "B=\".venv-vllm/bin/python -m seqsch.bench sweep --data sharegpt --num-data 128 "
            "--max-new-tokens 256 --batch-size 16\"\n"
            "$B --repeats 3 --specs vllm vllm+oracle vllm+lora vllm+rank-head "
            "--out build/vllm.jsonl"
            "   # about 35 minutes\n"
            "$B --seed 1 --specs vllm vllm+oracle vllm+rank-head --out build/vllm-seed1.jsonl",
            markdown_table(load_rounds(data_dir / VLLM_FILE.name)) + "\n"
            + _step_table(data_dir)),
        _section(
            "6. Length perception against its targets",
            "Each target beside what was measured and by how much it was missed (first table). "
            "The paper's module, retrained on the greedy answer's bucket at cap 512 "
            f"({capped['greedy_capped_share']:.0%} of the train answers reach that cap, against "
            f"{capped['any_capped_share']:.0%} of the longest of four), is scored "
            "against that label beside the median constant of the same label. Then how far an "
            "order read from the prompt can go here: the model's own sampled answers used as "
            "priorities for its greedy answers, and the rank head's learning curve "
            "(cross-validated on the train split, the same held-out folds, each fold's head "
            "trained on fewer prompts). Last, public anchors measured on other models and "
            "workloads.",
            "`data/perception-eval-lora-greedy.json`, `data/perception-eval-constant-greedy.json`"
            ", `data/probe-smollm2-rank/learning-curve.json`, the files of sections 3 and 5",
            "python -m seqsch.perception train --predictor lora --length-target greedy "
            "--num-epochs 2 \\\n    --batch-size 1 --grad-accum-steps 8 --learning-rate 5e-4 "
            "--out build/lora-greedy   # about 35 minutes\n"
            "python -m seqsch.perception eval --predictor lora --adapter build/lora-greedy "
            "--length-target greedy \\\n    --out build/perception-eval-lora-greedy.json\n"
            "python -m seqsch.perception eval --predictor constant --length-target greedy \\\n"
            "    --out build/perception-eval-constant-greedy.json\n"
            "python -m seqsch.perception select --depths 25 --targets rank --length-targets mean "
            "\\\n    --max-length 256 --train-sizes 80 160 320 640 "
            "--out build/learning-curve.json",
            targets_table(data_dir) + "\n" + ceiling_table(data_dir) + "\n"
            + anchors_table()),
        _section(*recorded_section(data_dir)),
        _section(*serving_section(data_dir)),
        _section(*measured_serving_section(data_dir)),
    ]
    intro = ("# Results\n\nGenerated by `python -m seqsch.lab --results` (part of `make figures`) "
             "from the canonical files of `data/` ([`data/MANIFEST.md`](../data/MANIFEST.md)); "
             "do not edit by hand. Each section names its file and the command that measured it "
             "(commands write under `build/`; a shipped file is refreshed only by naming it in "
             "`--out`). How the project got here: [`docs/log.md`](log.md).\n\n")
    return intro + "\n".join(sections)


def write_results_page(path: Path = RESULTS_PAGE, data_dir: Path = DATA_DIR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(results_page(data_dir), encoding="utf-8")
    return path
