"""Prompt features for the length probe: hidden states of the prefill, at any depth, cached.

The probe (`seqsch.perception.probe`) reads the states the scheduler's prefill computes anyway: for
each chat-formatted prompt, the mean over its tokens and the last token's state, after the final
norm. `num_layers` chooses the depth: the state after that many decoder layers (0 = the token
embeddings), passed through the final norm. The forward pass stops there, so a probe on layer 6 of
30 costs a fifth of a full prefill; `None` reads the last layer (HF's last hidden state).
`max_prompt_tokens` bounds the cost of long prompts: only their first and last tokens are read. The
chat template's system turn, which every prompt starts with, is prefilled once and its keys and
values are reused by every batch: on ShareGPT's short prompts that is a third of the work.

    features = extract_features(model, tokenizer, requests, num_layers=6)    # {"mean", "last"}
    by_depth = extract_features_by_depth(model, tokenizer, requests, [0, 6, 30])  # one pass
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm.auto import tqdm
from transformers import DynamicCache

from seqsch.core.files import atomic_path
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.static import left_pad, positions_from_mask


class _StopForward(Exception):
    """Raised by a hook once the deepest wanted state exists: the rest of the model is skipped."""


def num_decoder_layers(model) -> int:
    return int(model.config.num_hidden_layers)


def _decoder(model):
    decoder = model.get_decoder()
    missing = [n for n in ("embed_tokens", "layers", "norm") if not hasattr(decoder, n)]
    if missing:
        raise ValueError(f"{type(decoder).__name__} has no {', '.join(missing)}: probe depths "
                         "need a decoder-only model laid out like Llama; use num_layers=None")
    return decoder


def _states_after(model, ids, mask, positions, depths: Sequence[int],
                  cache=None) -> dict[int, torch.Tensor]:
    """{depth: [B, T, H] state after `depth` decoder layers, through the final norm}. With a
    `cache` (a DynamicCache of earlier tokens, `mask` covering them too) the layers read it and
    append to it."""
    decoder, num_layers = _decoder(model), num_decoder_layers(model)
    for depth in depths:
        if not 0 <= depth <= num_layers:
            raise ValueError(f"depth {depth} outside 0..{num_layers} (the model's layers)")
    captured: dict[int, torch.Tensor] = {}
    deepest = max(depths)

    def hook_for(depth: int):
        def hook(_module, _inputs, output):
            captured[depth] = output[0] if isinstance(output, tuple) else output
            if depth == deepest:
                raise _StopForward
        return hook

    handles = [(decoder.embed_tokens if d == 0 else decoder.layers[d - 1]).register_forward_hook(
        hook_for(d)) for d in sorted(set(depths))]
    try:
        decoder(input_ids=ids, attention_mask=mask, position_ids=positions,
                past_key_values=cache, use_cache=cache is not None)
    except _StopForward:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return {d: decoder.norm(captured[d]) for d in depths}


def shared_prefix(tokenizer, prompts: Sequence[Sequence[int]]) -> list[int]:
    """The token ids that every chat-formatted prompt starts with (the template's system turn),
    keeping at least one token of each prompt after it; [] when there is none."""

    prefix, *others = encode_prompts(tokenizer, [Request("a", "A"), Request("b", "B")])
    for ids in (*others, *prompts):
        limit, num_same = min(len(prefix), len(ids) - 1), 0
        while num_same < limit and prefix[num_same] == ids[num_same]:
            num_same += 1
        prefix = prefix[:num_same]
    return list(prefix)


class _PrefixStates:
    """The shared prefix run once: its states at each depth and its keys and values, which
    every batch then reads instead of recomputing them (a third of a ShareGPT prefill)."""

    def __init__(self, model, prefix: Sequence[int], depths: Sequence[int]):
        self.model, self.deepest = model, max(depths)
        ids = torch.tensor([list(prefix)], device=model.device)
        positions = torch.arange(len(prefix), device=model.device)[None]
        self.cache = DynamicCache(config=model.config)
        states = _states_after(model, ids, torch.ones_like(ids), positions, depths, self.cache)
        self.sums = {d: hidden[0].float().sum(0) for d, hidden in states.items()}  # d: [H]

    def cache_for(self, num_rows: int):
        """A fresh cache holding the prefix for `num_rows` rows (the layers append to it)."""
        layers = self.cache.layers[: self.deepest]
        return DynamicCache(ddp_cache_data=[
            (layer.keys.expand(num_rows, -1, -1, -1), layer.values.expand(num_rows, -1, -1, -1))
            for layer in layers], config=self.model.config)


@torch.inference_mode()
def extract_features_by_depth(model, tokenizer, requests: Sequence[Request],
                              depths: Sequence[int], batch_size: int = 16,
                              quiet: bool = False, reuse_prefix: bool = True,
                              max_prompt_tokens: int | None = None,
                              ) -> dict[int, dict[str, torch.Tensor]]:
    """{depth: {"mean": [N, H], "last": [N, H]}} float32, for several depths in one prefill.
    Prompts are batched in order of length to cut padding. With `reuse_prefix` the prefix that
    all prompts share is prefilled once and its keys and values reused by every batch (the
    features are the same up to float rounding). `max_prompt_tokens` bounds the cost of a long
    prompt: only the first and the last half of that many tokens after the prefix are read."""
    if not depths:
        raise ValueError("give at least one depth")
    prompts = encode_prompts(tokenizer, requests)
    common = shared_prefix(tokenizer, prompts)
    if max_prompt_tokens is not None:  # the system turn is kept whole, the prompt's own clipped
        prompts = [ids[: len(common)] + clip_middle(ids[len(common):], max_prompt_tokens)
                   for ids in prompts]
    prefix = common if reuse_prefix and max(depths) > 0 else []
    shared = _PrefixStates(model, prefix, depths) if prefix else None
    num_prefix = len(prefix)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    size = model.config.hidden_size
    features = {d: {k: torch.zeros(len(prompts), size) for k in ("mean", "last")}
                for d in depths}
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for chunk in tqdm(chunks, desc="prompt features", disable=quiet):
        # [B, T] the prompts after the shared prefix, left-padded: [prefix][pads][rest]
        ids, mask = left_pad([prompts[i][num_prefix:] for i in chunk], tokenizer.pad_token_id,
                             model.device)
        positions, weights = positions_from_mask(mask) + num_prefix, mask[..., None].float()
        if shared is None:
            states = _states_after(model, ids, mask, positions, depths)
        else:
            full_mask = torch.cat([mask.new_ones(len(chunk), num_prefix), mask], dim=1)
            states = _states_after(model, ids, full_mask, positions, depths,
                                   shared.cache_for(len(chunk)))
        for depth, hidden in states.items():
            hidden = hidden.float()
            total = (hidden * weights).sum(1) + (shared.sums[depth] if shared else 0.0)
            features[depth]["mean"][chunk] = (total / (weights.sum(1) + num_prefix)).cpu()
            features[depth]["last"][chunk] = hidden[:, -1].cpu()
    return features


def clip_middle(ids: Sequence[int], max_tokens: int) -> list[int]:
    """`ids` without their middle when longer than `max_tokens`: the first and the last half
    are kept (a question's instruction sits at one end; the chat template's tail, which the
    "last" pooling reads, at the other)."""
    if max_tokens < 2:
        raise ValueError(f"max_prompt_tokens must be >= 2, got {max_tokens}")
    if len(ids) <= max_tokens:
        return list(ids)
    num_head = max_tokens // 2
    return list(ids[:num_head]) + list(ids[len(ids) - (max_tokens - num_head):])


def extract_features(model, tokenizer, requests: Sequence[Request], batch_size: int = 16,
                     quiet: bool = False, num_layers: int | None = None,
                     max_prompt_tokens: int | None = None) -> dict[str, torch.Tensor]:
    """{"mean", "last"}: each [N, hidden] float32, after `num_layers` layers (None = all),
    reading at most `max_prompt_tokens` of each prompt after the shared prefix (None = all)."""
    depth = num_decoder_layers(model) if num_layers is None else num_layers
    return extract_features_by_depth(model, tokenizer, requests, [depth], batch_size, quiet,
                                     max_prompt_tokens=max_prompt_tokens)[depth]


def model_fingerprint(model, tokenizer) -> str:
    """What the cached features depend on: model identity, size, dtype and chat template."""
    config = model.config
    template = getattr(tokenizer, "chat_template", None) or ""
    parts = [str(config.name_or_path), config.model_type, str(config.hidden_size),
             str(config.num_hidden_layers), str(model.dtype),
             hashlib.sha256(template.encode()).hexdigest()[:12]]
    return "|".join(parts)


def cached_features(model, tokenizer, requests: Sequence[Request], cache_path: str | Path,
                    batch_size: int = 16, quiet: bool = False,
                    num_layers: int | None = None,
                    max_prompt_tokens: int | None = None) -> dict[str, torch.Tensor]:
    """`extract_features` for prompts whose id is not yet in the cache file; rows in the order
    of `requests`. The cache (safetensors, ids in its metadata) is rewritten atomically and is
    discarded when it was computed with another model, depth or prompt clip (see
    `model_fingerprint`)."""
    depth = num_decoder_layers(model) if num_layers is None else num_layers
    fingerprint = f"{model_fingerprint(model, tokenizer)}|depth={depth}"
    if max_prompt_tokens is not None:  # unclipped caches keep their former fingerprint
        fingerprint += f"|max_prompt_tokens={max_prompt_tokens}"
    cache_path = Path(cache_path)
    stored: dict[str, torch.Tensor] = {}
    ids: list[str] = []
    if cache_path.is_file():
        with safe_open(cache_path, framework="pt") as fh:
            metadata = fh.metadata() or {}
            if metadata.get("fingerprint") == fingerprint:
                stored = {key: fh.get_tensor(key) for key in ("mean", "last")}
                ids = json.loads(metadata["ids"])
    row_of = {prompt_id: row for row, prompt_id in enumerate(ids)}
    missing = [r for r in {q.id: q for q in requests}.values() if r.id not in row_of]
    if missing:
        new = extract_features(model, tokenizer, missing, batch_size, quiet, depth,
                               max_prompt_tokens)
        stored = {k: torch.cat([stored[k], new[k]]) if stored else new[k] for k in new}
        ids += [r.id for r in missing]
        row_of = {prompt_id: row for row, prompt_id in enumerate(ids)}
        with atomic_path(cache_path) as tmp:
            save_file({k: v.contiguous() for k, v in stored.items()}, tmp,
                      metadata={"fingerprint": fingerprint, "ids": json.dumps(ids)})
    rows = torch.tensor([row_of[r.id] for r in requests], dtype=torch.long)
    return {key: value[rows] for key, value in stored.items()}
