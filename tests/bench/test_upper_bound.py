"""The bound FCR wants: a ranker's predictions scaled by a quantile of true over predicted,
chosen on one split, applied to another."""

from __future__ import annotations

import random

import pytest

from seqsch.bench.upper_bound import (
    BOUND,
    RANKER,
    bound_rows,
    choose_bound,
    ratio_quantile,
    scaled,
)

RNG = random.Random(0)
TRUE = [RNG.randint(5, 700) for _ in range(512)]
PROMPTS = [RNG.randint(10, 200) for _ in range(512)]


def test_the_quantile_of_true_over_predicted():
    assert ratio_quantile([10, 10, 10, 10], [10, 20, 30, 40], 0.5) == pytest.approx(2.5, abs=0.01)
    assert ratio_quantile([100, 0, None, 50], [100, 7, 9, 100], 0.9) == pytest.approx(1.9, abs=0.01)
    with pytest.raises(ValueError):
        ratio_quantile([1, 2], [1, 2], 1.0)


def test_scaling_rounds_up_and_keeps_the_cap():
    assert scaled([10, 100.2, 400], 1.5, cap=512) == [15, 151, 512]


def test_predictions_at_half_the_truth_are_scaled_back_to_it():
    half = [t / 2 for t in TRUE]
    choice = choose_bound(half, TRUE, PROMPTS)
    assert choice["factor"] == pytest.approx(2.0)
    assert {c["quantile"] for c in choice["candidates"]} == {0.5, 0.6, 0.7, 0.8, 0.9, 0.95}
    rows = {r["label"]: r for r in bound_rows(half, TRUE, PROMPTS, choice["factor"])}
    assert rows[f"{BOUND} + VBS + FCR"]["x_vanilla"] == pytest.approx(
        rows["oracle + VBS + FCR"]["x_vanilla"])
    assert rows[f"{BOUND} + VBS + FCR"]["x_vanilla"] > rows[f"{RANKER} + VBS + FCR"]["x_vanilla"]
    assert rows[f"{RANKER} + VBS + FCR"]["failure_ratio"] > 0.5  # every answer overruns


def test_the_fastest_candidate_is_chosen():
    noisy = [t * RNG.uniform(0.4, 1.2) for t in TRUE]
    choice = choose_bound(noisy, TRUE, PROMPTS)
    best = max(choice["candidates"], key=lambda c: c["x_vanilla"])
    assert (choice["quantile"], choice["factor"]) == (best["quantile"], best["factor"])
    factors = [c["factor"] for c in choice["candidates"]]
    assert factors == sorted(factors)  # a higher quantile, a larger bound
