"""Read the tuned length module's answer as a distribution over buckets, not one sample.

The module answers the length query with a bucket label ("50", "100", ..., "550") and EOS.
Greedy decoding keeps only the most likely label, so prompts that share it tie, and most ties
sit in the crowded top bucket. Scoring every label instead gives P(bucket | prompt) from one
forward pass over the prompt followed by the labels' prefix tree (a 4D attention mask keeps the
branches apart), about the cost of the prefill that greedy decoding starts with:

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

from seqsch.pia import DEFAULT_BUCKET_SIZE, round_up_to_bucket


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
    from seqsch.generate import left_pad, positions_from_mask

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
    from seqsch.probe import median_of_buckets

    probs = scores.softmax(-1)  # renormalised over the labels
    with_zero = torch.cat([torch.zeros(len(probs), 1), probs], dim=1)  # bucket 0: length 0
    medians = median_of_buckets(with_zero, bucket_size).clamp(1, max_length)
    return [int(v + 0.5) for v in medians.tolist()]
