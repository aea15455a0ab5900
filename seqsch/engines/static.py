"""Static-batch generation with a KV cache: the engine whose waste the paper measures.

Each batch is left-padded, prefilled once, then decoded one token per step for every row until
all rows have ended (EOS or the batch's cap). Rows that end early keep occupying their slot:
that is the redundant computation. Batches come either from a fixed batch size (dataset order)
or from `seqsch.scheduling.scheduler` (each with its own cap, for FCR). Greedy decoding gives
exactly the tokens of `model.generate` (`seqsch.engines.reference`). In trace replay a request
carries the length its answer must have (`Request.forced_output_tokens`): its row ignores EOS and
ends exactly there, so a schedule is timed on a recorded length distribution
(`seqsch.bench.replay`).

    run = generate(model, tokenizer, requests, DECODING_PRESETS["embedded"], batch_size=16)
    run.summary()   # ETR, samples/s, tokens/s, ...
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from tqdm.auto import tqdm

from seqsch.core.decoding import DecodingConfig, apply_repetition_penalty
from seqsch.core.device import dtype_name, now_s
from seqsch.core.models import eos_token_ids
from seqsch.core.random_weights import require_trained_weights
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.results import BatchResult, GenerationRun, RequestResult, request_result
from seqsch.scheduling.scheduler import SchedulerConfig, schedule


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int, device) -> tuple[torch.Tensor, ...]:
    """[B, T] input ids and attention mask, padded on the left to the longest prompt."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt) :] = 1
    return ids.to(device), mask.to(device)


def positions_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids [B, T] of left-padded rows: 0 at each row's first real token."""
    return (attention_mask.cumsum(-1) - 1).clamp_min(0)


@torch.inference_mode()
def prefill(model, input_ids: torch.Tensor, attention_mask: torch.Tensor):
    """Run the prompts; return the last position's logits [B, V], the cache and positions [B]."""
    position_ids = positions_from_mask(attention_mask)
    out = model(
        input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
        use_cache=True, logits_to_keep=1,
    )
    return out.logits[:, -1, :].float(), out.past_key_values, position_ids[:, -1]


@torch.inference_mode()
def decode_step(model, tokens: torch.Tensor, attention_mask, positions, cache) -> torch.Tensor:
    """One token per row ([B]) through the model with the KV cache; logits [B, V]."""
    out = model(
        input_ids=tokens[:, None], attention_mask=attention_mask,
        position_ids=positions[:, None], past_key_values=cache, use_cache=True,
    )
    return out.logits[:, -1, :].float()


def sample(logits: torch.Tensor, config: DecodingConfig, generator=None) -> torch.Tensor:
    """Next token per row: argmax when greedy, else temperature + nucleus (top-p) sampling."""
    if config.is_greedy:
        return logits.argmax(-1)
    probs = torch.softmax(logits / config.temperature, dim=-1)
    if config.top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        outside = sorted_probs.cumsum(-1) - sorted_probs > config.top_p  # keep >= 1 token
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.inference_mode()
def generate_batch(
    model, prompts: Sequence[Sequence[int]], max_new_tokens: int, config: DecodingConfig,
    pad_id: int, stop_ids: Sequence[int], generator=None, drop_finished: bool = False,
    forced_lengths: Sequence[int | None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Generate for one static batch. Returns tokens [B, steps], output lengths [B] (EOS
    included) and timings: prefill_s and the time of each later step.

    `forced_lengths` (one per row, None for a natural row): a forced row ignores EOS and ends
    after exactly that many tokens, or at `max_new_tokens` if that comes first.

    With `drop_finished`, rows that ended leave the batch (their KV cache rows are dropped, the
    slot is not refilled): less waste, but no longer the paper's static batching, and the
    run's ETR (which counts rows x steps) no longer measures the work done. The length
    collection uses it; benchmarks do not."""
    device = model.device
    input_ids, attention_mask = left_pad(prompts, pad_id, device)
    num_rows = len(prompts)
    stop = torch.tensor(list(stop_ids), dtype=torch.long, device=device)
    tokens = torch.full((num_rows, max_new_tokens), pad_id, dtype=torch.long, device=device)
    lengths = torch.zeros(num_rows, dtype=torch.long, device=device)
    is_done = torch.zeros(num_rows, dtype=torch.bool, device=device)
    forced = torch.tensor([n or 0 for n in forced_lengths or [None] * num_rows], device=device)
    is_forced = forced > 0  # [B]: these rows end at their forced length, never at EOS
    active = slice(None)  # rows still in the batch: all, or an index tensor once rows leave

    start = now_s(device)
    logits, cache, positions = prefill(model, input_ids, attention_mask)
    step_s, step = [], 0
    while True:
        if config.repetition_penalty != 1.0:
            recent = tokens[active, max(0, step - config.penalty_window) : step]
            apply_repetition_penalty(logits, recent, config.repetition_penalty, stop_ids)
        next_tokens = sample(logits, config, generator).masked_fill(is_done[active], pad_id)
        tokens[active, step] = next_tokens
        lengths[active] += (~is_done[active]).long()
        is_end = torch.isin(next_tokens, stop)
        is_end = torch.where(is_forced[active], lengths[active] >= forced[active], is_end)
        is_done[active] |= is_end
        step += 1
        step_time = now_s(device)
        step_s.append(step_time - start)
        start = step_time
        if step >= max_new_tokens or bool(is_done.all()):
            break
        if drop_finished and bool(is_done[active].any()):
            keep = (~is_done[active]).nonzero().squeeze(-1)
            cache.batch_select_indices(keep)
            active = torch.arange(num_rows, device=device)[active][keep]
            attention_mask, positions = attention_mask[keep], positions[keep]
            next_tokens = next_tokens[keep]
        ones = torch.ones((len(next_tokens), 1), dtype=attention_mask.dtype, device=device)
        attention_mask = torch.cat([attention_mask, ones], dim=1)
        positions = positions + 1
        logits = decode_step(model, next_tokens, attention_mask, positions, cache)
    return tokens[:, :step], lengths, {"prefill_s": step_s[0], "step_s": step_s[1:]}


def fixed_batches(num_requests: int, batch_size: int, max_new_tokens: int) -> list:
    """Dataset-order batches of `batch_size`, the paper's vanilla schedule."""

    config = SchedulerConfig("vanilla", batch_size=batch_size, max_new_tokens=max_new_tokens)
    return schedule([None] * num_requests, config)


def check_context(model, requests, prompts, max_new_tokens: int) -> None:
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit is None:
        return
    too_long = [r.id for r, p in zip(requests, prompts) if len(p) + max_new_tokens > limit]
    if too_long:
        raise ValueError(
            f"{len(too_long)} prompts plus max_new_tokens={max_new_tokens} exceed the model's "
            f"context of {limit} tokens (e.g. {too_long[:3]}). Filter them out "
            "(seqsch.core.requests.filter_by_prompt_tokens) or lower max_new_tokens."
        )


def generate(
    model, tokenizer, requests: Sequence[Request], config: DecodingConfig | None = None,
    batch_size: int = 16, batches: Sequence | None = None, quiet: bool = False,
    prompts: Sequence[Sequence[int]] | None = None, start_s: float | None = None,
    drop_finished: bool = False,
) -> GenerationRun:
    """Generate answers for `requests` in static batches; results come back in input order.

    `batches` (objects with `.indices`, `.max_new_tokens` and optionally `.is_recompute`, as
    `seqsch.scheduling.scheduler` makes them) overrides `batch_size`. A row cut at a batch cap below
    `config.max_new_tokens` counts as an FCR failure in its batch. A request with a forced
    length (trace replay) ends there, or fails like any other row at a lower cap; its tokens are
    not kept (empty `text` and `token_ids`): they are not an answer."""
    config = config or DecodingConfig()
    if not requests:
        raise ValueError("no requests given: pass at least one Request")
    forced = [r.forced_output_tokens for r in requests]
    if None in forced:
        require_trained_weights(model, "generating answers")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    prompts = prompts if prompts is not None else encode_prompts(tokenizer, requests)
    if batches is None:
        batches = fixed_batches(len(requests), batch_size, config.max_new_tokens)
    check_context(model, requests, prompts, max(b.max_new_tokens for b in batches))
    device, pad_id, stop_ids = model.device, tokenizer.pad_token_id, eos_token_ids(model, tokenizer)
    text_of = partial(tokenizer.decode, skip_special_tokens=True)
    generator = None
    if not config.is_greedy:
        generator = torch.Generator(device=device).manual_seed(config.seed)

    results: list[RequestResult | None] = [None] * len(requests)
    batch_results = []
    run_start = now_s(device) if start_s is None else start_s
    for batch_index, batch in enumerate(tqdm(batches, desc="batches", disable=quiet)):
        indices = list(batch.indices)
        cap = min(batch.max_new_tokens, config.max_new_tokens)
        batch_prompts = [prompts[i] for i in indices]
        tokens, lengths, timing = generate_batch(
            model, batch_prompts, cap, config, pad_id, stop_ids, generator, drop_finished,
            [forced[i] for i in indices],
        )
        done_s = now_s(device) - run_start
        num_steps, num_final_tokens, num_failed = tokens.shape[1], 0, 0
        for row, index in enumerate(indices):
            n = int(lengths[row])
            ids = tokens[row, :n].tolist()
            result = request_result(
                requests[index], ids, n > 0 and ids[-1] in stop_ids, config.max_new_tokens,
                len(batch_prompts[row]), text_of, num_batch_steps=num_steps,
                batch_index=batch_index, completion_s=done_s)
            is_failed = not result.is_finished and cap < config.max_new_tokens
            num_failed += is_failed
            num_final_tokens += 0 if is_failed else n
            results[index] = result
        batch_results.append(BatchResult(
            indices=indices, max_new_tokens=cap, num_steps=num_steps,
            num_output_tokens=num_final_tokens, num_failed=num_failed,
            num_prompt_tokens=max(len(p) for p in batch_prompts), prefill_s=timing["prefill_s"],
            wall_s=timing["prefill_s"] + sum(timing["step_s"]), step_s=timing["step_s"],
            is_recompute=getattr(batch, "is_recompute", False),
        ))
    return GenerationRun(
        results=results, batches=batch_results, wall_s=now_s(device) - run_start,
        engine="static", device=str(device), dtype=dtype_name(model.dtype),
        decoding=config.to_dict(),
    )
