"""Tests of seqsch.bench.report: the table's ratios and the figure, from a JSONL record."""

import json

import pytest

from seqsch.bench import report
from seqsch.bench.__main__ import main
from seqsch.bench.records import load_records, load_rounds
from seqsch.core.paths import DATA_DIR
from seqsch.core.verdicts import direction
from seqsch.engines.results import GenerationRun, RequestResult


def _record(spec: str, engine: str, samples_per_s: float, mean_completion_s: float,
            prediction_s: float = 0.0, mean_completion_steps: float | None = None) -> dict:
    summary = {"samples_per_s": samples_per_s, "tokens_per_s": 10.0, "avg_length": None,
               "effective_token_ratio": None, "failure_ratio": 0.0,
               "mean_completion_s": mean_completion_s}
    if mean_completion_steps is not None:
        summary["mean_completion_steps"] = mean_completion_steps
    return {"spec": spec, "environment": {"engine": engine},
            "extra": {"prediction_s": prediction_s}, "summary": summary}


def test_ratios_are_against_vanilla_and_the_same_engines_first_come_run(tmp_path, monkeypatch,
                                                                        capsys):
    path = tmp_path / "bench.jsonl"
    records = [_record("vanilla", "static", 0.25, 300.0), _record("vllm", "vllm", 1.0, 60.0),
               _record("vllm+oracle", "vllm", 1.0, 45.0),
               _record("vllm+rank-head", "vllm", 1.0, 57.0, 9.0)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    monkeypatch.setenv("SEQSCH_FIGURES", str(tmp_path))
    main(["report", str(path), "--markdown", str(tmp_path / "t.md"), "--figure", "bench"])
    rows = {row[0]: row for row in report.table_rows(load_records(path))}
    speedup, done_ratio = report.HEADER.index("x vanilla"), report.HEADER.index(
        "done x first come")
    assert rows["vllm+oracle"][speedup] == "4.00" and rows["vllm+oracle"][done_ratio] == "0.75"
    assert rows["vanilla"][done_ratio] == "1.00"
    # the prediction pass delays every request; without it, the order alone bought 20%
    order_only = report.HEADER.index("order only x first come")
    head = rows["vllm+rank-head"]
    assert head[done_ratio] == "0.95" and head[order_only] == "0.80"
    assert rows["vllm+rank-head"][report.HEADER.index("predict s")] == "9.0"
    assert "| vllm+oracle |" in (tmp_path / "t.md").read_text()
    assert (tmp_path / "bench.png").stat().st_size > 0


def test_the_step_clock_compares_orders_without_the_machines_noise(tmp_path):
    # Two rounds with the same orders: the machine slowed in the second round's probe run, which
    # moves the seconds but not the engine steps each request waited.
    path = tmp_path / "bench.jsonl"
    rounds = [[_record("vllm", "vllm", 1.0, 60.0, mean_completion_steps=200.0),
               _record("vllm+rank-head", "vllm", 1.0, 51.0, 3.0, mean_completion_steps=160.0)],
              [_record("vllm", "vllm", 1.0, 60.0, mean_completion_steps=200.0),
               _record("vllm+rank-head", "vllm", 0.8, 63.0, 3.0, mean_completion_steps=160.0)]]
    lines = [dict(record, repeat=k) for k, one in enumerate(rounds) for record in one]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    probe = {row[0]: row for row in report.table_rows(load_rounds(path))}["vllm+rank-head"]
    assert probe[report.HEADER.index("done x first come")] == "0.95 (0.85-1.05)"
    assert probe[report.HEADER.index("order only, steps")] == "0.80"
    # the 3 s prediction pass at first come's pace: 3 / 60 = 0.05 more
    assert probe[report.HEADER.index("done, steps + predict")] == "0.85 (0.85-0.85)"
    medians = report.median_values(load_rounds(path))["vllm+rank-head"]  # the numbers behind it
    assert medians["done_steps_x_first_come"] == pytest.approx(0.85)
    assert medians["throughput_x_first_come"] == pytest.approx(0.9)  # rounds at 1.0 and 0.8
    # records without a step clock (static engines, older files) leave the cells empty
    static = report.table_rows({"vanilla": _record("vanilla", "static", 0.25, 300.0)})[0]
    assert static[report.HEADER.index("order only, steps")] == "-"


def test_a_run_summarises_the_step_clock_only_when_every_request_has_one():
    def run(steps):
        results = [RequestResult(id=str(i), text="", token_ids=[1], num_prompt_tokens=3,
                                 num_output_tokens=1, is_finished=True, is_capped=False,
                                 completion_s=1.0, completion_step=step)
                   for i, step in enumerate(steps)]
        return GenerationRun(results=results, batches=[], wall_s=2.0, engine="vllm",
                             device="cpu", dtype="float32", decoding={})

    assert run([3, 5, 10]).summary()["mean_completion_steps"] == 6.0
    assert "mean_completion_steps" not in run([3, None]).summary()  # e.g. a static engine's


def test_ratios_against_the_base_and_the_directions_they_share():
    summaries = {"vanilla": {"samples_per_s": 2.0, "mean_completion_s": 10.0,
                             "effective_token_ratio": 0.5},
                 "oracle": {"samples_per_s": 3.0, "mean_completion_s": 6.0,
                        "effective_token_ratio": 0.5},
                 "vllm": {"samples_per_s": 1.0, "mean_completion_s": 12.0,
                          "effective_token_ratio": None}}
    gt = report.against_base(summaries, "oracle")
    assert gt == {"throughput": 1.5, "completion": 0.6, "etr": 1.0}
    assert report.against_base(summaries, "absent") is None
    assert [direction(gt[m], report.RATIO_BAND) for m in gt] == ["rises", "falls", "flat"]
    vllm = report.against_base(summaries, "vllm")
    assert vllm["etr"] == 0 and report.same_direction(gt, vllm) == []
    assert report.same_direction(gt, {"throughput": 1.2, "completion": 0.9, "etr": 1.004}) == [
        "throughput", "completion", "etr"]


def test_print_table_leaves_out_a_column_empty_in_every_run(capsys):
    records = load_records(DATA_DIR / "benchmark-cpu-smollm2-sharegpt-sort-check.jsonl")
    report.print_table(records)
    header = capsys.readouterr().out.splitlines()[0]
    assert "samples/s" in header and "ETR" in header
    assert "steps" not in header  # static runs have no engine step clock
    assert all(title in report.HEADER for title in header.split("  ") if title.strip())
