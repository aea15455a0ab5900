"""Prompt features for the length probe: hidden states of the prefill, at any depth, cached.

The probe (`seqsch.probe`) reads the states the scheduler's prefill computes anyway: for each
chat-formatted prompt, the mean over its tokens and the last token's state, after the final
norm. `num_layers` chooses the depth: the state after that many decoder layers (0 = the token
embeddings), passed through the final norm. The forward pass stops there, so a probe on layer 6
of 30 costs a fifth of a full prefill; `None` reads the last layer (HF's last hidden state).

    features = extract_features(model, tokenizer, requests, num_layers=6)    # {"mean", "last"}
    by_depth = extract_features_by_depth(model, tokenizer, requests, [0, 6, 30])  # one pass
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from seqsch.data import Request


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


def _states_after(model, ids, mask, positions, depths: Sequence[int]) -> dict[int, torch.Tensor]:
    """{depth: [B, T, H] state after `depth` decoder layers, through the final norm}."""
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
        decoder(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False)
    except _StopForward:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return {d: decoder.norm(captured[d]) for d in depths}


@torch.inference_mode()
def extract_features_by_depth(model, tokenizer, requests: Sequence[Request],
                              depths: Sequence[int], batch_size: int = 16,
                              quiet: bool = False) -> dict[int, dict[str, torch.Tensor]]:
    """{depth: {"mean": [N, H], "last": [N, H]}} float32, for several depths in one prefill.
    Prompts are batched in order of length to cut padding."""
    from tqdm.auto import tqdm

    from seqsch.generate import encode_prompts, left_pad, positions_from_mask

    if not depths:
        raise ValueError("give at least one depth")
    prompts = encode_prompts(tokenizer, requests)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    size = model.config.hidden_size
    features = {d: {k: torch.zeros(len(prompts), size) for k in ("mean", "last")}
                for d in depths}
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for chunk in tqdm(chunks, desc="prompt features", disable=quiet):
        ids, mask = left_pad([prompts[i] for i in chunk], tokenizer.pad_token_id, model.device)
        states = _states_after(model, ids, mask, positions_from_mask(mask), depths)
        weights = mask[..., None].float()
        for depth, hidden in states.items():
            hidden = hidden.float()
            features[depth]["mean"][chunk] = ((hidden * weights).sum(1) / weights.sum(1)).cpu()
            features[depth]["last"][chunk] = hidden[:, -1].cpu()
    return features


def extract_features(model, tokenizer, requests: Sequence[Request], batch_size: int = 16,
                     quiet: bool = False, num_layers: int | None = None) -> dict[str, torch.Tensor]:
    """{"mean", "last"}: each [N, hidden] float32, after `num_layers` layers (None = all)."""
    depth = num_decoder_layers(model) if num_layers is None else num_layers
    return extract_features_by_depth(model, tokenizer, requests, [depth], batch_size,
                                     quiet)[depth]


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
                    num_layers: int | None = None) -> dict[str, torch.Tensor]:
    """`extract_features` for prompts whose id is not yet in the cache file; rows in the order
    of `requests`. The cache (safetensors, ids in its metadata) is rewritten atomically and is
    discarded when it was computed with another model or depth (see `model_fingerprint`)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    depth = num_decoder_layers(model) if num_layers is None else num_layers
    fingerprint = f"{model_fingerprint(model, tokenizer)}|depth={depth}"
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
        new = extract_features(model, tokenizer, missing, batch_size, quiet, depth)
        stored = {k: torch.cat([stored[k], new[k]]) if stored else new[k] for k in new}
        ids += [r.id for r in missing]
        row_of = {prompt_id: row for row, prompt_id in enumerate(ids)}
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_name(cache_path.name + ".tmp")
        save_file({k: v.contiguous() for k, v in stored.items()}, tmp,
                  metadata={"fingerprint": fingerprint, "ids": json.dumps(ids)})
        tmp.replace(cache_path)
    rows = torch.tensor([row_of[r.id] for r in requests], dtype=torch.long)
    return {key: value[rows] for key, value in stored.items()}
