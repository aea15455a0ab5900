"""Continuous batching with the engine transformers ships, under the seqsch result format.

Static batches keep every row until the longest one ends; continuous batching refills a slot as soon
as a request ends, so short answers no longer wait for long ones. This module runs the same requests
(same prompts, EOS ids and decoding) through `model.init_continuous_batching` (a paged KV cache and
a FIFO scheduler in a background thread) and returns a `GenerationRun` with `engine="continuous"`,
so both engines compare under `seqsch.scheduling.metrics`. The order requests are fed in is the
scheduling lever: input order (FIFO) or shortest-predicted-first from
`seqsch.scheduling.scheduler.order_for_priority(predicted_lengths)`.

    from seqsch.engines.continuous import generate_continuous
    run = generate_continuous(model, tokenizer, requests, DecodingConfig(max_new_tokens=64))
    run = generate_continuous(model, tokenizer, requests, config, order=order_for_priority(lengths))

What works with transformers 5.19 on CPU (fp32; tests/engines/test_continuous.py):
- Greedy decoding gives the tokens of `seqsch.engines.static.generate`, also with seqsch's
  repetition penalty (the "embedded" preset). The model keeps its attention ("sdpa"; "eager" runs as
  "paged|eager"): auto-switching to flash attention is off, and the original is restored. CUDA
  graphs, compile and async batching are off on CPU (the engine's own defaults there).
- The penalty (last `penalty_window` generated tokens, EOS spared) runs as `RecentPenalty`, an
  engine logits processor. The engine takes no custom processors through its API (it builds them
  from the GenerationConfig and drops transformers' `repetition_penalty` as unsupported), so it
  joins the manager's list before the thread starts. It reads request states on the host before
  each pass, so with it CUDA graphs and async batching are forced off on GPUs too.
- Sampling (temperature, top_p) uses the engine's warpers and `torch.multinomial` after the
  engine's `torch.manual_seed(config.seed)`: reproducible, not the static generator's stream.
- Trace replay: a request with `forced_output_tokens` is queued with that many new tokens and
  no EOS id, so it ends exactly there (the engine takes both per request); its tokens are
  dropped, as the static generator drops them.
- `allow_prefix_sharing=True` reuses cached prompt blocks (shared chat-template prefixes); it
  matched static greedy on a small check, and is off by default so timings reflect scheduling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig
from transformers.generation.configuration_utils import ContinuousBatchingConfig
from transformers.generation.continuous_batching.cb_logits_processors import (
    ContinuousBatchingLogitsProcessor,
)

from seqsch.core.decoding import DecodingConfig, apply_repetition_penalty
from seqsch.core.device import dtype_name, now_s
from seqsch.core.models import eos_token_ids
from seqsch.core.random_weights import require_trained_weights
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.results import GenerationRun, request_result
from seqsch.engines.static import check_context

CACHE_HEADROOM = 1.2  # the FIFO scheduler stops admitting prompts when < 15% of blocks are free
MIN_BLOCK_SIZE = 4  # the engine's lower bound on page_size


class RecentPenalty(ContinuousBatchingLogitsProcessor):
    """seqsch's repetition penalty in the engine: before each pass it reads the latest answer
    tokens of the requests getting a token, padded with a spared id (never penalised)."""

    supported_kwargs: dict[str, type] = {}
    ignored_kwargs: tuple[str, ...] = ()

    def __init__(self, penalty: float, window: int, spare_token_ids: Sequence[int]) -> None:
        self.penalty, self.window = penalty, window
        self.spare_token_ids = tuple(spare_token_ids)
        self.recent_tokens: torch.Tensor | None = None  # [rows, width] for the coming pass

    def fill_defaults(self, int32_tensor: torch.Tensor) -> None:
        int32_tensor.zero_()  # the engine's per-request argument row: unused here

    def prepare_tensor_args(self, requests_with_new_token: list) -> torch.Tensor:
        windows = []
        for future in requests_with_new_token:
            state = future.state  # after an eviction, earlier answer tokens join the prompt
            num_prompt_tokens = state._true_initial_tokens or len(state.initial_tokens)
            answer = state.initial_tokens[num_prompt_tokens:] + state.generated_tokens
            windows.append(answer[-self.window :])
        width = max((len(w) for w in windows), default=0)
        pad_id = self.spare_token_ids[0]
        rows = [w + [pad_id] * (width - len(w)) for w in windows]
        self.recent_tokens = torch.tensor(rows, dtype=torch.long) if width else None
        return torch.zeros(len(windows), dtype=torch.int32)

    def __call__(self, scores: torch.Tensor, tensor_arg: torch.Tensor) -> torch.Tensor:
        if self.recent_tokens is None:
            return scores
        recent = self.recent_tokens.to(scores.device)
        return apply_repetition_penalty(scores, recent, self.penalty, self.spare_token_ids)


def check_order(order: Sequence[int] | None, num_requests: int) -> list[int]:
    """The feeding order as a list; input order when None. Must be a permutation of the indices."""
    if order is None:
        return list(range(num_requests))
    order = [int(i) for i in order]
    if sorted(order) != list(range(num_requests)):
        raise ValueError(f"order must be a permutation of 0..{num_requests - 1} (each request "
                         f"once), got {len(order)} indices: {order[:8]}")
    return order


def default_num_blocks(max_sequence_tokens: int, num_concurrent: int, block_size: int) -> int:
    """Enough cache blocks for `num_concurrent` requests at full length, so none is evicted."""
    blocks_per_request = math.ceil(max_sequence_tokens / block_size) + 1
    return math.ceil(num_concurrent * blocks_per_request * CACHE_HEADROOM)


def engine_generation_config(
    config: DecodingConfig, stop_ids: list[int], pad_id: int | None
) -> GenerationConfig:
    """What the engine builds its sampler from: no warpers when greedy, no top-k ever."""
    is_greedy = config.is_greedy
    sampling = {} if is_greedy else {"temperature": config.temperature, "top_p": config.top_p}
    return GenerationConfig(
        do_sample=not is_greedy, top_k=None, max_new_tokens=config.max_new_tokens,
        eos_token_id=stop_ids, pad_token_id=pad_id, **sampling,
    )


def run_engine(
    manager, prompts: Sequence[Sequence[int]], order: list[int], max_new_tokens: int,
    stop_ids: list[int], quiet: bool, forced: Sequence[int | None] | None = None,
) -> dict:
    """Allocate the cache, queue the prompts in `order`, start the engine's thread and collect
    each finished request (keyed by input index). A request with a `forced` length asks for that
    many tokens (at most `max_new_tokens`) with no EOS id. The manager is stopped on every exit
    path."""
    forced = forced or [None] * len(prompts)
    device, outputs = manager.model.device, {}
    try:
        setup_start = now_s(device)
        manager.warmup()  # allocates the paged cache (and captures CUDA graphs when enabled)
        setup_s = now_s(device) - setup_start
        for index in order:  # queued before the thread starts, so it drains them in this order
            is_forced = forced[index] is not None
            manager.add_request(
                prompts[index], request_id=str(index),
                max_new_tokens=min(forced[index], max_new_tokens) if is_forced else max_new_tokens,
                eos_token_id=[] if is_forced else stop_ids)
        run_start = now_s(device)
        manager.start()
        with tqdm(total=len(order), desc="requests", disable=quiet) as bar:
            while len(outputs) < len(order):
                output = finished_output(manager, timeout_s=0.1)
                if output is not None:
                    outputs[int(output.request_id)] = output
                    bar.update(1)
        wall_s = now_s(device) - run_start
    finally:  # a flush-stop would wait for every queued request after an error
        is_interrupted = len(outputs) < len(order)
        manager.stop(block=True, keep_for_next_session=False, hard_stop=is_interrupted)
        manager.destroy()
    return {"outputs": outputs, "run_start": run_start, "wall_s": wall_s, "setup_s": setup_s,
            "num_forward_passes": getattr(manager, "current_batch", 0)}


def finished_output(manager, timeout_s: float):
    """The next finished request's output of a running continuous-batching manager, or None
    when none finished within `timeout_s`; a stopped engine or a failed request raises."""
    output = manager.get_result(timeout=timeout_s)
    if output is None:
        if not manager.is_running():
            error = manager.background_thread_status.fatal_error
            raise RuntimeError(f"the continuous-batching engine stopped: {error}")
        return None
    if output.error is not None:
        raise RuntimeError(f"request {output.request_id} failed: {output.error}")
    return output if output.is_finished() else None


def generate_continuous(
    model, tokenizer, requests: Sequence[Request], config: DecodingConfig | None = None,
    order: Sequence[int] | None = None, max_batch_tokens: int = 512, num_blocks: int | None = None,
    block_size: int = 32, max_requests: int = 16, quiet: bool = False,
    prompts: Sequence[Sequence[int]] | None = None, allow_prefix_sharing: bool = False,
) -> GenerationRun:
    """Generate answers for `requests` with continuous batching; results come back in input order.

    Requests enter the engine's waiting queue in `order`; `max_requests` bounds the requests per
    forward pass, `max_batch_tokens` the tokens per pass (longer prompts are prefilled in chunks).
    `num_blocks` cache blocks of `block_size` tokens default to room for `max_requests` requests
    at full length. `completion_s` is when the engine finished each request, from the run start."""
    config = config or DecodingConfig()
    if not requests:
        raise ValueError("no requests given: pass at least one Request")
    if min(max_requests, max_batch_tokens) < 1 or block_size < MIN_BLOCK_SIZE:
        raise ValueError(f"need max_requests >= 1, max_batch_tokens >= 1, block_size >= "
                         f"{MIN_BLOCK_SIZE}; got {max_requests}, {max_batch_tokens}, {block_size}")
    order = check_order(order, len(requests))
    forced = [r.forced_output_tokens for r in requests]
    if None in forced:
        require_trained_weights(model, "generating answers")
    prompts = prompts if prompts is not None else encode_prompts(tokenizer, requests)
    if len(prompts) != len(requests):
        raise ValueError(f"{len(prompts)} prompts for {len(requests)} requests")
    check_context(model, requests, prompts, config.max_new_tokens)
    max_sequence_tokens = max(len(p) for p in prompts) + config.max_new_tokens
    if num_blocks is None:
        num_concurrent = min(max_requests, len(requests))
        num_blocks = default_num_blocks(max_sequence_tokens, num_concurrent, block_size)
    if num_blocks * block_size < max_sequence_tokens:
        raise ValueError(f"num_blocks={num_blocks} x block_size={block_size} cannot hold the "
                         f"longest request ({max_sequence_tokens} tokens)")
    if getattr(model, "_cached_continuous_batching_manager", None) is not None:
        raise ValueError("the model holds a persistent continuous-batching manager; call "
                         "model.destroy_cached_continuous_batching_manager() first")

    device, stop_ids = model.device, eos_token_ids(model, tokenizer)
    is_penalised = config.repetition_penalty != 1.0
    engine_config = ContinuousBatchingConfig(
        page_size=block_size, num_blocks=num_blocks, max_batch_tokens=max_batch_tokens,
        max_requests_per_batch=max_requests, allow_block_sharing=allow_prefix_sharing,
        auto_switch_to_flash=False, seed=config.seed, default_compile_level=0,
        # the penalty reads request states on the host before each pass: no graphs, no overlap
        use_cuda_graph=False if is_penalised else None,
        use_async_batching=False if is_penalised else None,
    )
    original_attn = model.config._attn_implementation
    generation_config = engine_generation_config(config, stop_ids, tokenizer.pad_token_id)
    # the engine calls torch.manual_seed(config.seed): keep the caller's random state
    with torch.random.fork_rng(devices=[] if device.type == "cpu" else None):
        try:
            manager = model.init_continuous_batching(
                generation_config=generation_config, continuous_batching_config=engine_config
            )
            if is_penalised:  # no public hook for custom processors: join the engine's list
                penalty = RecentPenalty(config.repetition_penalty, config.penalty_window, stop_ids)
                manager.logit_processor.logits_processor.insert(0, penalty)
                manager.logit_processor.tensors_required += 1
                manager.logit_processor.do_processing = True
            timing = run_engine(manager, prompts, order, config.max_new_tokens, stop_ids, quiet,
                                forced)
        finally:  # the engine restores it on stop; this covers failures before the start too
            if model.config._attn_implementation != original_attn:
                model.set_attn_implementation(original_attn)
    outputs, run_start, wall_s = timing["outputs"], timing["run_start"], timing["wall_s"]
    resolved = manager.continuous_batching_config

    results = []
    for index, request in enumerate(requests):
        output = outputs[index]
        ids = list(output.generated_tokens)
        end_s = output.lifespan[1] if output.lifespan[1] > 0 else run_start + wall_s
        results.append(request_result(
            request, ids, bool(ids) and ids[-1] in stop_ids, config.max_new_tokens,
            len(prompts[index]), partial(tokenizer.decode, skip_special_tokens=True),
            completion_s=end_s - run_start))
    num_tokens, num_passes = sum(r.num_output_tokens for r in results), timing["num_forward_passes"]
    extra = {
        "order": order,
        "engine_config": {
            "max_batch_tokens": resolved.max_batch_tokens, "num_blocks": resolved.num_blocks,
            "block_size": resolved.page_size, "max_requests": resolved.max_requests_per_batch,
            "allow_prefix_sharing": allow_prefix_sharing, "attn_implementation": original_attn,
            "use_cuda_graph": list(resolved.cuda_graph_booleans),
            "use_async_batching": bool(resolved.use_async_batching),
        },
        "setup_s": timing["setup_s"],  # paged-cache allocation, before the clock starts
        "num_forward_passes": num_passes,
        # new tokens per pass over the request limit: how full the decoding slots were
        "slot_occupancy": num_tokens / (num_passes * max_requests) if num_passes else 0.0,
    }
    return GenerationRun(
        results=results, batches=[], wall_s=wall_s, engine="continuous", device=str(device),
        dtype=dtype_name(model.dtype), decoding=config.to_dict(), extra=extra,
    )
