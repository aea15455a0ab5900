"""Results section 9 (seqsch.lab.serving_results.measured_serving_section) on a measured sweep
written by an engine priced by a known cost model (`conftest.serving_record`)."""

from __future__ import annotations

import json
import math

import pytest
from conftest import SERVING_LENGTHS, SERVING_PROMPTS, serving_record

from seqsch.lab.serving_results import AGING_RANGE, measured_serving_section

LEARNED = [n + (9 if i % 3 else -9) for i, n in enumerate(SERVING_LENGTHS)]
POLICIES = (("first-come", None, 0.0), ("oracle", SERVING_LENGTHS, 0.0),
            ("recorded-head", LEARNED, 0.0), ("recorded-head@2", LEARNED, 2.0),
            ("prompt-length", SERVING_PROMPTS, 0.0))


def _write(folder, rates, policies=POLICIES):
    records = [serving_record(rate, label, priorities, aging)
               for rate in rates for label, priorities, aging in policies]
    for record in records:  # as the bench writes them: one run's settings
        record["config"].update(request_rates=list(rates),
                                policies=[label for label, _, _ in policies])
    (folder / "serving-vllm-cpu.jsonl").write_text(
        "".join(json.dumps(record) + "\n" for record in records))


def test_section_states_each_target_and_the_command(tmp_path):
    _write(tmp_path, (0.5, 3.0, math.inf))
    title, what, data, command, tables = measured_serving_section(tmp_path)
    assert title.startswith("9. ") and data == "`data/serving-vllm-cpu.jsonl`"
    for phrase in ("target <= 0.75", "target <= 1.05", "beats prompt-length order",
                   "lands within 0.0% of every measured mean latency",
                   "Holding p99 within 1.25x", "vLLM test",
                   "slept in each request's path: 0.05 s per request"):
        assert phrase in what, phrase
    assert "--request-rates 0.5 3 inf" in command and "--live-head" not in command
    assert "--policies first-come oracle recorded-head recorded-head@2 prompt-length" in command
    measured, aging = tables.split("\n\n")
    assert [line.split(" ")[1] for line in measured.splitlines()[2:]] == ["0.5", "3", "burst"]
    assert [line.split(" ")[1] for line in aging.strip().splitlines()[2:]] == [
        f"{value:g}" for value in AGING_RANGE]


def test_a_sweep_without_a_burst_or_a_queue_still_reads(tmp_path):
    _write(tmp_path, (0.01, 0.02))
    _, what, _, _, _ = measured_serving_section(tmp_path)
    assert "no queue forms" in what


def test_a_missing_cell_is_named(tmp_path):
    _write(tmp_path, (0.5, 3.0), POLICIES[:2] + POLICIES[3:])  # no unaged recorded head
    with pytest.raises(ValueError, match="no 'recorded-head' cell at rate"):
        measured_serving_section(tmp_path)
