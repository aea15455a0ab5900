"""Tests for the length-prediction metrics, Kendall's tau-b and the baselines."""

import math
import random
from itertools import combinations

import pytest

from seqsch.perception.evaluation import (
    accuracy_within,
    constant_baseline,
    evaluate_predictions,
    fill_missing,
    kendall_tau,
    length_error,
    noise_floor,
)


def brute_force_tau_b(x, y):
    num_concordant = num_discordant = num_x_only_ties = num_y_only_ties = 0
    for i, j in combinations(range(len(x)), 2):
        dx, dy = x[i] - x[j], y[i] - y[j]
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            num_x_only_ties += 1
        elif dy == 0:
            num_y_only_ties += 1
        elif dx * dy > 0:
            num_concordant += 1
        else:
            num_discordant += 1
    denominator = math.sqrt(
        (num_concordant + num_discordant + num_x_only_ties)
        * (num_concordant + num_discordant + num_y_only_ties)
    )
    return (num_concordant - num_discordant) / denominator


def test_length_error_and_accuracy_by_hand():
    pred = [100, 200, 300, 0]
    true = [150, 90, 300, 101]
    assert length_error(pred, true) == pytest.approx((50 + 110 + 0 + 101) / 4)
    assert accuracy_within(pred, true, 50) == pytest.approx(2 / 4)
    assert accuracy_within(pred, true, 100) == pytest.approx(2 / 4)
    assert accuracy_within(pred, true, 110) == pytest.approx(4 / 4)


def test_accuracy_boundary_is_inclusive():
    assert accuracy_within([150], [100], 50) == 1.0
    assert accuracy_within([151], [100], 50) == 0.0
    assert accuracy_within([0], [100], 100) == 1.0


def test_metrics_reject_mismatched_or_empty_input():
    with pytest.raises(ValueError):
        length_error([1, 2], [1])
    with pytest.raises(ValueError):
        accuracy_within([], [], 50)


def test_kendall_perfect_and_reversed():
    values = [5, 1, 9, 3, 7]
    assert kendall_tau(values, values) == pytest.approx(1.0)
    assert kendall_tau(values, [-v for v in values]) == pytest.approx(-1.0)
    assert kendall_tau([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)


def test_kendall_hand_case():
    # Pairs: (1,2) c, (1,3) c, (2,3) d -> (2 - 1) / 3.
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)


def test_kendall_with_ties_hand_case():
    # x = [1, 1, 2], y = [1, 2, 3]: one x-tie, two concordant; tau_b = 2 / sqrt(2 * 3).
    assert kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))


@pytest.mark.parametrize("seed", range(8))
def test_kendall_matches_brute_force_with_ties(seed):
    rng = random.Random(seed)
    num_items = rng.randint(2, 60)
    x = [rng.randint(0, 6) for _ in range(num_items)]
    y = [rng.randint(0, 6) for _ in range(num_items)]
    if len(set(x)) < 2 or len(set(y)) < 2:
        x[0], x[1], y[0], y[1] = 0, 1, 0, 1
    assert kendall_tau(x, y) == pytest.approx(brute_force_tau_b(x, y))


def test_kendall_constant_input_is_zero():
    assert kendall_tau([3, 3, 3], [1, 2, 3]) == 0.0
    assert kendall_tau([1], [1]) == 0.0


def test_evaluate_predictions_keys_and_values():
    report = evaluate_predictions([100, 200, 300], [100, 260, 500])
    assert set(report) == {"error", "acc50", "acc100", "kendall_tau", "num_prompts", "num_missing"}
    assert report["error"] == pytest.approx((0 + 60 + 200) / 3)
    assert report["acc50"] == pytest.approx(1 / 3)
    assert report["acc100"] == pytest.approx(2 / 3)
    assert report["kendall_tau"] == pytest.approx(1.0)
    assert report["num_prompts"] == 3
    assert report["num_missing"] == 0


def test_missing_predictions_filled_with_mean_of_valid():
    assert fill_missing([100, None, 201]) == [100, 151, 201]
    assert fill_missing([None, None]) == [0, 0]
    report = evaluate_predictions([100, None, 200], [100, 150, 400])
    assert report["num_missing"] == 1
    # The None becomes 150: errors 0, 0, 200.
    assert report["error"] == pytest.approx(200 / 3)
    assert report["acc50"] == pytest.approx(2 / 3)


def test_noise_floor_two_samples():
    samples = [[100, 100], [200, 260], [50, 300]]
    report = noise_floor(samples)
    assert report["num_index_pairs"] == 1
    assert report["num_prompts"] == 3
    assert report["error"] == pytest.approx((0 + 60 + 250) / 3)
    assert report["acc50"] == pytest.approx(1 / 3)
    assert report["acc100"] == pytest.approx(2 / 3)
    # Prompt pairs: (0,1) concordant, (0,2) and (1,2) discordant.
    assert report["kendall_tau"] == pytest.approx(-1 / 3)


def test_noise_floor_averages_all_index_pairs():
    samples = [[10, 20, 40], [100, 100, 100]]
    report = noise_floor(samples)
    assert report["num_index_pairs"] == 3
    # Pair errors: (0,1): (10 + 0) / 2, (0,2): (30 + 0) / 2, (1,2): (20 + 0) / 2.
    assert report["error"] == pytest.approx((5 + 15 + 10) / 3)
    assert report["kendall_tau"] == pytest.approx(1.0)


def test_noise_floor_identical_samples_is_perfect():
    report = noise_floor([[7, 7, 7, 7], [70, 70, 70, 70], [300, 300, 300, 300]])
    assert report["error"] == 0.0
    assert report["acc50"] == 1.0
    assert report["kendall_tau"] == pytest.approx(1.0)
    assert report["num_index_pairs"] == 6


def test_noise_floor_needs_two_samples():
    with pytest.raises(ValueError):
        noise_floor([[1, 2], [3]])


def test_constant_baseline_uses_median():
    assert constant_baseline([10, 20, 1000], 4) == [20, 20, 20, 20]
    assert constant_baseline([10, 21], 2) == [16, 16]
    assert constant_baseline([5], 0) == []
    with pytest.raises(ValueError):
        constant_baseline([], 3)
    report = evaluate_predictions(constant_baseline([10, 20, 1000], 3), [10, 20, 30])
    assert report["kendall_tau"] == 0.0
