"""Tests of seqsch.engines.continuous: transformers' continuous batching behind seqsch's results.

A tiny random Llama (with the embedded model's tokenizer) checks the mechanics in seconds; one
slow check compares both engines on the embedded SmolLM2."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from seqsch.core.decoding import DECODING_PRESETS, DecodingConfig
from seqsch.core.requests import Request
from seqsch.engines.continuous import check_order, generate_continuous
from seqsch.engines.static import generate

PROMPTS = [
    "What is the capital of France?",
    "Say hello.",
    "List three prime numbers, please.",
    "What is 2 + 2?",
    "Write a haiku about the sea.",
    "Give me a recipe for pancakes.",
]
PENALISED = DecodingConfig(max_new_tokens=12, repetition_penalty=1.3, penalty_window=8)


@pytest.fixture(scope="module")
def tiny_model(tokenizer):
    """A tiny random Llama. initializer_range=0.08 makes it repeat itself often enough for the
    repetition penalty to change its answers (at the default 0.02 it repeats one token)."""
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        initializer_range=0.08, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


@pytest.fixture
def requests() -> list[Request]:
    return [Request(f"q{i}", prompt) for i, prompt in enumerate(PROMPTS)]


def token_ids(run) -> list[list[int]]:
    return [r.token_ids for r in run.results]


def test_greedy_matches_static_in_input_order(tiny_model, tokenizer, requests):
    config = DecodingConfig(max_new_tokens=12)
    static = generate(tiny_model, tokenizer, requests, config, quiet=True)
    run = generate_continuous(tiny_model, tokenizer, requests, config, max_requests=4, quiet=True)
    assert [r.id for r in run.results] == [r.id for r in requests]
    assert token_ids(run) == token_ids(static)
    assert [r.num_prompt_tokens for r in run.results] == [
        r.num_prompt_tokens for r in static.results
    ]
    assert run.engine == "continuous" and run.batches == []
    assert all(r.is_capped and r.num_output_tokens == 12 for r in run.results)
    assert run.extra["engine_config"]["max_requests"] == 4
    assert 0 < max(r.completion_s for r in run.results) <= run.wall_s
    assert run.summary()["num_samples"] == len(requests)
    assert tiny_model.config._attn_implementation == "sdpa"


def test_penalty_and_early_eos_match_static(tiny_model, tokenizer, requests):
    plain = generate(tiny_model, tokenizer, requests, PENALISED.with_(repetition_penalty=1.0),
                     quiet=True)
    first = generate(tiny_model, tokenizer, requests, PENALISED, quiet=True)
    assert token_ids(first) != token_ids(plain), "the penalty should change some answers"
    # extra stop ids taken from the answers, so that requests end at different steps; none is
    # in the last answer, which therefore still runs to the cap
    last = set(first.results[-1].token_ids)
    stop_ids = {next(t for t in first.results[i].token_ids[1 + i:] if t not in last)
                for i in (0, 2)}
    original_eos = tiny_model.generation_config.eos_token_id
    tiny_model.generation_config.eos_token_id = [tokenizer.eos_token_id, *sorted(stop_ids)]
    try:
        static = generate(tiny_model, tokenizer, requests, PENALISED, quiet=True)
        run = generate_continuous(tiny_model, tokenizer, requests, PENALISED, max_requests=3,
                                  block_size=8, max_batch_tokens=64, quiet=True)
    finally:
        tiny_model.generation_config.eos_token_id = original_eos
    assert token_ids(run) == token_ids(static)
    lengths = [r.num_output_tokens for r in run.results]
    assert len(set(lengths)) > 1
    assert [r.is_finished for r in run.results] == [r.is_finished for r in static.results]
    assert any(r.is_finished for r in run.results) and any(r.is_capped for r in run.results)


def test_order_decides_completion_order(tiny_model, tokenizer, requests):
    config = DecodingConfig(max_new_tokens=4)
    kwargs = {"max_requests": 1, "quiet": True}  # one request at a time: completion = queue order
    fifo = generate_continuous(tiny_model, tokenizer, requests, config, **kwargs)
    order = list(range(len(requests)))[::-1]
    reordered = generate_continuous(tiny_model, tokenizer, requests, config, order=order, **kwargs)
    fifo_s = [r.completion_s for r in fifo.results]
    reordered_s = [r.completion_s for r in reordered.results]
    assert fifo_s == sorted(fifo_s) and reordered_s == sorted(reordered_s, reverse=True)
    assert token_ids(fifo) == token_ids(reordered)
    assert [r.id for r in reordered.results] == [r.id for r in requests]
    assert reordered.extra["order"] == order


def test_eager_attention_is_restored(tiny_model, tokenizer, requests):
    tiny_model.set_attn_implementation("eager")
    try:
        config = DecodingConfig(max_new_tokens=4)
        static = generate(tiny_model, tokenizer, requests[:2], config, quiet=True)
        run = generate_continuous(tiny_model, tokenizer, requests[:2], config, quiet=True)
        assert tiny_model.config._attn_implementation == "eager"
        assert token_ids(run) == token_ids(static)
    finally:
        tiny_model.set_attn_implementation("sdpa")


def test_sampling_is_seeded_and_keeps_the_global_rng(tiny_model, tokenizer, requests):
    config = DecodingConfig(max_new_tokens=6, temperature=0.8, top_p=0.9, seed=3)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = generate_continuous(tiny_model, tokenizer, requests[:3], config, quiet=True)
    assert torch.equal(torch.get_rng_state(), state)
    second = generate_continuous(tiny_model, tokenizer, requests[:3], config, quiet=True)
    assert token_ids(first) == token_ids(second)


def test_bad_inputs_raise_clear_errors(tiny_model, tokenizer, requests):
    config = DecodingConfig(max_new_tokens=4)
    with pytest.raises(ValueError, match="no requests"):
        generate_continuous(tiny_model, tokenizer, [], config, quiet=True)
    with pytest.raises(ValueError, match="permutation"):
        generate_continuous(tiny_model, tokenizer, requests, config, order=[0, 0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="permutation"):
        check_order([0, 1], 3)
    with pytest.raises(ValueError, match="cannot hold"):
        generate_continuous(tiny_model, tokenizer, requests, config, num_blocks=1, block_size=4)
    with pytest.raises(ValueError, match="block_size"):
        generate_continuous(tiny_model, tokenizer, requests, config, block_size=2)
    assert check_order(None, 3) == [0, 1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["greedy", "embedded"])
def test_embedded_model_matches_static(embedded, preset):
    model, tokenizer = embedded
    assert model.dtype == torch.float32  # pinned by the fixture: bf16 answers differ by CPU
    requests = [Request(f"q{i}", prompt) for i, prompt in enumerate(PROMPTS[:3])]
    config = DECODING_PRESETS[preset].with_(max_new_tokens=24)
    static = generate(model, tokenizer, requests, config, quiet=True)
    run = generate_continuous(model, tokenizer, requests, config, quiet=True)
    assert [r.text for r in run.results] == [r.text for r in static.results]
    assert token_ids(run) == token_ids(static)
    assert "Paris" in run.results[0].text
