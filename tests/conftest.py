"""Shared fixtures: a tiny random Llama for mechanics, the embedded model for end-to-end checks.

Fast tests take `tokenizer` (the embedded model's tokenizer alone, no weights read) or `tiny`;
only slow end-to-end checks take `embedded`, pinned to float32 so that token comparisons do not
depend on the CPU. Tests of the paper's length files take `paper_val_path`, which skips where
the reference files are absent. torch and the models load inside the fixtures that use them:
every test loads this file, and the scheduling and widget panel tests run without torch."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from seqsch.bench.serving_compare import step_terms
from seqsch.core.requests import Request
from seqsch.core.workloads import find_paper_lengths
from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.serving import (
    ServingConfig,
    burst_arrivals,
    poisson_arrivals,
    simulate_serving,
)

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


# Serving-bench records (`python -m seqsch.bench serve`) that an engine whose steps cost
# SERVING_ENGINE's would write: tests of the measured rows and of results section 9.
SERVING_ENGINE = CostModel("engine", "test", 0.05, 0.002, 2e-6, 0.01, 8e-4)
SERVING_LENGTHS = [40, 3, 25, 60, 8, 14, 33, 5, 50, 19, 2, 27]
SERVING_PROMPTS = [12, 80, 30, 5, 64, 20, 9, 48, 15, 100, 7, 36]
SERVING_SLOTS = 3
SERVING_PREDICT_S = 0.05


def serving_record(rate: float, label: str, priorities=None, aging_per_s: float = 0.0) -> dict:
    """A cell as `run_serving_bench` writes it, from an engine whose steps cost what
    SERVING_ENGINE prices them at."""
    arrivals = (burst_arrivals(len(SERVING_LENGTHS)) if math.isinf(rate)
                else poisson_arrivals(len(SERVING_LENGTHS), rate, 0))
    predict_s = 0.0 if priorities is None else SERVING_PREDICT_S
    config = ServingConfig(SERVING_SLOTS,
                           "first-come" if priorities is None else "shortest-predicted",
                           aging_per_s, predict_s, predictor_blocks_engine=False)
    result = simulate_serving(SERVING_LENGTHS, SERVING_PROMPTS, arrivals, priorities, config,
                              SERVING_ENGINE)
    cell = {"request_rate": rate, "policy": label, "aging_per_s": aging_per_s,
            "predictor": {"mode": "sleep", "s_per_request": predict_s},
            "config": {"engine": "vllm", "model": "random:smollm2-360m",
                       "num_requests": len(SERVING_LENGTHS), "num_slots": SERVING_SLOTS,
                       "seed": 0, "dtype": "bf16"},
            "environment": {"engine": "vllm", "device": "test", "dtype": "bfloat16",
                            "vllm": "test", "num_threads": 2},
            "summary": result.summary,
            "requests": {"arrival_s": result.arrival_s, "queued_s": result.queued_s,
                         "predict_s": [predict_s] * len(SERVING_LENGTHS),
                         "first_token_s": result.first_token_s, "finish_s": result.finish_s,
                         "first_token_step": result.first_token_step,
                         "finish_step": result.finish_step, "num_output_tokens": SERVING_LENGTHS,
                         "prompt_tokens": SERVING_PROMPTS, "priorities": priorities},
            "step_s": [0.0] * result.summary["num_steps"]}
    cell["step_s"] = [
        (SERVING_ENGINE.prefill_s(admitted, prompt_sum / admitted) if admitted else 0.0)
        + (SERVING_ENGINE.step_s(decoding, context_sum / decoding) if decoding else 0.0)
        for decoding, context_sum, admitted, prompt_sum, _ in step_terms(cell)]
    return cell
