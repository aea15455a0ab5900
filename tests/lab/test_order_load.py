"""Notebook 06 under load: the simulated sweep and the measured one, read for their break-even,
their tail and their takeaway."""

import math

import pytest
from conftest import SERVING_LENGTHS, SERVING_PROMPTS, serving_record

from seqsch.lab.order_load import (
    break_even_list,
    measured_line,
    measured_load,
    measured_text,
    simulated_line,
    simulated_load,
    simulated_text,
)


def row(policy: str, x: float, aging: float, mean_x: float, p99_x: float) -> dict:
    return {"policy": policy, "rate_x_capacity": x, "request_rate": 2.0 * x,
            "aging_per_s": aging, "mean_latency_x_first_come": mean_x,
            "p99_latency_x_first_come": p99_x}


PROJECTION = {"capacity_requests_per_s": 2.0,
              "break_even_x_capacity": {"oracle": 0.8, "recorded-head": 1.0, "prompt-length": None},
              "rows": [row("first-come", x, 0.0, 1.0, 1.0) for x in (0.5, 1.2, 2.0)]
              + [row("recorded-head", x, 0.0, m, p) for x, m, p in
                 ((2.0, 0.6, 1.8), (0.5, 1.0, 1.0), (1.2, 0.8, 1.4))]
              + [row("recorded-head", x, 3.0, m, p) for x, m, p in
                 ((0.5, 1.0, 1.0), (1.2, 0.9, 1.1), (2.0, 0.7, 1.2))]}


def test_the_simulated_sweep_is_read_for_its_rate_its_head_and_its_guard():
    load = simulated_load(PROJECTION)
    assert load["loaded_rate"] == pytest.approx(2.4)
    assert [r["rate_x_capacity"] for r in load["head_rows"]] == [0.5, 1.2, 2.0]
    assert load["guard"] == {"aging_per_s": 3.0, "worst_mean_x_first_come": 1.0,
                             "best_mean_x_first_come": 0.7}
    assert break_even_list(load["break_even"]) == ("oracle 0.80x, recorded-head 1.00x, "
                                                   "prompt-length never")
    lines = simulated_text(load).splitlines()
    assert lines[1] == ("  0.5x capacity: recorded head 1.00x first come's mean latency, 1.00x "
                        "its p99")
    assert lines[-1] == ("holding p99 within 1.25x first come's at every rate: aging 3 tokens per "
                         "s waited, at 0.70-1.00x first come's mean")
    assert simulated_line(load).endswith(
        "at 2.0x the recorded head gives 0.60x first come's mean latency at 1.80x its p99; aging 3 "
        "holds p99 within 1.25x first come's at every rate, at 0.70-1.00x its mean")
    strict = simulated_load(PROJECTION, max_p99_x=1.05)
    assert strict["guard"] is None and simulated_text(strict).endswith("no aging of the sweep")
    with pytest.raises(ValueError, match="no rate at 1.2x"):
        simulated_load({**PROJECTION, "rows": PROJECTION["rows"][:1]})


def test_the_measured_sweep_reads_its_top_rate_and_says_where_the_head_pays():
    learned = [n + (9 if i % 3 else -9) for i, n in enumerate(SERVING_LENGTHS)]
    records = [serving_record(rate, label, priorities)
               for rate in (0.5, 3.0, math.inf)
               for label, priorities in (("first-come", None), ("oracle", SERVING_LENGTHS),
                                         ("recorded-head", learned),
                                         ("prompt-length", SERVING_PROMPTS))]
    measured = measured_load(records)
    assert measured["top"]["request_rate"] == 3.0 and measured["environment"]["device"] == "test"
    lines = measured_text(measured).splitlines()
    assert lines[0].startswith("    0.5/s (") and lines[-2].startswith(f"{'burst':>26}: ")
    assert lines[-1] == f"the live recorded head {measured['pays']} (CPU, measured)"
    assert "first-come" not in lines[0]  # the reference is no cell of its own
    assert measured_line(measured).startswith(f"Under load (CPU, measured): the live recorded "
                                              f"head {measured['pays']}; at 3/s it gives")
