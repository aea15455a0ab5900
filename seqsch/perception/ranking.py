"""Ranking: a head trained only to order prompts by answer length, and its map to lengths.

A priority queue needs ranks, not lengths: serving the shortest expected answer first is what
cuts the mean completion time, and Kendall's tau scores the order. Learning-to-rank predictors
train on exactly that with a pairwise loss, which `pairwise_rank_loss` is (the probe's
`target="rank"`, `seqsch.perception.probe`). A scheduler still wants a length to bin and cap, so
`score_to_log_length` fits a line from the score to the log length on the train records: the
order is the score's, the scale the data's.

    python -m seqsch.perception train-head --predictor rank-head --target rank --length-target mean
"""

from __future__ import annotations

import torch
from torch import nn


def pairwise_rank_loss(scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean logistic loss over the ordered pairs (i, j) of a minibatch with length i > length
    j: it falls as score i rises above score j. Ties (two answers cut at the cap) carry no
    order. `scores` and `lengths`: [B]."""
    sign = torch.sign(lengths[:, None] - lengths[None, :])  # [B, B]: +1 where i is longer
    is_pair = sign != 0
    if not is_pair.any():
        return scores.sum() * 0.0
    margins = sign * (scores[:, None] - scores[None, :])
    return nn.functional.softplus(-margins)[is_pair].mean()


@torch.no_grad()
def score_to_log_length(scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[scale, shift] of the least-squares line log length = scale * score + shift, with a
    positive scale so that the map keeps the score's order (a score unrelated to length gets a
    tiny scale: the order is kept, every prediction near the geometric mean)."""
    log_lengths = torch.log(lengths.float().clamp_min(1))
    design = torch.stack([scores.float(), torch.ones_like(scores.float())], dim=1)
    solution = torch.linalg.lstsq(design, log_lengths[:, None]).solution[:, 0]
    if solution[0] <= 0:
        return torch.tensor([1e-3, float(log_lengths.mean())])
    return solution
