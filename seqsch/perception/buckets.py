"""50-token buckets: the paper's length classes, and the tuned module's answer read over them.

The paper's module answers the length query with a bucket label ("50", "100", ..., "550": the
bucket's upper bound) and EOS. `bucket_of`, `bucket_to_length` and `round_up_to_bucket` convert
between lengths and buckets. Greedy decoding keeps only the most likely label, so prompts that
share it tie, and most ties sit in the crowded top bucket. Scoring every label instead gives
P(bucket | prompt) from one forward pass over the prompt followed by the labels' prefix tree (a
4D attention mask keeps the branches apart), about the cost of the prefill that greedy decoding
starts with:

    log P("550" + EOS) = log P("5" | prompt) + log P("5" | prompt, "5") + ... + log P(EOS | ...)

The point prediction is the distribution's median, interpolated inside its bucket (as the
probe's bucket head does), clipped to the generation cap: it stays near the mode where the
module is sure, and it orders prompts by how sure the module is where their modes tie.

    scores = score_buckets(model, tokenizer, prompts, bucket_labels(512))   # [N, 11] log-probs
    lengths = lengths_from_scores(scores, bucket_size=50, max_length=512)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seqsch.engines.static import left_pad, positions_from_mask

DEFAULT_BUCKET_SIZE = 50


def bucket_labels(max_length: int = 512, bucket_size: int = DEFAULT_BUCKET_SIZE) -> list[int]:
    """The labels the module was tuned to answer: 50, 100, ... up to the cap's bucket."""
    return list(range(bucket_size, round_up_to_bucket(max_length, bucket_size) + 1, bucket_size))


def _label_tree(label_ids: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """The distinct non-empty proper prefixes of the labels (each label's ids minus its last),
    parents before children: the nodes that must be fed to read every label's next token."""
    nodes = {tuple(lab[:j]) for lab in label_ids for j in range(1, len(lab))}
    return sorted(nodes, key=lambda node: (len(node), node))


@torch.inference_mode()
def score_buckets(model, tokenizer, prompts: Sequence[Sequence[int]], labels: Sequence[int],
                  eos_id: int | None = None) -> torch.Tensor:
    """[N, K] log P(label text followed by EOS | prompt) for each prompt (chat-formatted ids)
    and each of the K labels, in one forward pass over a batch (the caller sizes it).

    Each row holds the left-padded prompt followed by the nodes of the labels' prefix tree
    ("1", "10", "5", "50", "55", ...). A 4D attention mask lets a node see the prompt and its
    own ancestors only, and its position continues the prompt's, so each node's logits are
    exactly those a separate decoding of that label would give."""

    attention = getattr(model.config, "_attn_implementation", None) or "sdpa"
    if attention not in ("sdpa", "eager"):
        raise ValueError(f"bucket scoring needs a 4D attention mask, which {attention!r} "
                         "attention does not take: load the model with attn_implementation="
                         "'sdpa', or use lora_decode='generate'")
    eos_id = tokenizer.eos_token_id if eos_id is None else eos_id
    label_ids = [tokenizer(str(label), add_special_tokens=False).input_ids + [eos_id]
                 for label in labels]
    nodes = _label_tree(label_ids)
    node_index = {node: i for i, node in enumerate(nodes)}
    ids, mask = left_pad(prompts, tokenizer.pad_token_id, model.device)
    num_prompts, prompt_len = ids.shape
    num_nodes, device = len(nodes), model.device

    # Node inputs: each node's last token, at the position after the prompt plus its depth.
    node_tokens = torch.tensor([node[-1] for node in nodes], device=device)
    depth = torch.tensor([len(node) for node in nodes], device=device)
    positions = positions_from_mask(mask)
    input_ids = torch.cat([ids, node_tokens.expand(num_prompts, -1)], dim=1)
    position_ids = torch.cat([positions, positions[:, -1:] + depth], dim=1)

    # Allowed [N, T, T]: causal over real prompt tokens; nodes see the prompt and ancestors.
    total = prompt_len + num_nodes
    allowed = torch.zeros(num_prompts, total, total, dtype=torch.bool, device=device)
    real = mask.bool()
    causal = torch.ones(prompt_len, prompt_len, dtype=torch.bool, device=device).tril()
    allowed[:, :prompt_len, :prompt_len] = causal & real[:, None, :]
    allowed[:, prompt_len:, :prompt_len] = real[:, None, :]
    for i, node in enumerate(nodes):
        for j in range(1, len(node) + 1):
            allowed[:, prompt_len + i, prompt_len + node_index[node[:j]]] = True
    allowed |= torch.eye(total, dtype=torch.bool, device=device)  # pad rows see themselves
    bias = torch.zeros(allowed.shape, dtype=model.dtype, device=device)
    bias.masked_fill_(~allowed, torch.finfo(model.dtype).min)

    logits = model(input_ids=input_ids, attention_mask=bias[:, None], position_ids=position_ids,
                   use_cache=False, logits_to_keep=num_nodes + 1).logits
    logp = logits.float().log_softmax(-1).cpu()  # [N, 1 + num_nodes, V]: prompt end, nodes
    scores = torch.zeros(num_prompts, len(label_ids))
    for k, lab in enumerate(label_ids):
        scores[:, k] = logp[:, 0, lab[0]] + sum(
            logp[:, 1 + node_index[tuple(lab[:j])], lab[j]] for j in range(1, len(lab)))
    return scores


def lengths_from_scores(scores: torch.Tensor, bucket_size: int = DEFAULT_BUCKET_SIZE,
                        max_length: int = 512) -> list[int]:
    """The median of each row's bucket distribution (labels bucket_size, 2*bucket_size, ...),
    rounded and clipped to [1, max_length]."""

    probs = scores.softmax(-1)  # renormalised over the labels
    with_zero = torch.cat([torch.zeros(len(probs), 1), probs], dim=1)  # bucket 0: length 0
    medians = median_of_buckets(with_zero, bucket_size).clamp(1, max_length)
    return [int(v + 0.5) for v in medians.tolist()]


def bucket_of(length: int, bucket_size: int = DEFAULT_BUCKET_SIZE) -> int:
    """Index of the bucket holding `length`: ceil(length / bucket_size).

    Bucket b covers lengths in (bucket_size*(b-1), bucket_size*b]; so 0 -> 0, 1..50 -> 1,
    51..100 -> 2. This matches `buckit` in the reference `src/utils.py`, which rounds a length
    up to the next multiple of 50 and leaves exact multiples unchanged.
    """
    if bucket_size <= 0:
        raise ValueError(f"bucket_size must be positive, got {bucket_size}")
    if length < 0:
        raise ValueError(f"length must be non-negative, got {length}")
    return -(-int(length) // bucket_size)


def bucket_to_length(bucket: int, bucket_size: int = DEFAULT_BUCKET_SIZE) -> int:
    """Length used as the prediction for a bucket: its upper bound, bucket * bucket_size.

    Predicting the upper bound (as the reference code does) makes the prediction an
    over-estimate of every length in the bucket, so scheduled batches rarely run out of room.
    """
    if bucket_size <= 0:
        raise ValueError(f"bucket_size must be positive, got {bucket_size}")
    if bucket < 0:
        raise ValueError(f"bucket must be non-negative, got {bucket}")
    return bucket * bucket_size


def round_up_to_bucket(length: int, bucket_size: int = DEFAULT_BUCKET_SIZE) -> int:
    """The reference `buckit`: `length` rounded up to a multiple of `bucket_size`."""
    return bucket_to_length(bucket_of(length, bucket_size), bucket_size)


def median_of_buckets(probs: torch.Tensor, bucket_size: int) -> torch.Tensor:
    """[N] medians of [N, B] bucket distributions. Bucket b holds lengths in
    ((b-1)*size, b*size] (bucket 0: length 0); mass is spread uniformly inside a bucket."""
    cdf = probs.cumsum(-1)
    bucket = (cdf < 0.5).sum(-1).clamp_max(probs.shape[-1] - 1)
    below = torch.where(bucket > 0, cdf.gather(-1, (bucket - 1).clamp_min(0)[:, None])[:, 0],
                        torch.zeros_like(bucket, dtype=probs.dtype))
    inside = probs.gather(-1, bucket[:, None])[:, 0].clamp_min(1e-12)
    fraction = ((0.5 - below) / inside).clamp(0, 1)
    return (bucket - 1).clamp_min(0) * bucket_size + fraction * torch.where(bucket > 0,
                                                                            bucket_size, 0)


def mean_of_buckets(probs: torch.Tensor, bucket_size: int, max_length: int) -> torch.Tensor:
    """[N] expected lengths of [N, B] bucket distributions: each bucket at its centre, except
    that the cap's bucket sits at the cap (on a censored workload most of its answers were cut
    there)."""
    buckets = torch.arange(probs.shape[-1], dtype=probs.dtype, device=probs.device)
    values = (buckets - 0.5).clamp_min(0) * bucket_size
    values[-1] = max_length
    return probs @ values
