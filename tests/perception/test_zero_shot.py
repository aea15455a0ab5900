"""Zero-shot answers scored like with like: a constant guess beside them, and only the
accuracies a cap leaves informative."""

import pytest

from seqsch.perception.zero_shot import (
    CONSTANT,
    accuracy_note,
    hindsight_constant,
    informative_accuracies,
    score_with_constant,
    trivial_tolerance,
)


def test_a_cap_of_96_leaves_no_accuracy_informative():
    assert trivial_tolerance(96) == 47.5
    assert informative_accuracies(96) == []
    assert informative_accuracies(128) == ["acc50"]
    assert informative_accuracies(512) == ["acc50", "acc100"]
    assert "constant guess of 48 is within 48 tokens" in accuracy_note(96)
    assert "100% on Acc-50 and Acc-100: they are not" in accuracy_note(96)
    assert "100% on Acc-100: it is not" in accuracy_note(128)
    assert accuracy_note(512) == "At a cap of 512 tokens every accuracy is informative."
    with pytest.raises(ValueError):
        trivial_tolerance(0)


@pytest.mark.parametrize("cap", [32, 96, 128])
def test_the_middle_guess_scores_every_trivial_accuracy_in_full(cap):
    answers = list(range(1, cap + 1))
    scores = score_with_constant({"middle": [(cap + 1) // 2] * cap}, answers)["middle"]
    for name in ("acc50", "acc100"):
        if name not in informative_accuracies(cap):
            assert scores[name] == 1.0


def test_the_constant_is_the_median_and_scored_on_the_same_answers():
    actual = [10, 20, 96, 96, 96]
    assert hindsight_constant(actual) == 96
    scores = score_with_constant({"query": [None, 15, 40, None, 90]}, actual)
    assert set(scores) == {"query", CONSTANT}
    assert scores[CONSTANT]["error"] == pytest.approx((86 + 76) / 5)
    assert scores["query"]["num_missing"] == 2
    with pytest.raises(ValueError):
        hindsight_constant([])
