"""Trace replay: forced lengths in every engine, random weights refused where tokens are read,
the paper's workload and the stand-in for its tuned module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
import torch

from seqsch.bench.replay import (
    PAPER_MODULE_ACCURACY,
    PAPER_VAL_LENGTHS,
    paper_sample,
    paper_workload,
    recorded_workload,
    replay_workload,
    standin_predictions,
    synthetic_prompts,
)
from seqsch.bench.runner import run_sweep
from seqsch.bench.specs import SweepConfig
from seqsch.core.decoding import DecodingConfig
from seqsch.core.length_records import read_length_file
from seqsch.core.models import load_model
from seqsch.core.paths import DEFAULT_RECORDED_EVAL, ROOT
from seqsch.core.random_weights import (
    is_random_weights,
    load_random_model,
    num_parameters,
    random_model_names,
    read_config,
)
from seqsch.core.recorded import read_evaluation
from seqsch.core.requests import Request
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.engines.continuous import generate_continuous
from seqsch.engines.scheduled import run_scheduled
from seqsch.engines.static import generate, generate_batch
from seqsch.perception.evaluation import evaluate_predictions
from seqsch.perception.registry import make_predictor
from seqsch.scheduling.scheduler import SchedulerConfig

FORCED = [5, 17, 3, 24, 11, 1, 30, 8]


@pytest.fixture(scope="module")
def random_tiny():
    return load_model("random:tiny", device="cpu", dtype="float32")


def forced_requests(lengths=FORCED):
    return [Request(f"r{i}", "", forced_output_tokens=n) for i, n in enumerate(lengths)]


def test_static_batches_end_exactly_at_forced_lengths(random_tiny):
    model, tokenizer = random_tiny
    prompts = synthetic_prompts(len(FORCED), 12, len(tokenizer), seed=1)
    run = generate(model, tokenizer, forced_requests(), DecodingConfig(max_new_tokens=26),
                   batch_size=4, prompts=prompts, quiet=True)
    assert [r.num_output_tokens for r in run.results] == [min(n, 26) for n in FORCED]
    assert [r.is_finished for r in run.results] == [n < 26 for n in FORCED]
    assert all(r.text == "" and r.token_ids == [] for r in run.results)  # never an answer
    assert [b.num_steps for b in run.batches] == [24, 26]  # to its longest, or to the cap


def test_eos_is_ignored_until_the_forced_length(random_tiny):
    model, tokenizer = random_tiny
    prompts = synthetic_prompts(2, 6, len(tokenizer), seed=2)
    eos = [tokenizer.eos_token_id]
    # every token id stops a natural row at once; a forced row ignores them all
    every_id = list(range(len(tokenizer)))
    _, lengths, _ = generate_batch(model, prompts, 10, DecodingConfig(10), tokenizer.pad_token_id,
                                   every_id, forced_lengths=[7, None])
    assert lengths.tolist() == [7, 1]
    _, lengths, _ = generate_batch(model, prompts, 10, DecodingConfig(10), tokenizer.pad_token_id,
                                   eos, forced_lengths=[10, 3])
    assert lengths.tolist() == [10, 3]


def test_pipeline_fcr_cap_below_a_forced_length_is_a_failure(random_tiny):
    model, tokenizer = random_tiny
    lengths = [4, 30, 6, 28, 5, 7, 29, 3]
    predicted = [5, 5, 5, 30, 30, 30, 30, 5]  # the 30 predicted 5: cut at 10, recomputed
    prompts = synthetic_prompts(len(lengths), 8, len(tokenizer), seed=3)
    config = SchedulerConfig("bin", batch_size=4, bin_size=10, fcr=True, max_new_tokens=40)
    run = run_scheduled(model, tokenizer, forced_requests(lengths), predicted, config,
                        DecodingConfig(max_new_tokens=40), quiet=True, prompts=prompts)
    assert [r.num_output_tokens for r in run.results] == lengths
    assert all(r.is_finished for r in run.results)
    assert [i for i, r in enumerate(run.results) if r.num_attempts == 2] == [1]
    assert run.extra["num_failed"] == 1
    assert run.summary()["failure_ratio"] == pytest.approx(1 / len(lengths))


def test_pipeline_groups_recompute_each_groups_failures_before_the_next(random_tiny):
    model, tokenizer = random_tiny
    lengths = [12, 3, 4, 5, 14, 2, 6, 3]
    predicted = [5, 5, 5, 5, 5, 5, 5, 5]  # 12 and 14 overrun their cap of 10
    prompts = synthetic_prompts(len(lengths), 8, len(tokenizer), seed=4)
    config = SchedulerConfig("bin", batch_size=4, bin_size=10, fcr=True, max_new_tokens=16,
                             group_size=4)
    run = run_scheduled(model, tokenizer, forced_requests(lengths), predicted, config,
                        DecodingConfig(max_new_tokens=16), quiet=True, prompts=prompts)
    assert [r.num_output_tokens for r in run.results] == lengths
    # group 1, its recompute, group 2, its recompute: batch order follows the groups
    assert [(sorted(b.indices), b.is_recompute) for b in run.batches] == [
        ([0, 1, 2, 3], False), ([0], True), ([4, 5, 6, 7], False), ([4], True)]
    assert [run.results[i].batch_index for i in (0, 1, 4, 5)] == [1, 0, 3, 2]


def test_continuous_engine_ends_exactly_at_forced_lengths(random_tiny):
    model, tokenizer = random_tiny
    prompts = synthetic_prompts(len(FORCED), 10, len(tokenizer), seed=5)
    run = generate_continuous(model, tokenizer, forced_requests(), DecodingConfig(20),
                              prompts=prompts, max_requests=4, quiet=True)
    assert [r.num_output_tokens for r in run.results] == [min(n, 20) for n in FORCED]
    assert all(r.token_ids == [] for r in run.results)


def test_random_weights_are_refused_where_tokens_are_read(random_tiny):
    model, tokenizer = random_tiny
    natural = [Request("n0", ""), Request("f1", "", forced_output_tokens=3)]
    prompts = synthetic_prompts(2, 4, len(tokenizer))
    with pytest.raises(ValueError, match="random weights"):
        generate(model, tokenizer, natural, DecodingConfig(4), prompts=prompts, quiet=True)
    with pytest.raises(ValueError, match="random weights"):
        generate_continuous(model, tokenizer, natural, DecodingConfig(4), prompts=prompts,
                            quiet=True)
    for name in ("query", "length-head", "lora"):
        with pytest.raises(ValueError, match="random weights"):
            make_predictor(name, model, tokenizer)
    with pytest.raises(TypeError, match="no tokenizer"):
        tokenizer("some text")


def test_random_model_shapes_and_errors():
    assert {"llama2-7b", "smollm2-135m", "smollm2-360m", "tiny"} <= set(random_model_names())
    assert round(num_parameters(read_config("smollm2-135m")) / 1e5) == 1345
    assert round(num_parameters(read_config("smollm2-360m")) / 1e5) == 3618
    model, tokenizer = load_random_model("tiny", device="cpu", dtype="float32")
    again, _ = load_random_model("tiny", device="cpu", dtype="float32")
    assert is_random_weights(model) and len(tokenizer) == model.config.vocab_size
    first = next(model.parameters())
    assert first.equal(next(again.parameters()))  # seeded: the same weights every time
    with pytest.raises(FileNotFoundError, match="llama2-7b"):
        load_random_model("no-such-shape")
    with warnings.catch_warnings():  # bf16 may be emulated on this CPU: slower, still bf16
        warnings.simplefilter("ignore")
        half, _ = load_random_model("tiny", device="cpu", dtype="bf16")
    assert str(half.dtype) == "torch.bfloat16"  # built directly in the asked dtype


def test_forced_length_must_be_positive():
    with pytest.raises(ValueError, match="forced_output_tokens"):
        Request("x", "", forced_output_tokens=0)


def test_paper_sample_is_the_papers_seeded_permutation():
    records = read_length_file(PAPER_VAL_LENGTHS)
    assert len(records) == 10_000
    sample = paper_sample(records)
    # np.random.seed(42); np.random.permutation(10000)[:1024], as EvalDataset.sample does
    assert [r.id for r in sample[:5]] == ["32304", "24097", "8621", "24461", "23232"]
    assert len({r.id for r in sample}) == 1024


def test_paper_workload_forces_greedy_lengths_and_keeps_the_oracle():
    workload = paper_workload(num_data=256, vocab_size=512, prompt_tokens=10)
    assert len(workload.requests) == len(workload.prompts) == 256
    assert all(len(p) == 10 and max(p) < 512 for p in workload.prompts)
    assert all(t <= o for t, o in zip(workload.true_lengths, workload.oracle))
    # the sample's vanilla schedule, as the paper reports it: average padded length ~371
    steps = [max(workload.true_lengths[i : i + 16]) for i in range(0, 256, 16)]
    assert 300 < sum(steps) * 16 / 256 < 400


def test_standin_matches_the_papers_accuracy_figures():
    workload = paper_workload()
    accuracy = evaluate_predictions(workload.standin, workload.oracle)
    assert accuracy["error"] == pytest.approx(PAPER_MODULE_ACCURACY["error"], abs=2)
    for key in ("acc50", "acc100"):
        assert accuracy[key] == pytest.approx(PAPER_MODULE_ACCURACY[key], abs=0.02)
    assert all(1 <= p <= 512 for p in workload.standin)
    assert workload.standin == paper_workload().standin  # seeded


@pytest.mark.parametrize("error, acc50, acc100", [(45.0, 0.7, 0.92), (90.0, 0.4, 0.7)])
def test_standin_meets_other_targets(error, acc50, acc100):
    oracle = [50 + (i * 37) % 450 for i in range(800)]
    accuracy = evaluate_predictions(standin_predictions(oracle, 1, error, acc50, acc100), oracle)
    assert accuracy["error"] == pytest.approx(error, abs=0.5)
    assert accuracy["acc50"] == pytest.approx(acc50, abs=0.002)
    assert accuracy["acc100"] == pytest.approx(acc100, abs=0.002)


def test_standin_refuses_targets_it_cannot_meet():
    with pytest.raises(ValueError, match="cannot be met"):
        standin_predictions([100] * 100, error=20.0, acc50=0.5, acc100=0.6)


@pytest.mark.gpu
def test_forced_lengths_on_a_gpu_in_bf16():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")

    model, tokenizer = load_model("random:tiny", device="cuda", dtype="bf16")
    prompts = synthetic_prompts(len(FORCED), 12, len(tokenizer), seed=6)
    run = generate(model, tokenizer, forced_requests(), DecodingConfig(max_new_tokens=26),
                   batch_size=4, prompts=prompts, quiet=True)
    assert [r.num_output_tokens for r in run.results] == [min(n, 26) for n in FORCED]
    assert run.dtype == "bfloat16" and run.device.startswith("cuda")


@pytest.mark.slow
def test_the_gpu_command_runs_its_path_on_a_cpu(tmp_path):
    """scripts/gpu_replay.sh with the tiny shape on the CPU: the same sweep, table and figure."""
    env = {**os.environ, "DEVICE": "cpu", "MODEL": "random:tiny", "DTYPE": "float32",
           "NUM_DATA": "32", "MAX_NEW_TOKENS": "32", "PYTHON": sys.executable}
    subprocess.run(["bash", str(ROOT / "scripts" / "gpu_replay.sh"), str(tmp_path)], env=env,
                   check=True, capture_output=True, timeout=600)
    records = [json.loads(line) for line in (tmp_path / "replay.jsonl").read_text().splitlines()]
    assert [r["spec"] for r in records] == [
        "vanilla", "standin", "standin+vbs+fcr", "oracle+vbs+fcr", "oracle"]
    assert "oracle + VBS + FCR" in (tmp_path / "replay.md").read_text()
    assert (tmp_path / "replay_tiny.png").stat().st_size > 0


def test_recorded_workload_replays_the_test_split_with_the_heads_predictions():
    evaluation, prompt_lengths = read_evaluation(DEFAULT_RECORDED_EVAL)
    workload = recorded_workload(64, vocab_size=100, max_new_tokens=300)
    head = evaluation["sources"][RECORDED_HEAD_SOURCE]
    assert [r.id for r in workload.requests] == [f"recorded-{i}" for i in evaluation["ids"][:64]]
    assert workload.true_lengths == workload.oracle == [
        min(n, 300) for n in evaluation["recorded_lengths"][:64]]
    assert [len(p) for p in workload.prompts] == prompt_lengths[:64]
    assert all(3 <= i < 100 for p in workload.prompts for i in p)
    assert workload.learned == head["predictions"][:64]
    assert workload.learned_s == pytest.approx(head["ms_per_prompt"] * 64 / 1000)
    by_source = workload.predictions_by_source()
    assert list(by_source) == [RECORDED_HEAD_SOURCE]  # no stand-in in this replay
    assert by_source[RECORDED_HEAD_SOURCE][1] == workload.learned_s
    with pytest.raises(ValueError, match="num_data"):
        recorded_workload(10**6)
    with pytest.raises(ValueError, match="unknown replay"):
        replay_workload("nosuch", 8, 100)


def test_each_replay_takes_its_own_learned_source():
    SweepConfig(specs=("vanilla", "recorded-head+vbs+fcr"), replay="sharegpt-recorded")
    with pytest.raises(ValueError, match="learned source is 'recorded-head'"):
        SweepConfig(specs=("vanilla", "standin"), replay="sharegpt-recorded")
    with pytest.raises(ValueError, match="learned source is 'standin'"):
        SweepConfig(specs=("vanilla", "recorded-head"), replay="paper-val")


def test_the_recorded_replay_runs_and_counts_the_heads_time(tmp_path):
    config = SweepConfig(specs=("vanilla", "recorded-head", "oracle"), replay="sharegpt-recorded",
                         model="random:tiny", dtype="float32", num_data=8, max_new_tokens=8,
                         out=tmp_path / "replay.jsonl", quiet=True)
    records = run_sweep(config)[0]
    workload = recorded_workload(8, max_new_tokens=8)
    assert records["recorded-head"]["predicted_lengths"] == workload.learned
    assert records["recorded-head"]["extra"]["prediction_s"] == pytest.approx(workload.learned_s)
    assert records["oracle"]["actual_lengths"] == workload.oracle
