"""The lab notes' yardsticks: the bucket frequencies' loss and a loss curve's end."""

import math

import pytest

from seqsch.lab.perception_notes import frequency_loss, loss_summary


def test_the_frequencies_loss_is_their_entropy_spread_over_the_target_tokens():
    labels = ["550"] * 3 + ["50"]  # 3 + 1 (EOS) tokens and 2 + 1
    reference = frequency_loss(labels, lambda label: len(label) + 1)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert reference["per_target"] == pytest.approx(entropy)
    assert reference["mean_tokens"] == pytest.approx((3 * 4 + 3) / 4)
    assert reference["per_token"] == pytest.approx(entropy / 3.75)
    assert frequency_loss(["1"] * 5, lambda _: 2)["per_target"] == 0  # one label: no surprise


def test_the_frequencies_loss_refuses_what_it_cannot_price():
    with pytest.raises(ValueError, match="at least one label"):
        frequency_loss([], len)
    with pytest.raises(ValueError, match="at least one token"):
        frequency_loss(["a"], lambda _: 0)


def test_a_loss_curve_is_read_for_its_last_quarter():
    summary = loss_summary([4.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.3], window=2)
    assert summary["first"] == 4.0 and summary["num_tail"] == 2
    assert summary["end"] == pytest.approx(0.4)
    assert summary["smooth"][:3] == [4.0, 3.0, 1.5]
    assert loss_summary([2.0, 1.0, 0.5])["num_tail"] == 1  # at least one step
    with pytest.raises(ValueError):
        loss_summary([], 3)
