"""Bucket scoring: one pass over the prompt and the labels' prefix tree gives the
teacher-forced log-probabilities of every label."""

from __future__ import annotations

import pytest
import torch

from seqsch.core.requests import encode_prompts
from seqsch.perception.buckets import bucket_labels, lengths_from_scores, score_buckets


def test_labels_run_from_one_bucket_to_the_caps_bucket():
    assert bucket_labels(512) == [50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550]
    assert bucket_labels(100, 25) == [25, 50, 75, 100]


def test_scores_equal_teacher_forced_log_probs(tiny, short_requests):
    model, tokenizer = tiny
    prompts = encode_prompts(tokenizer, short_requests[:3])
    labels = [50, 100, 550]
    scores = score_buckets(model, tokenizer, prompts, labels)
    assert scores.shape == (3, 3)
    for n, prompt in enumerate(prompts):
        for k, label in enumerate(labels):
            target = tokenizer(str(label), add_special_tokens=False).input_ids
            target += [tokenizer.eos_token_id]
            ids = torch.tensor([prompt + target])
            with torch.inference_mode():
                logp = model(input_ids=ids).logits[0].float().log_softmax(-1)
            expected = sum(logp[len(prompt) - 1 + j, t] for j, t in enumerate(target))
            assert scores[n, k].item() == pytest.approx(expected.item(), abs=1e-3)


def test_lengths_are_the_bucket_distributions_median():
    certain = torch.tensor([[0.0, -50.0, -50.0], [-50.0, -50.0, 0.0]])  # all mass on one label
    assert lengths_from_scores(certain, 50, max_length=512) == [25, 125]
    split = torch.log(torch.tensor([[0.25, 0.5, 0.25]]))  # cdf hits 0.5 halfway into (50, 100]
    assert lengths_from_scores(split, 50, max_length=512) == [75]
    assert lengths_from_scores(torch.tensor([[-50.0, 0.0]]), 50, max_length=60) == [60]
