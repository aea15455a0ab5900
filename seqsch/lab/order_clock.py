"""Notebook 06's committed vLLM runs on the engine's step clock, and in seconds.

A shared CPU's speed drifts by more than an order gains, but vLLM's scheduler is deterministic:
the same order of the same requests takes the same engine steps, so the step clock compares
orders without noise, while the seconds add each learned order's prediction pass. The committed
sweeps (`python -m seqsch.bench sweep --specs vllm vllm+oracle ...`) hold both; `committed_clock`
reads each order's ratios against first come (the median over rounds, within each round), and
the text and figure helpers say what they show. The live slice's verdicts read the same numbers:

    clock = committed_clock({"workload seed 0": path0, "workload seed 1": path1}, path0)
    print(clock_text(clock))
    clock["steps"][clock["reference"]]["vllm+oracle"]   # e.g. 0.70
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seqsch.bench.records import load_rounds
from seqsch.bench.report import median_values

ORDER_LABELS = {"vllm+oracle": "oracle order", "vllm+rank-head": "rank head order",
                "vllm+lora": "LoRA order"}
FIRST_COME = "vllm"


def committed_clock(step_files: Mapping[str, Path], seconds_file: Path,
                    labels: Mapping[str, str] = ORDER_LABELS) -> dict:
    """Per workload of `step_files` (label -> sweep file) and order of `labels`: its mean
    completion on the step clock (`steps`) and its throughput in total steps (`total_steps`),
    each over first come's; from `seconds_file`'s rounds, mean completion and throughput in
    seconds with the prediction (`seconds_done`, `seconds_rate`), the prediction's seconds
    (`predict_s`), the specs measured (`seconds_specs`) and `num_rounds`. `reference` is the
    first workload, the one the live slice is set beside."""
    if not step_files:
        raise ValueError("give at least one sweep file on the step clock")
    steps, total_steps = {}, {}
    for workload, path in step_files.items():
        rounds = load_rounds(path)
        medians, first = median_values(rounds), rounds[0]
        steps[workload] = {spec: medians[spec]["order_steps_x_first_come"]
                           for spec in labels if spec in medians}
        total_steps[workload] = {
            spec: first[FIRST_COME]["extra"]["num_steps"] / first[spec]["extra"]["num_steps"]
            for spec in labels if spec in first}
    seconds_rounds = load_rounds(seconds_file)
    seconds = median_values(seconds_rounds)  # within each round, the median over rounds
    return {"labels": dict(labels), "steps": steps, "total_steps": total_steps,
            "reference": next(iter(step_files)), "num_rounds": len(seconds_rounds),
            "seconds_specs": sorted(seconds),
            "seconds_done": {spec: seconds[spec]["done_x_first_come"] for spec in labels},
            "seconds_rate": {spec: seconds[spec]["throughput_x_first_come"] for spec in labels},
            "predict_s": {spec: seconds[spec]["prediction_s"] for spec in labels}}


def clock_text(clock: dict) -> str:
    """One line per order: its ratios on each workload's step clock, then in seconds."""
    steps, lines = clock["steps"], []
    for spec, label in clock["labels"].items():
        cells = [f"{w}: steps {steps[w][spec]:.2f}x, throughput "
                 f"{clock['total_steps'][w][spec]:.2f}x" for w in steps if spec in steps[w]]
        cells.append(f"seconds: done {clock['seconds_done'][spec]:.2f}x with "
                     f"{clock['predict_s'][spec]:.1f} s of prediction, throughput "
                     f"{clock['seconds_rate'][spec]:.2f}x")
        lines.append(f"{label:>15}: " + "; ".join(cells))
    return "\n".join(lines)


def clock_rows(clock: dict) -> list[dict]:
    """The rows of `seqsch.lab.order_plots.ratio_panels`: per order, {done, rate} on each
    workload's step clock and in seconds (key "seconds")."""
    steps, total = clock["steps"], clock["total_steps"]
    return [{"label": label,
             **{w: {"done": steps[w][spec], "rate": total[w][spec]}
                for w in steps if spec in steps[w]},
             "seconds": {"done": clock["seconds_done"][spec],
                         "rate": clock["seconds_rate"][spec]}}
            for spec, label in clock["labels"].items()]


def clock_title(clock: dict) -> str:
    """The step clock figure's conclusion: the oracle's cut on the reference workload."""
    reference = clock["reference"]
    return (f"vLLM on a CPU, 128 prompts: the oracle's order cuts mean completion to "
            f"{clock['steps'][reference]['vllm+oracle']:.2f}x at "
            f"{clock['total_steps'][reference]['vllm+oracle']:.2f}x throughput (step clock)")


def clock_line(clock: dict, head: str = "vllm+rank-head") -> str:
    """The committed runs in the takeaway's words: the oracle's and the head's order on the step
    clock, the head's in seconds with its prediction."""
    steps = clock["steps"][clock["reference"]]
    return (f"vLLM step clock (CPU, 128 prompts): oracle {steps['vllm+oracle']:.2f}x mean "
            f"completion, rank head {steps[head]:.2f}x; with its {clock['predict_s'][head]:.1f} s "
            f"of prediction in seconds {clock['seconds_done'][head]:.2f}x")
