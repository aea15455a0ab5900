import json

import pytest
import torch

from seqsch.core.decoding import DECODING_PRESETS, DecodingConfig, apply_repetition_penalty
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.__main__ import main
from seqsch.engines.reference import hf_generate
from seqsch.engines.static import generate
from seqsch.scheduling.scheduler import Batch


def test_greedy_matches_model_generate_on_a_tiny_model(tiny, short_requests):
    model, tokenizer = tiny
    config = DecodingConfig(max_new_tokens=12)
    run = generate(model, tokenizer, short_requests, config, batch_size=3, quiet=True)
    reference, _ = hf_generate(model, tokenizer, encode_prompts(tokenizer, short_requests),
                               config, batch_size=3)
    assert [r.token_ids for r in run.results] == reference


def test_penalised_greedy_matches_model_generate_with_the_same_processor(tiny, short_requests):
    model, tokenizer = tiny
    config = DECODING_PRESETS["embedded"].with_(max_new_tokens=12, penalty_window=4)
    run = generate(model, tokenizer, short_requests, config, batch_size=4, quiet=True)
    reference, _ = hf_generate(model, tokenizer, encode_prompts(tokenizer, short_requests),
                               config, batch_size=4)
    assert [r.token_ids for r in run.results] == reference


def test_repetition_penalty_spares_eos_and_only_touches_recent_tokens():
    logits = torch.tensor([[2.0, -2.0, 4.0, 1.0]])
    recent = torch.tensor([[0, 1, 3, 3]])
    out = apply_repetition_penalty(logits.clone(), recent, 2.0, spare_token_ids=[3])
    assert out.tolist() == [[1.0, -4.0, 4.0, 1.0]]


@pytest.mark.slow
def test_greedy_matches_model_generate_on_the_embedded_model(embedded, short_requests):
    model, tokenizer = embedded
    assert model.dtype == torch.float32  # pinned by the fixture: bf16 answers differ by CPU
    config = DECODING_PRESETS["embedded"].with_(max_new_tokens=24)
    run = generate(model, tokenizer, short_requests, config, batch_size=4, quiet=True)
    reference, _ = hf_generate(model, tokenizer, encode_prompts(tokenizer, short_requests),
                               config, batch_size=4)
    assert [r.token_ids for r in run.results] == reference
    assert any(r.is_finished for r in run.results)  # some answers end before the cap


def test_batch_stops_as_soon_as_every_row_has_ended(tiny, short_requests):
    model, tokenizer = tiny
    request = short_requests[:1]
    first = generate(model, tokenizer, request, DecodingConfig(max_new_tokens=10), quiet=True)
    stop_token = first.results[0].token_ids[3]
    eos = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = [eos, stop_token]
    try:
        run = generate(model, tokenizer, request, DecodingConfig(max_new_tokens=10), quiet=True)
    finally:
        model.generation_config.eos_token_id = eos
    result = run.results[0]
    end = first.results[0].token_ids.index(stop_token) + 1
    assert result.is_finished and not result.is_capped
    assert result.num_output_tokens == end and run.batches[0].num_steps == end < 10


def test_per_batch_cap_and_failures(tiny, short_requests):
    model, tokenizer = tiny
    batches = [Batch((0, 1), 5), Batch((2, 3), 9)]
    run = generate(model, tokenizer, short_requests[:4], DecodingConfig(max_new_tokens=9),
                   batches=batches, quiet=True)
    assert [b.num_steps for b in run.batches] == [5, 9]
    assert [r.num_output_tokens for r in run.results] == [5, 5, 9, 9]
    assert run.batches[0].num_failed == 2  # cut below the full cap: to be recomputed
    assert run.batches[1].num_failed == 0  # cut at the full cap: a final (capped) answer
    assert run.batches[0].num_output_tokens == 0 and run.batches[1].num_output_tokens == 18


def test_results_come_back_in_input_order(tiny, short_requests):
    model, tokenizer = tiny
    config = DecodingConfig(max_new_tokens=6)
    forward = generate(model, tokenizer, short_requests, config, batch_size=4, quiet=True)
    shuffled = [Batch((7, 2, 5), 6), Batch((0, 6), 6), Batch((4, 1, 3), 6)]
    run = generate(model, tokenizer, short_requests, config, batches=shuffled, quiet=True)
    assert [r.id for r in run.results] == [r.id for r in short_requests]
    assert [r.token_ids for r in run.results] == [r.token_ids for r in forward.results]


def test_seeded_sampling_is_reproducible(tiny, short_requests):
    model, tokenizer = tiny
    config = DecodingConfig(max_new_tokens=8, temperature=0.7, top_p=0.9, seed=3)
    runs = [generate(model, tokenizer, short_requests, config, 4, quiet=True) for _ in range(2)]
    assert [r.token_ids for r in runs[0].results] == [r.token_ids for r in runs[1].results]
    other = generate(model, tokenizer, short_requests, config.with_(seed=4), 4, quiet=True)
    assert [r.token_ids for r in other.results] != [r.token_ids for r in runs[0].results]


def test_dropping_finished_rows_keeps_the_tokens(tiny, short_requests):
    model, tokenizer = tiny
    config = DecodingConfig(max_new_tokens=10)
    static = generate(model, tokenizer, short_requests, config, 4, quiet=True)
    eos = static.results[0].token_ids[2]
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, eos]
    try:
        kept = generate(model, tokenizer, short_requests, config, 4, quiet=True)
        dropped = generate(model, tokenizer, short_requests, config, 4, quiet=True,
                           drop_finished=True)
    finally:
        model.generation_config.eos_token_id = tokenizer.eos_token_id
    assert [r.token_ids for r in kept.results] == [r.token_ids for r in dropped.results]


def test_metrics_of_a_run(tiny, short_requests):
    model, tokenizer = tiny
    run = generate(model, tokenizer, short_requests, DecodingConfig(max_new_tokens=5), 4,
                   quiet=True)
    summary = run.summary()
    assert summary["num_samples"] == 8 and summary["effective_token_ratio"] == 1.0
    assert summary["samples_per_s"] > 0 and len(run.batches[0].step_s) == 4


def test_bad_input_gets_clear_errors(tiny, short_requests):
    model, tokenizer = tiny
    with pytest.raises(ValueError, match="no requests"):
        generate(model, tokenizer, [], DecodingConfig())
    with pytest.raises(ValueError, match="batch_size"):
        generate(model, tokenizer, short_requests, DecodingConfig(), batch_size=0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        DecodingConfig(max_new_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        DecodingConfig(temperature=-0.1)
    long_prompt = [Request("long", "word " * 600)]
    with pytest.raises(ValueError, match="context"):
        generate(model, tokenizer, long_prompt, DecodingConfig(max_new_tokens=8))


def test_cli_prints_a_json_summary(capsys, embedded):
    summary = main(["--num-data", "2", "--batch-size", "2", "--max-new-tokens", "6",
                    "--dtype", "float32", "--compare-hf", "--quiet"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == summary
    for key in ("samples_per_s", "tokens_per_s", "effective_token_ratio", "hf_tokens_per_s",
                "greedy_match"):
        assert key in summary
    assert summary["greedy_match"] == 1.0
