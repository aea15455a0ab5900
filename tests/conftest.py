"""Shared fixtures: a tiny random Llama for mechanics, the embedded model for end-to-end checks.

Fast tests take `tokenizer` (a small tokenizer built in memory, no model package read) or `tiny`;
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


# What the in-memory tokenizer learns its merges from: fixed text, so its ids never change.
TOKENIZER_CORPUS = (
    "What is the capital of France? Paris is the capital of France.",
    "Write a haiku about the sea. The sea is wide and blue; waves fold over the sand.",
    "Explain what a KV cache is in one paragraph: the keys and values of every earlier token "
    "are kept, so a decoding step computes only the newest token.",
    "List three prime numbers: 2, 3 and 5. Give me a recipe for pancakes with flour, eggs and "
    "milk. Translate 'good morning' into Spanish: buenos dias. Say hello. What is 2 + 2? 4.",
    "You are a helpful assistant. Answer the question, then stop. How long will your answer "
    "be? Predict the number of words in your response.",
    "word word word word word word word word word word",
)
CHAT_TEMPLATE = (  # ChatML with a default system turn, as the embedded SmolLM2's template
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def in_memory_tokenizer(vocab_size: int = 512):
    """A byte-level BPE tokenizer with a chat template, built in memory from TOKENIZER_CORPUS:
    any text encodes (bytes are its alphabet), it pads on the left and has BOS, EOS and pad ids,
    as `seqsch.core.models.load_tokenizer` sets a real one up. No model package is read."""
    from tokenizers import (  # noqa: PLC0415 (lazy: only the tests that take it pay)
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        trainers,
    )
    from transformers import (  # noqa: PLC0415 (lazy torch: see the docstring)
        PreTrainedTokenizerFast,
    )

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(TOKENIZER_CORPUS * 4, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE, padding_side="left")


@pytest.fixture(scope="session")
def tokenizer():
    """A small in-memory tokenizer with a chat template (`in_memory_tokenizer`): the fast tests
    need no model package. Tests of the embedded model's own token counts take `embedded`."""
    return in_memory_tokenizer()


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
    """A tiny random Llama sharing the in-memory tokenizer: fast, deterministic mechanics."""
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
