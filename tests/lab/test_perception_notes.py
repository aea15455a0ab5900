"""The lab notes' yardsticks: the bucket frequencies' loss and a loss curve's end."""

import math

import pytest

from seqsch.lab.perception_notes import (
    bucket_frequency_loss,
    frequency_loss,
    loss_summary,
    loss_text,
    loss_title,
    shipped_loss_run,
)


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


def test_the_bucket_baseline_counts_each_label_as_the_tuning_encodes_it(tokenizer):
    tuning_set = [{"prompt": "p", "target": "550"}] * 3 + [{"prompt": "q", "target": "50"}]
    reference = bucket_frequency_loss(tuning_set, tokenizer)
    tokens = {label: len(tokenizer(label, add_special_tokens=False).input_ids) + 1
              for label in ("550", "50")}  # the digits, then EOS
    assert reference["mean_tokens"] == pytest.approx((3 * tokens["550"] + tokens["50"]) / 4)
    assert reference["per_token"] == pytest.approx(reference["per_target"]
                                                   / reference["mean_tokens"])


def test_the_shipped_run_ends_below_the_bucket_frequencies():
    run = shipped_loss_run()
    assert len(run["steps"]) == len(run["losses"]) == run["train_config"]["total_steps"]
    reference = {"per_target": 1.65, "mean_tokens": 3.96, "per_token": 0.418}
    text = loss_text(reference, run)
    assert text.splitlines()[1].startswith(f"shipped run: {run['train_config']['total_steps']} "
                                           "steps")
    end = run["summary"]["end"]
    assert f"({end / 0.418 - 1:+.0%} against the bucket frequencies)" in text


def test_the_loss_title_says_whether_the_curve_ends_below_the_yardstick():
    summary = {"first": 3.8, "end": 0.36}
    assert loss_title(summary, 0.4) == ("LoRA tuning: loss falls from 3.8 to 0.36 and ends 10% "
                                        "below the bucket frequencies alone")
    assert loss_title(summary, 0.3).endswith("ends no lower than the bucket frequencies alone")
