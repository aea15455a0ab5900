"""Shared fixtures: a tiny random Llama for mechanics, the embedded model for end-to-end checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Reference files beside the project, where present (developers' machines and CI): the paper's
# length files are found through SEQSCH_PAPER_DIR, also by notebook kernels the tests start.
PAPER_DIR = Path(__file__).resolve().parents[2] / "shared" / "paper"
if PAPER_DIR.is_dir():
    os.environ.setdefault("SEQSCH_PAPER_DIR", str(PAPER_DIR))


@pytest.fixture(scope="session")
def embedded():
    """The embedded SmolLM2-135M-Instruct and its tokenizer (converted once, then cached)."""
    from seqsch.models import load_model

    return load_model()


def tiny_llama(tokenizer, num_hidden_layers: int = 2, hidden_size: int = 64, seed: int = 0):
    """A tiny random Llama (eval mode) sharing `tokenizer`: fast, deterministic mechanics."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=num_hidden_layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True, initializer_range=0.3,
    )
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


@pytest.fixture(scope="session")
def tiny(embedded):
    """A tiny random Llama sharing the embedded tokenizer: fast, deterministic mechanics."""
    _, tokenizer = embedded
    return tiny_llama(tokenizer), tokenizer


@pytest.fixture(scope="session")
def short_requests():
    from seqsch.data import Request

    prompts = [
        "What is the capital of France?",
        "Write a haiku about the sea.",
        "List three prime numbers.",
        "Explain what a KV cache is in one paragraph.",
        "Say hello.",
        "Translate 'good morning' into Spanish.",
        "Give me a recipe for pancakes.",
        "What is 2 + 2?",
    ]
    return [Request(f"q{i}", p) for i, p in enumerate(prompts)]
