"""Benchmark reports: the environment a run saw, and tables of results beside the simulator's.

    python -m seqsch.report runs/benchmark.jsonl --markdown figures/benchmark.md
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

COLUMNS = (
    ("samples_per_s", "samples/s", ".3f"),
    ("tokens_per_s", "tok/s", ".1f"),
    ("avg_length", "avg len", ".0f"),
    ("effective_token_ratio", "ETR", ".1%"),
    ("failure_ratio", "fail", ".1%"),
    ("mean_completion_s", "mean done s", ".1f"),
)


def versions() -> dict:
    """Versions of the packages that change numbers, for every saved result."""
    import torch
    import transformers

    import seqsch

    return {"seqsch": seqsch.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version(),
            "machine": platform.machine(), "num_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def environment(run) -> dict:
    """Versions, device and dtype of a run: lengths differ between dtypes and engines."""
    return {"device": run.device, "dtype": run.dtype, "engine": run.engine,
            "decoding": run.decoding, **versions()}


def _cell(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


# Each engine's first-come run, which its length-aware runs are compared with.
FIRST_COME = {"static": "vanilla", "continuous": "continuous", "vllm": "vllm"}


def _first_come_completion(records: dict, record: dict) -> float | None:
    engine = record.get("environment", {}).get("engine", "static")
    base = records.get(FIRST_COME.get(engine, ""), {})
    return base.get("summary", {}).get("mean_completion_s")


def table_rows(records: dict) -> list[list[str]]:
    """One row per spec: measured metrics, speed-up over vanilla, mean completion time over
    the same engine's first-come run (as measured, which includes the prediction pass that
    delays every request, and without it: what the order alone bought), simulated samples/s."""
    base = records.get("vanilla", {}).get("summary", {}).get("samples_per_s")
    rows = []
    for name, record in records.items():
        summary, simulated = record["summary"], record.get("simulated") or {}
        speedup = summary["samples_per_s"] / base if base else None
        first_come_s = _first_come_completion(records, record)
        done = summary.get("mean_completion_s")
        done_ratio = done / first_come_s if done is not None and first_come_s else None
        predict_s = record.get("extra", {}).get("prediction_s", 0.0)
        order_ratio = ((done - predict_s) / first_come_s if done is not None and first_come_s
                       else None)
        rows.append([name] + [_cell(summary.get(k), f) for k, _, f in COLUMNS]
                    + [_cell(speedup, ".2f"), _cell(done_ratio, ".2f"), _cell(predict_s, ".1f"),
                       _cell(order_ratio, ".2f"), _cell(simulated.get("samples_per_s"), ".3f")])
    return rows


HEADER = (["run"] + [label for _, label, _ in COLUMNS]
          + ["x vanilla", "done x first come", "predict s", "order only x first come",
             "sim samples/s"])


def print_table(records: dict) -> None:
    rows = [HEADER] + table_rows(records)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))


def markdown_table(records: dict) -> str:
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


def load_records(path: Path) -> dict:
    """The last record of each spec in a benchmark JSONL file."""
    records = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            records[record["spec"]] = record
    return records


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Tabulate a benchmark JSONL record.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--markdown", type=Path, help="also write a markdown table here")
    parser.add_argument("--figure", help="also save a bar chart as figures/NAME.png")
    parser.add_argument("--title", default="Benchmark", help="the figure's title")
    args = parser.parse_args(argv)
    records = load_records(args.path)
    print_table(records)
    if args.markdown:
        args.markdown.write_text(markdown_table(records))
    if args.figure:
        from seqsch.plots import benchmark_chart, save_figure

        summaries = {name: record["summary"] for name, record in records.items()}
        print(f"saved {save_figure(benchmark_chart(summaries, args.title), args.figure)}")


if __name__ == "__main__":
    main()
