"""Tests of seqsch.scheduling.priority: a queue replayed through continuous-batch slots."""

import pytest

from seqsch.scheduling.priority import completion_steps, mean_completion_steps, order_gain


def test_requests_take_the_first_free_slot_in_order():
    # two slots: 0 and 1 start at once; 2 takes the slot 1 frees at step 1, 3 the next one
    assert completion_steps([5, 1, 2, 4], [0, 1, 2, 3], num_slots=2) == [5, 1, 3, 7]
    assert completion_steps([5, 1, 2, 4], [3, 2, 1, 0], num_slots=2) == [8, 3, 2, 4]
    assert completion_steps([0, 3], [0, 1], num_slots=1) == [1, 4]  # a first token at least


def test_shortest_first_is_best_and_the_gain_is_a_share_of_the_oracles():
    lengths = [256, 10, 256, 30, 200, 5, 120, 60]
    oracle = mean_completion_steps(lengths, lengths, num_slots=2)
    assert oracle < mean_completion_steps(lengths, None, num_slots=2)
    assert order_gain(lengths, lengths, num_slots=2) == pytest.approx(1.0)
    assert order_gain([1] * len(lengths), lengths, num_slots=2) == pytest.approx(0.0)  # ties
    assert order_gain([999 - x for x in lengths], lengths, num_slots=2) < 0  # longest first
    partly = [1 if x < 100 else 2 for x in lengths]  # short vs long only
    assert 0 < order_gain(partly, lengths, num_slots=2) < 1
    assert order_gain([3, 2, 1], [4, 4, 4], num_slots=1) == 0.0  # no order can win


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="permutation"):
        completion_steps([1, 2], [0, 0], num_slots=1)
    with pytest.raises(ValueError, match="num_slots"):
        completion_steps([1], [0], num_slots=0)
    with pytest.raises(ValueError, match="3 predictions for 2"):
        order_gain([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="no lengths"):
        order_gain([], [])
