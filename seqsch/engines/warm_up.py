"""One warm-up before every timed run, so that no schedule and no predictor pays a code path's
first-pass set-up.

The first pass through a code path costs what no later pass does: memory the allocator reserves,
kernels dispatched for the first time, a KV cache allocated (the continuous engine, vLLM), a
predictor's weights first touched. A benchmark that timed it would charge whichever run came
first. The project's timed runs (sweeps, live slices, the engines' demo, a predictor's scoring)
therefore run this short warm-up before their clock starts, and never time it: the first
NUM_WARM_UP_REQUESTS requests, WARM_UP_TOKENS new tokens each. (The continuous engines also
allocate their cache in `manager.warmup()`, and the serving benchmark warms a live predictor up
through its own `warm_up()` once the engine runs: both before any clock starts.)

    warm_up_engines(model, tokenizer, requests, prompts, decoding)                # static
    warm_up_engines(model, tokenizer, requests, prompts, decoding, num_slots=3)   # + continuous
    warm_up_vllm(engine, decoding)
    warm_up_predictor(predictor, requests)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from seqsch.core.decoding import DecodingConfig
from seqsch.core.requests import Request
from seqsch.engines.continuous import generate_continuous
from seqsch.engines.static import generate

NUM_WARM_UP_REQUESTS = 2
WARM_UP_TOKENS = 4
# what vLLM is warmed up on when its engine is built before any workload is at hand
WARM_UP_TEXT = tuple(Request(f"warm-up-{i}", "Hello") for i in range(NUM_WARM_UP_REQUESTS))


def warm_up_decoding(decoding: DecodingConfig) -> DecodingConfig:
    """`decoding` cut to WARM_UP_TOKENS new tokens."""
    return decoding.with_(max_new_tokens=WARM_UP_TOKENS)


def warm_up_engines(model, tokenizer, requests: Sequence[Request],
                    prompts: Sequence[Sequence[int]], decoding: DecodingConfig,
                    num_slots: int | None = None) -> float:
    """Run the first requests through the static engine, and through the continuous engine with
    `num_slots` slots when given (each path has its own first-pass costs); the seconds spent."""
    start = time.perf_counter()
    few, few_prompts = list(requests[:NUM_WARM_UP_REQUESTS]), list(prompts[:NUM_WARM_UP_REQUESTS])
    short = warm_up_decoding(decoding)
    generate(model, tokenizer, few, short, quiet=True, prompts=few_prompts)
    if num_slots is not None:
        generate_continuous(model, tokenizer, few, short, prompts=few_prompts,
                            max_requests=num_slots, quiet=True)
    return time.perf_counter() - start


def warm_up_vllm(engine: Any, decoding: DecodingConfig,
                 requests: Sequence[Request] = WARM_UP_TEXT) -> None:
    """Run a vLLM engine (`seqsch.engines.vllm_engine.VllmEngine`) once on a few requests."""
    engine.generate(list(requests[:NUM_WARM_UP_REQUESTS]), warm_up_decoding(decoding),
                    quiet=True)


def warm_up_predictor(predictor: Any, requests: Sequence[Request]) -> None:
    """Let a length predictor (anything with `predict(requests)`) read the first requests once."""
    predictor.predict(list(requests[:NUM_WARM_UP_REQUESTS]))
