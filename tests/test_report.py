"""Tests of seqsch.report: the table's ratios and the benchmark figure, from a JSONL record."""

import json

from seqsch import report


def _record(spec: str, engine: str, samples_per_s: float, mean_completion_s: float,
            prediction_s: float = 0.0) -> dict:
    return {"spec": spec, "environment": {"engine": engine},
            "extra": {"prediction_s": prediction_s},
            "summary": {"samples_per_s": samples_per_s, "tokens_per_s": 10.0,
                        "avg_length": None, "effective_token_ratio": None,
                        "failure_ratio": 0.0, "mean_completion_s": mean_completion_s}}


def test_ratios_are_against_vanilla_and_the_same_engines_first_come_run(tmp_path, monkeypatch,
                                                                        capsys):
    path = tmp_path / "bench.jsonl"
    records = [_record("vanilla", "static", 0.25, 300.0), _record("vllm", "vllm", 1.0, 60.0),
               _record("vllm+gt", "vllm", 1.0, 45.0), _record("vllm+probe", "vllm", 1.0, 57.0, 9.0)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    monkeypatch.setenv("SEQSCH_FIGURES", str(tmp_path))
    report.main([str(path), "--markdown", str(tmp_path / "t.md"), "--figure", "bench"])
    rows = {row[0]: row for row in report.table_rows(report.load_records(path))}
    speedup, done_ratio = report.HEADER.index("x vanilla"), report.HEADER.index(
        "done x first come")
    assert rows["vllm+gt"][speedup] == "4.00" and rows["vllm+gt"][done_ratio] == "0.75"
    assert rows["vanilla"][done_ratio] == "1.00"
    # the prediction pass delays every request; without it, the order alone bought 20%
    order_only = report.HEADER.index("order only x first come")
    assert rows["vllm+probe"][done_ratio] == "0.95" and rows["vllm+probe"][order_only] == "0.80"
    assert rows["vllm+probe"][report.HEADER.index("predict s")] == "9.0"
    assert "| vllm+gt |" in (tmp_path / "t.md").read_text()
    assert (tmp_path / "bench.png").stat().st_size > 0
