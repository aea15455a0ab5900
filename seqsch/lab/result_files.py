"""The canonical result files of data/ and what the results page reads from each.

Shared by the results page (`seqsch.lab.results`) and the perception scorecard
(`seqsch.lab.scorecard`): file names, the evaluations' rows, and the step clock of a vLLM sweep.
"""

from __future__ import annotations

import json
from pathlib import Path

from seqsch.bench.records import load_rounds
from seqsch.bench.report import median_values
from seqsch.core.length_records import read_length_file
from seqsch.core.paths import DATA_DIR, DEFAULT_LENGTHS, ROOT
from seqsch.core.sources import SOURCES, evaluation_files
from seqsch.perception.evaluation import fill_missing, kendall_tau
from seqsch.scheduling.priority import order_gain

RESULTS_PAGE = ROOT / "docs" / "results.md"
REPLAY_FILE = DATA_DIR / "replay-cpu-smollm2-135m.jsonl"
STATIC_FILE = DATA_DIR / "benchmark-cpu-smollm2-sharegpt.jsonl"
SORT_FILE = DATA_DIR / "benchmark-cpu-smollm2-sharegpt-sort-check.jsonl"
# vLLM, first come against the oracle's order and the shipped predictors' (the LoRA module's and
# the rank head's, data/probe-smollm2-rank): three rounds on the benchmark's prompts, one on a
# second workload drawn with --seed 1
VLLM_FILE = DATA_DIR / "benchmark-cpu-smollm2-sharegpt-vllm.jsonl"
VLLM_ORDERS = {"vllm": "first come", "vllm+oracle": "the oracle's order",
               "vllm+lora": "the LoRA module's order", "vllm+rank-head": "the rank head's order"}
STEP_FILES = {
    "benchmark's prompts": VLLM_FILE,
    "second workload (--seed 1)": DATA_DIR / "benchmark-cpu-smollm2-sharegpt-vllm-seed1.jsonl",
}
# Rows beside a source's own evaluation: another decoding, a retired head, the train mean, and
# the noise floor. {row: (after which source, perception-eval-<file>.json, field, label)}
EVALUATION_VARIANTS = {
    "lora-generate": ("lora", "lora-generate", "summary",
                      "LoRA module, greedy answer (the paper's decoding)"),
    "priority-head-l4": ("length-head", "priority-head-l4", "summary",
                         "priority head, layer 4 of 30 (trained on greedy lengths at cap 256; "
                         "reported, not shipped)"),
    "constant-mean": ("constant", "constant", "train_mean_baseline", "constant: the train mean"),
    "noise-floor": (None, "noise-floor", "summary",
                    "noise floor (one sample predicting another)"),
}


def evaluations(lengths: Path = DEFAULT_LENGTHS) -> dict[str, tuple[str, str, str]]:
    """The results page's perception rows: {row: (perception-eval-<file>.json, its field
    holding the summary, what was evaluated)}: every registered source (seqsch.core.sources)
    whose evaluation file scores the prompts of `lengths`, each followed by its variants."""
    rows = {}
    for name, path in evaluation_files(lengths).items():
        rows[name] = (path.stem.removeprefix("perception-eval-"), "summary", SOURCES[name].label)
        rows.update({variant: (file, field, label) for variant, (after, file, field, label)
                     in EVALUATION_VARIANTS.items() if after == name})
    rows.update({variant: (file, field, label) for variant, (after, file, field, label)
                 in EVALUATION_VARIANTS.items() if after is None})
    return rows


ORDER_CAP = 256  # the benchmarks' cap: the greedy lengths an order is scored against


def order_scores(predictions: list[dict], lengths: Path) -> dict[str, float]:
    """Kendall's tau and the 16-slot order gain of `predictions` (an eval file's list) against
    the same prompts' greedy lengths censored at ORDER_CAP: what a greedy workload at the
    benchmarks' cap is ordered by."""
    records = {r.id: r for r in read_length_file(lengths)}
    try:
        greedy = [min(records[p["id"]].greedy_length, ORDER_CAP) for p in predictions]
    except KeyError as error:
        raise ValueError(f"{lengths}: no record {error} of the evaluation") from None
    predicted = fill_missing([p["pred"] for p in predictions])
    return {"tau_greedy_cap": kendall_tau(predicted, greedy),
            "order_gain_cap": order_gain(predicted, greedy)}


def read_evaluation(data_dir: Path, file: str, field: str = "summary") -> tuple[dict, dict]:
    """(the whole of data_dir/perception-eval-<file>.json, a copy of its `field`); a ValueError
    naming the file and field when either is missing or unreadable."""
    path = data_dir / f"perception-eval-{file}.json"
    try:
        saved = json.loads(path.read_text())
        return saved, dict(saved[field])
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: no readable {field!r} ({error})") from None


def perception_rows(data_dir: Path = DATA_DIR) -> dict[str, dict]:
    """{evaluation name: its summary, with its order scores at ORDER_CAP where the file holds
    predictions} for every shipped evaluation file."""
    rows = {}
    for name, (file, field, _) in evaluations().items():
        saved, rows[name] = read_evaluation(data_dir, file, field)
        if field == "summary" and saved.get("predictions"):
            rows[name].update(order_scores(saved["predictions"], ROOT / saved["lengths"]))
    return rows


def step_clock(path: Path) -> dict[str, dict[str, float]]:
    """Per spec of a vLLM sweep with the engine's step clock: mean completion step over first
    come's (`order_steps`, the same in every round), plus the prediction pass at first come's
    pace (`done_steps`), and throughput over first come's; each a ratio within its round, the
    median over rounds (`seqsch.bench.report`, whose table shows the same numbers)."""
    rounds = load_rounds(path)
    return {name: {"order_steps": values["order_steps_x_first_come"],
                   "throughput": values["throughput_x_first_come"],
                   "done_steps": values["done_steps_x_first_come"],
                   "predict_s": values["prediction_s"],
                   "num_rounds": sum(name in one for one in rounds)}
            for name, values in median_values(rounds).items()}
