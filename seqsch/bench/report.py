"""Benchmark reports: the environment a run saw, and tables of results beside the simulator's.

    python -m seqsch.bench report runs/benchmark.jsonl --markdown figures/benchmark.md
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from seqsch.core.device import versions
from seqsch.core.verdicts import direction

# (stable key, table header, format): a run's own numbers, as its summary names them ...
COLUMNS = (
    ("samples_per_s", "samples/s", ".3f"),
    ("tokens_per_s", "tok/s", ".1f"),
    ("avg_length", "avg len", ".0f"),
    ("effective_token_ratio", "ETR", ".1%"),
    ("failure_ratio", "fail", ".1%"),
    ("mean_completion_s", "mean done s", ".1f"),
)
# ... then its ratios against vanilla and against its engine's first-come run (`_row_values`).
# Code reads a value by its key (`median_values`); the header is for the reader only.
RATIO_COLUMNS = (
    ("x_vanilla", "x vanilla", ".2f"),
    ("throughput_x_first_come", "samples/s x first come", ".2f"),
    ("done_x_first_come", "done x first come", ".2f"),
    ("prediction_s", "predict s", ".1f"),
    ("order_x_first_come", "order only x first come", ".2f"),
    ("order_steps_x_first_come", "order only, steps", ".2f"),
    ("done_steps_x_first_come", "done, steps + predict", ".2f"),
    ("sim_samples_per_s", "sim samples/s", ".3f"),
)
KEYS = tuple(key for key, _, _ in COLUMNS + RATIO_COLUMNS)
HEADER = ["run"] + [label for _, label, _ in COLUMNS + RATIO_COLUMNS]
# with their min-max over rounds: throughput, completion, completion on the step clock + predict
RANGED_KEYS = ("throughput_x_first_come", "done_x_first_come", "done_steps_x_first_come")


def environment(run) -> dict:
    """Versions, device and dtype of a run: lengths differ between dtypes and engines."""
    return {"device": run.device, "dtype": run.dtype, "engine": run.engine,
            "decoding": run.decoding, **versions()}


def _cell(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


# Each engine's first-come run, which its length-aware runs are compared with.
FIRST_COME = {"static": "vanilla", "continuous": "continuous", "vllm": "vllm"}


def _first_come_summary(records: dict, record: dict) -> dict:
    engine = record.get("environment", {}).get("engine", "static")
    return records.get(FIRST_COME.get(engine, ""), {}).get("summary", {})


def _row_values(records: dict, record: dict) -> list[float | None]:
    """One spec's numbers within one round, in the order of KEYS."""
    summary, simulated = record["summary"], record.get("simulated") or {}
    base = records.get("vanilla", {}).get("summary", {}).get("samples_per_s")
    first_come = _first_come_summary(records, record)
    first_come_s, first_come_rate = (first_come.get("mean_completion_s"),
                                     first_come.get("samples_per_s"))
    done = summary.get("mean_completion_s")
    predict_s = record.get("extra", {}).get("prediction_s", 0.0)
    is_comparable = done is not None and bool(first_come_s)
    # On the engine's step clock (vLLM) an order costs the same however busy the machine is;
    # the prediction pass, which runs before the first step, is added at first come's pace.
    steps, first_come_steps = (summary.get("mean_completion_steps"),
                               first_come.get("mean_completion_steps"))
    order_steps = steps / first_come_steps if steps and first_come_steps else None
    return [summary.get(k) for k, _, _ in COLUMNS] + [
        summary["samples_per_s"] / base if base else None,
        summary["samples_per_s"] / first_come_rate if first_come_rate else None,
        done / first_come_s if is_comparable else None,
        predict_s,
        (done - predict_s) / first_come_s if is_comparable else None,
        order_steps,
        order_steps + predict_s / first_come_s if order_steps and first_come_s else None,
        simulated.get("samples_per_s")]


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _spec_names(rounds: Sequence[dict]) -> list[str]:
    return list(dict.fromkeys(name for one in rounds for name in one))


def _round_values(records: dict | Sequence[dict]) -> dict[str, list[list[float | None]]]:
    """{spec: one list of numbers per round that ran it}, in the order of KEYS."""
    rounds = [records] if isinstance(records, dict) else list(records)
    return {name: [_row_values(one, one[name]) for one in rounds if name in one]
            for name in _spec_names(rounds)}


def median_values(records: dict | Sequence[dict]) -> dict[str, dict[str, float | None]]:
    """{spec: {key of KEYS: the median over rounds}}: the numbers behind `table_rows`."""
    return {name: dict(zip(KEYS, (_median(list(column)) for column in zip(*values))))
            for name, values in _round_values(records).items()}


def table_rows(records: dict | Sequence[dict]) -> list[list[str]]:
    """One row per spec: measured metrics, speed-up over vanilla, throughput and mean completion
    time over the same engine's first-come run (as measured, which includes the prediction pass that
    delays every request, and without it: what the order alone bought), the same two on the
    engine's step clock where it has one (vLLM: free of the machine's timing noise), simulated
    samples/s.

    `records` is one round ({spec: record}) or several (`load_rounds`, a sweep with
    `--repeats`): each ratio is taken within its round, against that round's runs, and a cell
    shows the median over rounds; the throughput, completion and step-clock completion ratios
    against first come add their range (min-max)."""
    formats = [f for _, _, f in COLUMNS + RATIO_COLUMNS]
    against_first_come = [KEYS.index(key) for key in RANGED_KEYS]
    rows = []
    for name, values in _round_values(records).items():
        cells = [_cell(_median(list(column)), f) for column, f in zip(zip(*values), formats)]
        for column in against_first_come:
            ratios = [v[column] for v in values if v[column] is not None]
            if len(ratios) > 1 and name not in FIRST_COME.values():
                cells[column] += f" ({min(ratios):.2f}-{max(ratios):.2f})"
        rows.append([name] + cells)
    return rows


def median_summaries(rounds: Sequence[dict]) -> dict[str, dict]:
    """{spec: summary} with each number the median over rounds (one round: as measured)."""
    summaries = {}
    for name in _spec_names(rounds):
        measured = [one[name]["summary"] for one in rounds if name in one]
        summaries[name] = {key: _median([m.get(key) for m in measured]) for key in measured[-1]}
    return summaries


def print_table(records: dict | Sequence[dict]) -> None:
    """The runs as an aligned text table; a column empty ('-') in every run is left out."""
    body = table_rows(records)
    kept = [i for i in range(len(HEADER)) if any(row[i] != "-" for row in body)]
    rows = [[row[i] for i in kept] for row in [HEADER] + body]
    widths = [max(len(r[i]) for r in rows) for i in range(len(kept))]
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))


def markdown_table(records: dict | Sequence[dict]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(records)]
    return "\n".join(lines) + "\n"


def describe_sweep(summary: dict, base: str = "vanilla") -> str:
    """One line per run spec: speed-up over `base`, ETR, failures, mean completion time."""
    base_rate = summary[base]["samples_per_s"] if base in summary else None
    lines = []
    for name, s in summary.items():
        speedup = s["samples_per_s"] / base_rate if base_rate else None
        lines.append(
            f"{name:>22}: {_cell(speedup, '.2f')}x {base}, {_cell(s['samples_per_s'], '.3f')} "
            f"samples/s, ETR {_cell(s.get('effective_token_ratio'), '.1%')}, failures "
            f"{_cell(s.get('failure_ratio'), '.1%')}, mean completion "
            f"{_cell(s.get('mean_completion_s'), '.1f')} s")
    return "\n".join(lines)


RATIO_METRICS = ("throughput", "completion", "etr")
RATIO_BAND = 0.005  # a ratio against the base within half a percent of 1 counts as no move


def against_base(summaries: dict[str, dict], name: str,
                 base: str = "vanilla") -> dict[str, float] | None:
    """Run `name`'s throughput, mean completion and ETR as ratios of `base`'s (None when
    `name` was not run); an engine without ETR counts it as 0."""
    run, reference = summaries.get(name), summaries[base]
    if run is None:
        return None
    return {"throughput": run["samples_per_s"] / reference["samples_per_s"],
            "completion": run["mean_completion_s"] / reference["mean_completion_s"],
            "etr": (run.get("effective_token_ratio") or 0)
            / (reference.get("effective_token_ratio") or 1)}


def same_direction(ratios: dict[str, float], others: dict[str, float]) -> list[str]:
    """The metrics of RATIO_METRICS on which two runs' ratios moved the same way."""
    return [m for m in RATIO_METRICS
            if direction(ratios[m], RATIO_BAND) == direction(others[m], RATIO_BAND)]
