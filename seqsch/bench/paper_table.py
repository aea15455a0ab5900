"""The paper's table beside ours: its workload simulated, or replayed on real hardware.

The paper measured four rows on one A100 (Vicuna-7B, 1,024 Alpaca prompts in groups of 256,
batch 16, cap 512). `simulate_paper_table` runs the same schedules on the same lengths
(`seqsch.bench.replay`) through the simulator, with a GPU cost model whose fixed cost per step is
calibrated on the paper's vanilla row only, and states each gap. `replay_table` reads a replay
sweep (`python -m seqsch.bench sweep --replay paper-val ...`) and puts every measured row beside
the simulator's prediction for it and the paper's ratio. `fit_step_cost` answers what step
cost would reproduce two measured rows at once: the investigation of a gap.

    python -m seqsch.bench paper-table                              # simulated, printed
    python -m seqsch.bench paper-table --replay data/replay-cpu-smollm2-135m.jsonl --markdown out.md
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from seqsch.bench.replay import (
    PAPER_BATCH_SIZE,
    PAPER_GROUP_SIZE,
    PAPER_MAX_NEW_TOKENS,
    PAPER_NUM_DATA,
    PAPER_PROMPT_TOKENS,
    PAPER_ROWS,
    ReplayWorkload,
    paper_workload,
)
from seqsch.bench.specs import RunSpec
from seqsch.core.cli import positive_int
from seqsch.core.config_args import arg
from seqsch.scheduling.cost_model import CostModel, load_cost_model
from seqsch.scheduling.simulate import calibrate_fixed_cost, simulate

# The paper's rows and the oracle sort without VBS/FCR, in the order of its table.
PAPER_SPECS = ("vanilla", "standin", "standin+vbs+fcr", "oracle+vbs+fcr", "oracle")
LABELS = {"vanilla": "vanilla", "standin": "stand-in for the tuned module",
          "standin+vbs+fcr": "stand-in + VBS + FCR", "oracle+vbs+fcr": "oracle + VBS + FCR",
          "oracle": "oracle sort (no VBS, no FCR)"}


@dataclass
class PaperTableConfig:
    """The simulated table's settings: the paper's workload and schedules by default. The fields
    are `python -m seqsch.bench paper-table`'s options."""

    cost_model: str = field(default="a100-80gb-vicuna7b", metadata=arg(
        "a cost model's name or JSON path (default: the analytic A100 model, its fixed cost "
        "calibrated)"))
    calibrate_to: float | None = field(default=PAPER_ROWS["vanilla"]["samples_per_s"],
                                       metadata=arg("the vanilla row's samples/s that the fixed "
                                                    "step cost is calibrated to (the paper's)"))
    num_data: int = field(default=PAPER_NUM_DATA, metadata=arg("prompts of the paper's sample",
                                                               type=positive_int))
    group_size: int | None = field(default=PAPER_GROUP_SIZE, metadata=arg(
        "schedule consecutive groups of this many prompts apart", type=positive_int))
    batch_size: int = field(default=PAPER_BATCH_SIZE, metadata=arg("rows per batch",
                                                                   type=positive_int))
    bin_size: int = field(default=50, metadata=arg("VBS bucket width in tokens",
                                                   type=positive_int))
    max_new_tokens: int = field(default=PAPER_MAX_NEW_TOKENS, metadata=arg(
        "answers' cap", type=positive_int))
    prompt_tokens: int = field(default=PAPER_PROMPT_TOKENS, metadata=arg(
        "each prompt's assumed length (the paper's file has none)", type=positive_int))

    def __post_init__(self) -> None:
        if self.calibrate_to is not None and self.calibrate_to <= 0:
            raise ValueError(f"calibrate_to must be a positive rate, got {self.calibrate_to}")
        for name in ("num_data", "batch_size", "bin_size", "max_new_tokens", "prompt_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def _predictions(spec: RunSpec, workload: ReplayWorkload) -> list | None:
    return {"vanilla": None, "oracle": workload.oracle, "standin": workload.standin}[spec.source]


def simulate_rows(workload: ReplayWorkload, cost_model: CostModel,
                  config: PaperTableConfig) -> dict[str, dict]:
    """The simulator's summary of each paper spec on `workload` with `cost_model`."""
    rows = {}
    for name in PAPER_SPECS:
        spec = RunSpec.parse(name)
        scheduler = spec.scheduler(config.batch_size, config.max_new_tokens, config.bin_size,
                                   config.group_size)
        predicted = _predictions(spec, workload) or [None] * len(workload.requests)
        rows[name] = simulate(workload.true_lengths, predicted, scheduler, cost_model,
                              [len(p) for p in workload.prompts]).summary
    return rows


def paper_cost_model(workload: ReplayWorkload, config: PaperTableConfig) -> CostModel:
    """`config.cost_model`, its fixed step cost calibrated on the paper's vanilla row."""
    model = load_cost_model(config.cost_model)
    if config.calibrate_to is None:
        return model
    scheduler = RunSpec().scheduler(config.batch_size, config.max_new_tokens, config.bin_size,
                                    config.group_size)
    return calibrate_fixed_cost(model, workload.true_lengths, scheduler, config.calibrate_to,
                                [len(p) for p in workload.prompts])


def _ratio(row: dict, base: dict) -> float:
    return row["samples_per_s"] / base["samples_per_s"]


def simulate_paper_table(config: PaperTableConfig | None = None) -> dict:
    """The paper's rows simulated beside its measurements: per spec the simulated samples/s, its
    ratio to vanilla, ETR, average padded length, failure ratio, the paper's values and the gap
    of the simulated ratio to the paper's (None where the paper has no row)."""
    config = config or PaperTableConfig()
    workload = paper_workload(config.num_data, prompt_tokens=config.prompt_tokens)
    cost_model = paper_cost_model(workload, config)
    simulated = simulate_rows(workload, cost_model, config)
    paper_base = PAPER_ROWS["vanilla"]["samples_per_s"]
    rows = []
    for name, summary in simulated.items():
        paper = PAPER_ROWS.get(name, {})
        ratio = _ratio(summary, simulated["vanilla"])
        paper_ratio = paper["samples_per_s"] / paper_base if paper else None
        rows.append({
            "spec": name, "label": LABELS[name], "samples_per_s": summary["samples_per_s"],
            "x_vanilla": ratio, "effective_token_ratio": summary["effective_token_ratio"],
            "avg_length": summary["avg_length"], "failure_ratio": summary["failure_ratio"],
            "paper_samples_per_s": paper.get("samples_per_s"),
            "paper_x_vanilla": paper_ratio,
            "paper_effective_token_ratio": paper.get("effective_token_ratio"),
            "paper_avg_length": paper.get("avg_length"),
            "gap": ratio / paper_ratio - 1 if paper_ratio else None,
        })
    return {"config": asdict(config), "cost_model": asdict(cost_model), "rows": rows}


def fit_step_cost(workload: ReplayWorkload, base: CostModel, config: PaperTableConfig,
                  targets: dict[str, float]) -> CostModel:
    """The fixed and per-row step costs (the rest of `base` kept) under which the simulator
    reproduces two measured rates, e.g. the paper's vanilla and oracle + VBS + FCR rows: how
    much a step must cost per row for the measured ratio to come out."""
    if len(targets) != 2:
        raise ValueError(f"fit_step_cost solves for two costs: give two rows, got {list(targets)}")

    def wall_s(fixed_s: float, per_row_s: float) -> dict[str, float]:
        model = replace(base, step_fixed_s=fixed_s, prefill_fixed_s=fixed_s,
                        step_per_row_s=per_row_s)
        rows = simulate_rows(workload, model, config)
        return {name: rows[name]["wall_s"] for name in targets}

    zero, fixed, per_row = wall_s(0, 0), wall_s(1, 0), wall_s(0, 1)  # wall time is linear
    matrix = [[fixed[n] - zero[n], per_row[n] - zero[n]] for n in targets]
    wanted = [len(workload.requests) / rate - zero[n] for n, rate in targets.items()]
    fixed_s, per_row_s = np.linalg.solve(matrix, wanted).tolist()
    return replace(base, name=f"{base.name}-fit", step_fixed_s=fixed_s, prefill_fixed_s=fixed_s,
                   step_per_row_s=per_row_s,
                   source=f"fixed and per-row step cost fitted to {targets}")


def replay_table(records: dict[str, dict]) -> list[dict]:
    """One row per spec of a replay sweep ({spec: record}, `seqsch.bench.records.load_records`):
    measured samples/s and ratio to vanilla, the simulator's prediction and its gap to the
    measurement, ETR, average padded length, failure ratio, and the paper's ratio."""
    base = records["vanilla"]["summary"]["samples_per_s"]
    sim_base = (records["vanilla"].get("simulated") or {}).get("samples_per_s")
    paper_base = PAPER_ROWS["vanilla"]["samples_per_s"]
    rows = []
    for name in [n for n in PAPER_SPECS if n in records] + [n for n in records
                                                              if n not in PAPER_SPECS]:
        summary, simulated = records[name]["summary"], records[name].get("simulated") or {}
        sim_rate = simulated.get("samples_per_s")
        paper = PAPER_ROWS.get(name, {})
        rows.append({
            "spec": name, "label": LABELS.get(name, name),
            "samples_per_s": summary["samples_per_s"],
            "x_vanilla": summary["samples_per_s"] / base,
            "sim_samples_per_s": sim_rate,
            "sim_gap": sim_rate / summary["samples_per_s"] - 1 if sim_rate else None,
            "sim_x_vanilla": sim_rate / sim_base if sim_rate and sim_base else None,
            "effective_token_ratio": summary["effective_token_ratio"],
            "avg_length": summary["avg_length"], "failure_ratio": summary["failure_ratio"],
            "paper_x_vanilla": paper["samples_per_s"] / paper_base if paper else None,
        })
    return rows


COLUMNS = {  # key: (header, format)
    "label": ("run", "s"), "samples_per_s": ("samples/s", ".3f"),
    "x_vanilla": ("x vanilla", ".2f"), "sim_samples_per_s": ("simulated samples/s", ".3f"),
    "sim_gap": ("simulated vs measured", "+.1%"),
    "sim_x_vanilla": ("simulated x vanilla", ".2f"), "effective_token_ratio": ("ETR", ".1%"),
    "avg_length": ("avg padded length", ".0f"), "failure_ratio": ("FCR ratio", ".1%"),
    "paper_samples_per_s": ("paper samples/s", ".2f"),
    "paper_x_vanilla": ("paper x vanilla", ".2f"),
    "paper_effective_token_ratio": ("paper ETR", ".1%"),
    "paper_avg_length": ("paper avg length", ".0f"),
    "gap": ("simulated x vs paper x", "+.1%"),
}


def markdown(rows: list[dict], keys: tuple[str, ...]) -> str:
    """A markdown table of `rows` with the columns `keys` (of COLUMNS); '-' where empty."""
    lines = ["| " + " | ".join(COLUMNS[k][0] for k in keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = ["-" if row.get(k) is None else format(row[k], COLUMNS[k][1]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


SIMULATED_KEYS = ("label", "samples_per_s", "x_vanilla", "paper_samples_per_s", "paper_x_vanilla",
                  "gap", "effective_token_ratio", "paper_effective_token_ratio", "avg_length",
                  "paper_avg_length", "failure_ratio")
SIMULATED_SERIES = {"x_vanilla": "simulated (A100 model, calibrated on vanilla)",
                    "paper_x_vanilla": "paper, measured (A100)"}
REPLAY_SERIES = {"x_vanilla": "measured here (replay)", "sim_x_vanilla": "simulated here",
                 "paper_x_vanilla": "paper, measured (A100)"}
REPLAY_KEYS = ("label", "samples_per_s", "x_vanilla", "sim_samples_per_s", "sim_gap",
               "effective_token_ratio", "avg_length", "failure_ratio", "paper_x_vanilla")
