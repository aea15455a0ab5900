"""Tests of seqsch.bench.serving_measured on records an engine priced by a known cost model
would write (`conftest.serving_record`): the fit must recover that model and the simulator
must then match every cell."""

from __future__ import annotations

import math

import pytest
from conftest import (
    SERVING_ENGINE,
    SERVING_LENGTHS,
    SERVING_PREDICT_S,
    SERVING_PROMPTS,
    serving_record,
)

from seqsch.bench.serving_compare import fit_serving_cost_model
from seqsch.bench.serving_measured import measured_rows, simulated_aging

LENGTHS, PROMPTS, PREDICT_S = SERVING_LENGTHS, SERVING_PROMPTS, SERVING_PREDICT_S
ENGINE = SERVING_ENGINE


@pytest.fixture(scope="session")
def records() -> list[dict]:
    learned = [n + (9 if i % 3 else -9) for i, n in enumerate(LENGTHS)]
    return [serving_record(rate, label, priorities, aging)
            for rate in (0.5, 3.0, math.inf)
            for label, priorities, aging in (("first-come", None, 0.0),
                                             ("oracle", LENGTHS, 0.0),
                                             ("recorded-head", learned, 0.0),
                                             ("recorded-head@2", learned, 2.0),
                                             ("prompt-length", PROMPTS, 0.0))]


def test_the_fit_recovers_the_engines_step_price(records):
    fitted = fit_serving_cost_model(records)
    for field in ("step_fixed_s", "step_per_row_s", "step_per_row_context_s",
                  "prefill_fixed_s", "prefill_per_token_s"):
        assert getattr(fitted, field) == pytest.approx(getattr(ENGINE, field), rel=1e-6)


def test_rows_hold_the_cells_with_ratios_and_the_simulators_match(records):
    rows = measured_rows(records)
    assert [(r["request_rate"], r["label"]) for r in rows] == [
        (r["request_rate"], r["policy"]) for r in records]
    for row in rows:
        assert row["mean_latency_gap"] == pytest.approx(0.0, abs=1e-9)
        assert row["mean_latency_gap_own_steps"] == pytest.approx(0.0, abs=1e-6)
        assert row["simulated_mean_latency_x_first_come"] == pytest.approx(
            row["mean_latency_x_first_come"])
        if row["is_reference"]:
            assert row["mean_latency_x_first_come"] == row["p99_latency_x_first_come"] == 1.0
    aged = next(r for r in rows if r["label"] == "recorded-head@2")
    assert (aged["policy"], aged["aging_per_s"]) == ("recorded-head", 2.0)
    assert aged["predictor_s_per_request"] == pytest.approx(PREDICT_S)
    burst = {r["label"]: r for r in rows if math.isinf(r["request_rate"])}
    assert burst["oracle"]["mean_latency_x_first_come"] < 1.0
    assert 0 < rows[0]["rate_x_capacity"] < rows[-1]["rate_x_capacity"]


def test_simulated_aging_reproduces_the_measured_settings(records):
    rows = simulated_aging(records, "recorded-head", (0.0, 2.0, 50.0))
    measured = {(r["request_rate"], r["label"]): r for r in measured_rows(records)}
    for row in rows:
        label = {0.0: "recorded-head", 2.0: "recorded-head@2"}.get(row["aging_per_s"])
        if row["is_reference"]:
            label = "first-come"
        if label is not None:
            assert row["mean_latency_s"] == pytest.approx(
                measured[row["request_rate"], label]["mean_latency_s"])
    assert {r["aging_per_s"] for r in rows if not r["is_reference"]} == {0.0, 2.0, 50.0}


def test_bad_records_are_named():
    with pytest.raises(ValueError, match="no serving records"):
        measured_rows([])
    with pytest.raises(ValueError, match="no first-come cell at rate"):
        measured_rows([serving_record(2.0, "oracle", LENGTHS)])
    with pytest.raises(ValueError, match="no measured cell of policy"):
        simulated_aging([serving_record(2.0, "first-come")], "recorded-head", (0.0,))
    with pytest.raises(ValueError, match="measure a cell twice"):
        measured_rows([serving_record(2.0, "first-come")] * 2)
