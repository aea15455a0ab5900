"""Tests of seqsch.perception.recorded_eval: metrics against the recorded lengths, by hand."""

from __future__ import annotations

import pytest

from seqsch.perception.recorded_eval import (
    SERVED_7B_PARAMS,
    flops_share,
    pair_accuracy,
    score_recorded,
)

TRUE = [10, 50, 900, 1000]  # two short (< 200), two long (> 800)


def test_pair_accuracy_perfect_reversed_and_tied():
    assert pair_accuracy(TRUE, TRUE) == 1.0
    assert pair_accuracy([1000, 900, 50, 10], TRUE) == 0.0
    assert pair_accuracy([5, 5, 5, 5], TRUE) == 0.5


def test_pair_accuracy_mixed_case_by_hand():
    true = [100, 150, 500, 900, 1000]
    predicted = [300, 100, 999, 200, 300]
    # shorts: 300, 100; longs: 200, 300; the middle answer (500) is in no pair
    # (300, 200) wrong 0; (100, 200) right 1; (300, 300) tie 0.5; (100, 300) right 1
    assert pair_accuracy(predicted, true) == pytest.approx(2.5 / 4)


def test_pair_accuracy_bounds_are_strict_and_settable():
    # 200 is not short and 800 not long: the only pair is (100, 900), predicted reversed
    assert pair_accuracy([0, 0, 5, 1], [200, 800, 100, 900]) == 0.0
    # with bounds 10 and 20: shorts 5 (pred 3), 9 (pred 1); longs 21 (pred 2), 30 (pred 4)
    # (3, 2) wrong; (1, 2) right; (3, 4) right; (1, 4) right
    assert pair_accuracy([3, 1, 2, 4, 100], [5, 9, 21, 30, 15],
                         short_below=10, long_above=20) == pytest.approx(0.75)


def test_pair_accuracy_errors():
    with pytest.raises(ValueError, match="3 predictions for 4 true lengths"):
        pair_accuracy([1, 2, 3], TRUE)
    with pytest.raises(ValueError, match="no pair"):
        pair_accuracy([1, 2, 3], [10, 50, 500])  # no long answer
    with pytest.raises(ValueError, match="no pair"):
        pair_accuracy([1, 2], [900, 1000])  # no short answer
    with pytest.raises(ValueError, match="no pair"):
        pair_accuracy([], [])


def test_flops_share_by_hand():
    # served: 2 x 1e6 params x (10 + 20 + 30 + 40) tokens = 2e8 FLOPs
    assert flops_share(2e7, [10, 20], [30, 40], served_params=1e6) == pytest.approx(0.1)
    # the default is a 7B model: 2 x 6.74e9 x 100 = 1.348e12
    assert SERVED_7B_PARAMS == 6.74e9
    assert flops_share(1.348e9, [10, 20], [30, 40]) == pytest.approx(1e-3)
    assert flops_share(0.0, [1], [1]) == 0.0


KEYS = {"kendall_tau_vs_recorded", "pair_accuracy_200_800", "order_gain_16_slots",
        "error_vs_recorded", "acc50_vs_recorded", "acc100_vs_recorded", "num_prompts"}
LENGTHS = [1000, 100, 900, 50]


def test_score_recorded_oracle():
    # 40 answers from 5 to 1,204 tokens, long ones early: with 16 slots, order matters
    true = [(i * 389) % 1200 + 5 for i in range(40)]
    assert min(true) < 200 and max(true) > 800
    scores = score_recorded(true, true)
    assert set(scores) == KEYS
    assert scores["kendall_tau_vs_recorded"] == pytest.approx(1.0)
    assert scores["pair_accuracy_200_800"] == 1.0
    assert scores["order_gain_16_slots"] == pytest.approx(1.0)
    assert scores["error_vs_recorded"] == 0.0
    assert scores["acc50_vs_recorded"] == scores["acc100_vs_recorded"] == 1.0
    assert scores["num_prompts"] == 40


def test_score_recorded_constant_and_reversed_by_hand():
    # one slot: first come ends at 1000, 1100, 2000, 2050 (mean 1537.5); the oracle serves
    # 50, 100, 900, 1000 and ends at 50, 150, 1050, 2050 (mean 825): a cut of 712.5
    constant = score_recorded([300] * 4, LENGTHS, num_slots=1)
    assert constant == pytest.approx({
        "kendall_tau_vs_recorded": 0.0, "pair_accuracy_200_800": 0.5,
        "order_gain_16_slots": 0.0,  # ties keep arrival order: first come
        "error_vs_recorded": (700 + 200 + 600 + 250) / 4,
        "acc50_vs_recorded": 0.0, "acc100_vs_recorded": 0.0, "num_prompts": 4})
    # longest first ends at 1000, 1900, 2000, 2050 (mean 1737.5): worse than first come
    reversed_ = score_recorded([2000 - n for n in LENGTHS], LENGTHS, num_slots=1)
    assert reversed_["kendall_tau_vs_recorded"] == pytest.approx(-1.0)
    assert reversed_["pair_accuracy_200_800"] == 0.0
    assert reversed_["order_gain_16_slots"] == pytest.approx((1537.5 - 1737.5) / 712.5)
    # within 50 / 100 tokens: 1030 (30 off), 160 (60 off), 900 (exact), 200 (150 off)
    near = score_recorded([1030, 160, 900, 200], LENGTHS, num_slots=1)
    assert near["error_vs_recorded"] == pytest.approx((30 + 60 + 0 + 150) / 4)
    assert near["acc50_vs_recorded"] == 0.5 and near["acc100_vs_recorded"] == 0.75


def test_score_recorded_errors():
    with pytest.raises(ValueError):
        score_recorded([1, 2], LENGTHS)
    with pytest.raises(ValueError, match="no pair"):
        score_recorded([1, 2, 3], [10, 20, 30])
