"""Tests of seqsch.bench.serving_bench: real engines under arrivals, beside the simulator.

A tiny random Llama on transformers' continuous batching serves 8 requests at forced lengths
(two rates, one a burst) in a few seconds; a burst's step clock must equal the simulator's
exactly. The vLLM check skips where vLLM is absent (bash scripts/setup_vllm.sh)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time

import pytest

from seqsch.bench import serving_bench
from seqsch.bench.serving_bench import (
    ServingBenchConfig,
    compare_with_simulation,
    run_serving_bench,
    waiting_ranks,
)
from seqsch.bench.serving_compare import fit_serving_cost_model
from seqsch.core.paths import ROOT
from seqsch.core.requests import Request
from seqsch.engines.continuous_arrivals import PREDICTION_POLL_S, ArrivalFeeder
from seqsch.engines.vllm_engine import is_vllm_available
from seqsch.scheduling.serving import ServingConfig, burst_arrivals, simulate_serving

LENGTHS = [12, 3, 9, 1, 6, 15, 2, 8]
PROMPTS = [[5 + i] * (4 + i) for i in range(len(LENGTHS))]
REQUESTS = [Request(f"r{i}", "", forced_output_tokens=n) for i, n in enumerate(LENGTHS)]
LEARNED = [n + (5 if i % 2 else -5) for i, n in enumerate(LENGTHS)]  # a noisy predictor
PREDICT_S = 0.002


@pytest.mark.parametrize(("options", "field"), [
    ({"engine": "tgi"}, "engine"),
    ({"num_requests": 0}, "num_requests"),
    ({"request_rates": ()}, "request_rates"),
    ({"request_rates": (2.0, 0.0)}, "request_rates"),
    ({"request_rates": (math.nan,)}, "request_rates"),
    ({"policies": ("fastest",)}, "policies"),
    ({"policies": ()}, "policies"),
    ({"policies": ("oracle", "oracle")}, "policies"),
    ({"policies": ("oracle@soon",)}, "policies"),
    ({"policies": ("oracle@-1",)}, "policies"),
    ({"policies": ("first-come@0.5",)}, "policies"),
    ({"policies": ("first-come", "learned")}, "policies"),  # a source's name, not a role
    ({"num_slots": 0}, "num_slots"),
])
def test_config_errors_name_the_field(options, field):
    with pytest.raises(ValueError, match=field):
        ServingBenchConfig(**options)


def test_config_accepts_a_learned_policy_by_its_source_with_aging():
    config = ServingBenchConfig(policies=("first-come", "recorded-head@0.5"),
                                request_rates=(1, math.inf))
    assert config.request_rates == (1.0, math.inf)
    assert config.settings()["policies"] == ["first-come", "recorded-head@0.5"]


def test_waiting_ranks_follow_the_simulators_order():
    arrivals_s = [0.0, 1.0, 2.0]
    assert waiting_ranks(arrivals_s, None, 0.0) == [0, 1, 2]
    assert waiting_ranks(arrivals_s, [9, 5, 1], 0.0) == [2, 1, 0]
    assert waiting_ranks(arrivals_s, [9, 5, 1], 10.0) == [0, 1, 2]  # aged: arrival order again


def test_workload_errors():
    config = ServingBenchConfig(num_requests=2, policies=("first-come",))
    with pytest.raises(ValueError, match="num_requests"):
        run_serving_bench(config, REQUESTS, prompts=PROMPTS)
    with pytest.raises(ValueError, match="forced"):
        run_serving_bench(config, [Request("a", "hi"), Request("b", "hi")], prompts=PROMPTS[:2])
    with pytest.raises(ValueError, match="priorities_by_policy: policy 'recorded-head'"):
        run_serving_bench(ServingBenchConfig(num_requests=8, policies=("recorded-head",)),
                          REQUESTS, prompts=PROMPTS)


@pytest.fixture(scope="module")
def measured(tiny, tmp_path_factory):
    """Two rates (one a burst) x first come, the oracle and an aged learned order timed with
    its predictor in the request path, on 2 slots."""
    calls = []

    def predict(index: int) -> None:
        calls.append(index)
        time.sleep(PREDICT_S)

    config = ServingBenchConfig(model="tiny-test", num_requests=len(REQUESTS),
                                request_rates=(60.0, math.inf), num_slots=2,
                                policies=("first-come", "oracle", "recorded-head@0.5"),
                                out=tmp_path_factory.mktemp("serve") / "s.jsonl")
    rows = run_serving_bench(config, REQUESTS, {"recorded-head": LEARNED},
                             {"recorded-head": predict}, prompts=PROMPTS, model=tiny)
    return config, rows, calls


def test_every_request_finishes_at_its_forced_length(measured):
    _, rows, _ = measured
    assert [(r["request_rate"], r["policy"]) for r in rows] == [
        (rate, policy) for rate in (60.0, math.inf)
        for policy in ("first-come", "oracle", "recorded-head@0.5")]
    for row in rows:
        req = row["requests"]
        assert req["num_output_tokens"] == LENGTHS
        assert [last - first for first, last in zip(req["first_token_step"],
                                                    req["finish_step"])] == [
            n - 1 for n in LENGTHS]
        assert row["environment"]["engine"] == "continuous"
        assert row["summary"]["num_requests"] == len(LENGTHS)


def test_metrics_have_the_simulators_keys_and_sensible_values(measured):
    _, rows, _ = measured
    simulated = simulate_serving(LENGTHS, None, burst_arrivals(len(LENGTHS)), None,
                                 ServingConfig(num_slots=2))
    for row in rows:
        assert set(row["summary"]) == set(simulated.summary)
        req = row["requests"]
        for arrival, queued, first, finish in zip(req["arrival_s"], req["queued_s"],
                                                  req["first_token_s"], req["finish_s"]):
            assert 0 <= arrival <= queued < first <= finish
        summary = row["summary"]
        assert 0 < summary["mean_ttft_s"] <= summary["mean_latency_s"]
        assert summary["median_latency_s"] <= summary["p99_latency_s"]
        assert summary["throughput_requests_per_s"] > 0 and summary["mean_latency_steps"] > 0


def test_the_predictor_runs_in_the_request_path(measured):
    _, rows, calls = measured
    assert sorted(calls) == sorted(list(range(len(LENGTHS))) * 2)  # once a request and rate
    for row in rows:
        req = row["requests"]
        if row["policy"] == "recorded-head@0.5":
            assert row["predictor"]["mode"] == "callable"
            assert min(req["predict_s"]) >= PREDICT_S
            assert all(q >= a + PREDICT_S for q, a in zip(req["queued_s"], req["arrival_s"]))
        else:
            assert max(req["predict_s"]) < PREDICT_S


def test_a_burst_runs_the_simulators_step_clock_and_shortest_first_pays(measured):
    _, rows, _ = measured
    burst = {row["policy"]: row for row in rows if math.isinf(row["request_rate"])}
    assert burst["oracle"]["summary"]["mean_latency_steps"] < (
        burst["first-come"]["summary"]["mean_latency_steps"])
    oracle_finish = burst["oracle"]["requests"]["finish_step"]
    assert oracle_finish.index(min(oracle_finish)) == LENGTHS.index(min(LENGTHS))
    cost_model = fit_serving_cost_model(rows)
    assert cost_model.step_fixed_s > 0
    for cell in compare_with_simulation(rows, cost_model):
        assert math.isfinite(cell["mean_latency_gap"])
        if math.isinf(cell["request_rate"]) and cell["policy"] != "recorded-head@0.5":
            assert cell["measured"]["num_steps"] == cell["simulated"]["num_steps"]
            assert cell["mean_latency_steps_gap"] == pytest.approx(0.0)


def test_a_rerun_reads_finished_cells_back(measured, tiny, monkeypatch):
    config, rows, _ = measured

    def refuse(*args, **kwargs):
        raise AssertionError("the engine ran for a finished cell")

    monkeypatch.setattr(serving_bench, "serve_continuous", refuse)
    monkeypatch.setattr(serving_bench, "load_model", refuse)
    lines_before = config.out.read_text().count("\n")
    again = run_serving_bench(config, REQUESTS, {"recorded-head": LEARNED},
                              {"recorded-head": _named("predict")},
                              prompts=PROMPTS, model=tiny)
    assert [r["summary"] for r in again] == [r["summary"] for r in rows]
    assert config.out.read_text().count("\n") == lines_before
    other = ServingBenchConfig(**{**vars(config), "seed": 1})  # other arrivals: measured anew
    with pytest.raises(AssertionError, match="finished cell"):
        run_serving_bench(other, REQUESTS, {"recorded-head": LEARNED}, prompts=PROMPTS,
                          model=tiny)


def test_predictions_run_beside_the_driver_one_at_a_time_in_arrival_order():
    submitted, done = [], threading.Event()

    def predict(index: int) -> None:
        done.wait(5)  # held until the driver has shown it was not blocked

    feeder = ArrivalFeeder([0.0, 0.0, 0.0], predict, submitted.append)
    feeder.feed()  # starts the first prediction and returns at once
    assert submitted == [] and feeder.wait_s() == PREDICTION_POLL_S
    done.set()
    deadline = time.perf_counter() + 5
    while len(submitted) < 3 and time.perf_counter() < deadline:
        feeder.feed()
        time.sleep(feeder.wait_s())
    feeder.close()
    assert submitted == [0, 1, 2]
    assert all(q >= p for q, p in zip(feeder.queued_s, feeder.predict_s))


def test_a_failed_prediction_is_raised_in_the_driver():
    def predict(index: int) -> None:
        raise RuntimeError("predictor broke")

    feeder = ArrivalFeeder([0.0], predict, lambda index: None)
    deadline = time.perf_counter() + 5
    with pytest.raises(RuntimeError, match="predictor broke"):
        while time.perf_counter() < deadline:
            feeder.feed()
            time.sleep(feeder.wait_s())
    feeder.close()


def test_a_prediction_waits_for_its_arrival_and_close_skips_the_rest():
    started = []
    feeder = ArrivalFeeder([0.0, 30.0], started.append, lambda index: None)
    feeder.feed()
    deadline = time.perf_counter() + 5
    while not started and time.perf_counter() < deadline:
        time.sleep(0.01)
    begin = time.perf_counter()
    feeder.close()  # the second request would arrive in 30 s: its prediction never starts
    assert started == [0] and time.perf_counter() - begin < 5


def _named(name: str):
    """A callable recorded as `name`, as the fixture's predictor is (records hold the name)."""
    def predict(index: int) -> None:
        raise AssertionError("a finished cell's predictor ran")

    predict.__name__ = name
    return predict


@pytest.mark.skipif(not is_vllm_available(), reason="vLLM is not installed "
                    "(bash scripts/setup_vllm.sh)")
@pytest.mark.slow
def test_vllm_serves_arrivals_at_forced_lengths(tmp_path):
    # vLLM's CPU attention needs a head size the tiny shape lacks (16): the embedded shape
    config = ServingBenchConfig(engine="vllm", model="random:smollm2-135m",
                                num_requests=len(REQUESTS),
                                request_rates=(100.0, math.inf), num_slots=2, dtype="float32",
                                policies=("first-come", "oracle"), out=tmp_path / "v.jsonl")
    rows = run_serving_bench(config, REQUESTS, prompts=PROMPTS)
    for row in rows:
        assert row["requests"]["num_output_tokens"] == LENGTHS
        assert row["environment"]["engine"] == "vllm"
    burst = {row["policy"]: row["summary"] for row in rows if math.isinf(row["request_rate"])}
    assert burst["oracle"]["mean_latency_steps"] < burst["first-come"]["mean_latency_steps"]


@pytest.mark.slow
def test_the_gpu_serving_command_runs_its_path_on_a_cpu(tmp_path):
    """scripts/gpu_serve.sh with the tiny shape on the CPU: every policy at both rates."""
    env = {**os.environ, "DEVICE": "cpu", "MODEL": "random:tiny", "DTYPE": "float32",
           "NUM_REQUESTS": "8", "RATES": "50 inf", "MAX_NEW_TOKENS": "16",
           "PYTHON": sys.executable}
    subprocess.run(["bash", str(ROOT / "scripts" / "gpu_serve.sh"), str(tmp_path)], env=env,
                   check=True, capture_output=True, timeout=600)
    records = [json.loads(line) for line in (tmp_path / "serving.jsonl").read_text().splitlines()]
    assert [(r["request_rate"], r["policy"]) for r in records] == [
        (rate, policy) for rate in (50.0, math.inf)
        for policy in ("first-come", "oracle", "prompt-length", "recorded-head")]
    assert all(r["predictor"]["mode"] == "sleep" for r in records)
    assert "mean latency" in (tmp_path / "serving.log").read_text()
