"""Shared fixtures: a tiny random Llama for mechanics, the embedded model for end-to-end checks.

Fast tests take `tokenizer` (the embedded model's tokenizer alone, no weights read) or `tiny`;
only slow end-to-end checks take `embedded`, pinned to float32 so that token comparisons do not
depend on the CPU. Tests of the paper's length files take `paper_val_path`, which skips where
the reference files are absent. torch and the models load inside the fixtures that use them:
every test loads this file, and the scheduling and widget panel tests run without torch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seqsch.core.requests import Request
from seqsch.core.workloads import find_paper_lengths

# Reference files beside the project, where present (developers' machines and CI): the paper's
# length files are found through SEQSCH_PAPER_DIR, also by notebook kernels the tests start.
PAPER_DIR = Path(__file__).resolve().parents[2] / "shared" / "paper"
if PAPER_DIR.is_dir():
    os.environ.setdefault("SEQSCH_PAPER_DIR", str(PAPER_DIR))


@pytest.fixture(scope="session")
def paper_val_path() -> Path:
    """The paper's validation length file (Vicuna-7B on Alpaca): the shipped copy in data/paper/,
    else the reference files beside the project, else a clean skip."""
    path = find_paper_lengths("alpaca-val-10k-length.json")
    if path is None:
        pytest.skip("paper length file absent (set SEQSCH_PAPER_DIR to its folder)")
    return path


@pytest.fixture(scope="session")
def embedded():
    """The embedded SmolLM2-135M-Instruct and its tokenizer (converted once, then cached), in
    float32 on every CPU: the tests that compare tokens must not depend on the CPU's dtype."""
    from seqsch.core.models import load_model  # noqa: PLC0415 (lazy torch: see the docstring)

    return load_model(dtype="float32")


@pytest.fixture(scope="session")
def tokenizer():
    """The embedded model's tokenizer alone (no weights read), set up as `load_model` sets it."""
    from seqsch.core.models import (  # noqa: PLC0415 (lazy torch: see the docstring)
        embedded_model_dir,
        load_tokenizer,
    )

    try:
        folder = embedded_model_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"the embedded model (for its tokenizer) is missing: {exc}")
    return load_tokenizer(str(folder))


def tiny_llama(tokenizer, num_hidden_layers: int = 2, hidden_size: int = 64, seed: int = 0):
    """A tiny random Llama (eval mode) sharing `tokenizer`: fast, deterministic mechanics."""
    import torch  # noqa: PLC0415 (lazy torch: see the docstring)
    from transformers import (  # noqa: PLC0415 (lazy torch: see the docstring)
        LlamaConfig,
        LlamaForCausalLM,
    )

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=num_hidden_layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True, initializer_range=0.3,
    )
    model = LlamaForCausalLM(config).to(torch.float32).eval()  # float32, whatever the default
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


@pytest.fixture(scope="session")
def tiny(tokenizer):
    """A tiny random Llama sharing the embedded tokenizer: fast, deterministic mechanics."""
    return tiny_llama(tokenizer), tokenizer


@pytest.fixture(scope="session")
def short_requests():
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
