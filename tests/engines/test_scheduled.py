"""The real pipeline (predict -> schedule -> generate -> recompute) against the simulator."""

import pytest

from seqsch.bench.specs import RunSpec
from seqsch.core.decoding import DecodingConfig
from seqsch.engines.scheduled import run_scheduled
from seqsch.scheduling.scheduler import SchedulerConfig
from seqsch.scheduling.simulate import simulate


@pytest.fixture
def stop_early(tiny):
    """Make the tiny model end some answers early: a frequent greedy token acts as EOS."""
    model, tokenizer = tiny
    eos = model.generation_config.eos_token_id
    yield model, tokenizer
    model.generation_config.eos_token_id = eos


def test_fcr_pipeline_matches_the_simulator(stop_early, short_requests):
    model, tokenizer = stop_early
    decoding = DecodingConfig(max_new_tokens=12)
    probe = run_scheduled(model, tokenizer, short_requests, None, SchedulerConfig(), decoding,
                          quiet=True)
    extra_stop = probe.results[0].token_ids[4]
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, extra_stop]
    full = run_scheduled(model, tokenizer, short_requests, None,
                         SchedulerConfig(batch_size=3), decoding, quiet=True)
    true = [r.num_output_tokens for r in full.results]
    predicted = [max(1, n // 2) for n in true]  # underestimates: FCR must recompute
    config = SchedulerConfig("sort", batch_size=3, max_new_tokens=12, fcr=True)
    run = run_scheduled(model, tokenizer, short_requests, predicted, config, decoding,
                        quiet=True)
    sim = simulate(true, predicted, config)
    assert [r.token_ids for r in run.results] == [r.token_ids for r in full.results]
    assert [r.id for r in run.results] == [r.id for r in short_requests]
    assert [(b.num_rows, b.num_steps, b.num_failed) for b in run.batches] == [
        (b.num_rows, b.num_steps, b.num_failed) for b in sim.batches]
    summary = run.summary()
    for key in ("avg_length", "effective_token_ratio", "failure_ratio"):
        assert summary[key] == pytest.approx(sim.summary[key], abs=1e-4)
    assert summary["failure_ratio"] > 0
    assert sum(r.num_attempts == 2 for r in run.results) == run.extra["num_failed"]


def test_prediction_time_counts_in_wall_and_completion(tiny, short_requests):
    model, tokenizer = tiny
    run = run_scheduled(model, tokenizer, short_requests[:2], None, SchedulerConfig(),
                        DecodingConfig(max_new_tokens=3), prediction_s=100.0, quiet=True)
    assert run.wall_s > 100 and min(r.completion_s for r in run.results) > 100


def test_run_specs_parse_and_reject_nonsense():
    assert RunSpec.parse("oracle+vbs+fcr") == RunSpec("oracle", vbs=True, fcr=True)
    assert RunSpec.parse("continuous+oracle").engine == "continuous"
    assert RunSpec.parse("continuous").name == "continuous"
    assert RunSpec.parse("lora+fcr").name == "lora+fcr"
    with pytest.raises(ValueError, match="unknown part"):
        RunSpec.parse("oracle+turbo")
    with pytest.raises(ValueError, match="length source"):
        RunSpec.parse("vanilla+vbs")
    with pytest.raises(ValueError, match="static"):
        RunSpec.parse("continuous+oracle+fcr")
