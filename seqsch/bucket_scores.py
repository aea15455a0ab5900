"""Read the tuned length module's answer as a distribution over buckets, not one sample.

The module answers the length query with a bucket label ("50", "100", ..., "550") and EOS.
Greedy decoding keeps only the most likely label, so prompts that share it tie, and most ties
sit in the crowded top bucket. Scoring every label instead gives P(bucket | prompt) for the cost
of one prefill plus one short forward pass over all labels (the prompt's KV cache is reused):

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


@torch.inference_mode()
def score_buckets(model, tokenizer, prompts: Sequence[Sequence[int]], labels: Sequence[int],
                  eos_id: int | None = None) -> torch.Tensor:
    """[N, K] log P(label text followed by EOS | prompt) for each prompt (chat-formatted ids)
    and each of the K labels. One batch: the caller chooses the batch size."""
    from seqsch.generate import left_pad, positions_from_mask

    eos_id = tokenizer.eos_token_id if eos_id is None else eos_id
    pad_id = tokenizer.pad_token_id
    label_ids = [tokenizer(str(label), add_special_tokens=False).input_ids + [eos_id]
                 for label in labels]
    num_prompts, num_labels = len(prompts), len(label_ids)
    ids, mask = left_pad(prompts, pad_id, model.device)
    positions = positions_from_mask(mask)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                logits_to_keep=1)
    first = out.logits[:, -1].float().log_softmax(-1)  # [N, V]: the label's first token
    cache = out.past_key_values
    cache.batch_repeat_interleave(num_labels)  # row n * K + k: prompt n, label k

    # Feed each label but its last token; right-padded, the padding is never read.
    width = max(len(lab) for lab in label_ids) - 1
    suffix = torch.full((num_prompts * num_labels, width), pad_id, dtype=torch.long)
    suffix_mask = torch.zeros_like(suffix)
    for k, lab in enumerate(label_ids):
        suffix[k::num_labels, : len(lab) - 1] = torch.tensor(lab[:-1])
        suffix_mask[k::num_labels, : len(lab) - 1] = 1
    suffix, suffix_mask = suffix.to(model.device), suffix_mask.to(model.device)
    full_mask = torch.cat([mask.repeat_interleave(num_labels, 0), suffix_mask], dim=1)
    next_positions = positions[:, -1:].repeat_interleave(num_labels, 0) + 1 + torch.arange(
        width, device=model.device)
    logits = model(input_ids=suffix, attention_mask=full_mask, position_ids=next_positions,
                   past_key_values=cache, use_cache=True).logits.float().log_softmax(-1)

    scores = torch.zeros(num_prompts, num_labels)
    for k, lab in enumerate(label_ids):
        rows = logits[k::num_labels]  # [N, width, V]
        total = first[:, lab[0]].cpu().clone()  # .cpu() of a CPU tensor is no copy
        for j, token in enumerate(lab[1:]):
            total += rows[:, j, token].cpu()
        scores[:, k] = total
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
