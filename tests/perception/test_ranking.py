"""The rank head: a pairwise loss that scores order, a monotone map to lengths, chosen by
cross-validation on train folds only."""

import math

import pytest
import torch

from seqsch.core.length_records import LengthRecord
from seqsch.perception.evaluation import kendall_tau
from seqsch.perception.probe import ProbeConfig, fit_head, load_probe, save_probe
from seqsch.perception.ranking import pairwise_rank_loss, score_to_log_length
from seqsch.perception.selection import SelectionConfig, fold_scores


def test_pairwise_loss_rewards_the_right_order_and_ignores_ties():
    lengths = torch.tensor([10.0, 100.0, 100.0])
    right, wrong = torch.tensor([0.0, 5.0, 5.0]), torch.tensor([5.0, 0.0, 0.0])
    assert pairwise_rank_loss(right, lengths) < 0.01 < pairwise_rank_loss(wrong, lengths)
    assert pairwise_rank_loss(torch.tensor([1.0, 2.0]), torch.tensor([7.0, 7.0])) == 0


def test_score_map_keeps_the_order_and_fits_the_scale():
    scores = torch.tensor([0.0, 1.0, 2.0])
    scale, shift = score_to_log_length(scores, torch.tensor([10.0, 100.0, 1000.0])).tolist()
    assert scale == pytest.approx(math.log(10), rel=1e-4) and math.exp(shift) == pytest.approx(10)
    backwards = score_to_log_length(scores, torch.tensor([1000.0, 100.0, 10.0]))
    assert backwards[0] > 0  # never reverses the score's order


def _ordered_features(n: int = 120, seed: int = 0) -> tuple[torch.Tensor, list[int]]:
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, 8, generator=generator)
    log_lengths = 4 + features[:, 0] + 0.3 * torch.randn(n, generator=generator)
    return features, [int(v) for v in log_lengths.exp().clamp(1, 512).round().tolist()]


def test_rank_head_orders_held_out_prompts_and_predicts_lengths(tmp_path):
    features, lengths = _ordered_features()
    config = ProbeConfig(pooling="mean", target="rank", num_hidden=16, num_epochs=40)
    head = fit_head(features[:90], lengths[:90], config, "rank")
    predicted = head.predict_lengths(features[90:])
    assert kendall_tau(predicted, lengths[90:]) > 0.5
    assert all(1 <= p <= 512 for p in predicted)
    save_probe(head, tmp_path)
    assert load_probe(tmp_path).predict_lengths(features[90:]) == predicted


def test_mean_label_is_the_geometric_mean_of_censored_samples():
    record = LengthRecord("a", {0.0: 16, 0.7: 1000}, {0.0: False, 0.7: True})
    assert ProbeConfig(length_target="mean", max_length=256).target_lengths([record]) == [64]


def test_cross_validation_scores_a_learnable_order_above_noise():
    features, lengths = _ordered_features(100)
    probe = ProbeConfig(pooling="mean", target="log_mse", num_hidden=16, num_epochs=30)
    learnable = fold_scores(features, lengths, lengths, probe, num_folds=4, seed=0)
    shuffled = fold_scores(torch.randn(100, 8), lengths, lengths, probe, num_folds=4, seed=0)
    assert learnable["cv_kendall_tau"] > 0.4 > shuffled["cv_kendall_tau"]
    assert learnable["cv_order_gain"] > shuffled["cv_order_gain"]
    # a learning curve's point: each fold learns from 3 prompts, scored on the same folds
    starved = fold_scores(features, lengths, lengths, probe, num_folds=4, seed=0, max_train=3)
    assert starved["cv_kendall_tau"] < learnable["cv_kendall_tau"]


def test_selection_config_names_a_bad_choice():
    with pytest.raises(ValueError, match="targets"):
        SelectionConfig(targets=("ranking",))
    with pytest.raises(ValueError, match="num_folds"):
        SelectionConfig(num_folds=1)
    with pytest.raises(ValueError, match="train_sizes"):
        SelectionConfig(train_sizes=(1,))
