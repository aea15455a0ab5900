"""Prediction quality against what it buys: predictions drawn at a tau, the curve on the real
simulator and replay, and its reading (the tau at which a share is reached)."""

import math
import random

import pytest

from seqsch.bench.quality_curve import (
    QualityCurveConfig,
    max_noisy_tau,
    noisy_predictions,
    place_predictor,
    predictions_at_tau,
    quality_curve,
    share_at_tau,
    tau_for_share,
)
from seqsch.bench.replay import paper_workload
from seqsch.perception.evaluation import kendall_tau


def long_tailed(num: int = 512, seed: int = 0) -> list[int]:
    """Log-normal answer lengths, median about 250 tokens; some pass the 512-token cap."""
    rng = random.Random(seed)
    return [max(1, round(rng.lognormvariate(math.log(250), 0.8))) for _ in range(num)]


def distinct_lengths(num: int = 512, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    return [1 + 500 * rng.random() for _ in range(num)]


@pytest.mark.parametrize("target", [0.3, 0.55, 0.8, 0.95])
def test_predictions_at_tau_hit_the_target(target):
    true = distinct_lengths()
    predictions, achieved, sigma = predictions_at_tau(true, target, seed=3, tolerance=0.01)
    assert abs(achieved - target) <= 0.01 and sigma > 0
    assert achieved == pytest.approx(kendall_tau(predictions, true))
    assert predictions == noisy_predictions(true, sigma, seed=3)


def test_predictions_at_tau_are_seeded():
    true = distinct_lengths()
    assert predictions_at_tau(true, 0.6, seed=1) == predictions_at_tau(true, 0.6, seed=1)
    assert predictions_at_tau(true, 0.6, seed=1)[0] != predictions_at_tau(true, 0.6, seed=2)[0]


def test_tau_one_gives_the_true_order():
    true = long_tailed()
    predictions, achieved, sigma = predictions_at_tau(true, 1.0, seed=0)
    assert (achieved, sigma) == (1.0, 0.0) and predictions == true


def test_noise_grows_with_sigma_on_one_set_of_draws():
    true = distinct_lengths()
    taus = [kendall_tau(noisy_predictions(true, sigma, 0), true) for sigma in (0.1, 0.5, 2.0)]
    assert taus == sorted(taus, reverse=True)
    with pytest.raises(ValueError, match="noise_sigma"):
        noisy_predictions(true, -0.1, 0)


def test_ties_in_the_true_lengths_cap_the_tau_of_noisy_predictions():
    true = [1, 1, 2, 2, 3, 3] * 40
    ceiling = max_noisy_tau(true)
    assert ceiling < 0.95
    assert kendall_tau(noisy_predictions(true, 1e-6, 0), true) == pytest.approx(ceiling)
    with pytest.raises(ValueError, match="ties among the true lengths"):
        predictions_at_tau(true, 0.95, seed=0)
    with pytest.raises(ValueError, match="all equal"):
        predictions_at_tau([7] * 10, 0.5, seed=0)


def test_config_names_the_field_it_refuses():
    for field, value in (("batch_size", 0), ("num_seeds", 0), ("group_size", 0),
                         ("taus", (1.5,)), ("tolerance", 0.0), ("calibrate_to", -1.0)):
        with pytest.raises(ValueError, match=field):
            QualityCurveConfig(**{field: value})
    with pytest.raises(FileNotFoundError, match="no cost model"):
        QualityCurveConfig(cost_model="no-such-gpu")


SMALL = QualityCurveConfig(taus=(0.3, 0.55, 0.8, 1.0), num_seeds=2, group_size=256)


@pytest.fixture(scope="module")
def curve():
    return quality_curve(long_tailed(), SMALL)


def test_the_oracle_keeps_all_of_its_gain(curve):
    top = curve[-1]
    assert top["kendall_tau"] == 1.0 and top["sigma"] == 0.0
    assert top["static_sort_share"] == top["vbs_fcr_share"] == top["order_gain"] == 1.0
    assert top["sort_x_vanilla"] == top["oracle_sort_x_vanilla"] > 1


def test_low_tau_keeps_little_and_shares_rise_with_tau(curve):
    assert all(abs(row["kendall_tau"] - row["target_tau"]) <= SMALL.tolerance for row in curve)
    assert curve[0]["static_sort_share"] < 0.2 and curve[0]["vbs_fcr_share"] < 0.3
    for key in ("static_sort_share", "order_gain"):
        shares = [row[key] for row in curve]
        assert shares == sorted(shares), key


def test_an_order_forgives_noise_a_static_sort_does_not(curve):
    for row in curve[:-1]:
        assert row["order_gain"] > row["static_sort_share"] + 0.1, row


def test_lengths_past_the_cap_are_censored():
    true = long_tailed()
    capped = [min(length, SMALL.max_new_tokens) for length in true]
    assert max(true) > SMALL.max_new_tokens
    predictions = noisy_predictions(capped, 0.4, seed=0)
    assert place_predictor(true, predictions, SMALL) == place_predictor(capped, predictions, SMALL)


def test_place_predictor_measures_a_real_prediction():
    true = long_tailed()
    perfect = place_predictor(true, [min(t, 512) for t in true], SMALL)
    assert perfect["kendall_tau"] == 1.0 and perfect["order_gain"] == 1.0
    constant = place_predictor(true, [100.0] * len(true), SMALL)
    assert constant["order_gain"] == 0.0 and constant["kendall_tau"] == 0.0
    with pytest.raises(ValueError, match="3 predictions for 512"):
        place_predictor(true, [1.0, 2.0, 3.0], SMALL)


def test_the_curve_computes_on_the_papers_lengths():
    workload = paper_workload(num_data=256)
    config = QualityCurveConfig(taus=(0.5, 1.0), num_seeds=1, calibrate_to=1.39)
    rows = quality_curve(workload.true_lengths, config)
    assert rows[1]["static_sort_share"] == 1.0 and rows[1]["oracle_vbs_fcr_x_vanilla"] > 1.3
    assert 0 < rows[0]["static_sort_share"] < rows[0]["order_gain"] < 1
    standin = place_predictor(workload.true_lengths, workload.standin, config)
    assert 0.3 < standin["kendall_tau"] < 0.7


ROWS = [{"kendall_tau": 0.2, "share": 0.1}, {"kendall_tau": 0.6, "share": 0.3},
        {"kendall_tau": 0.4, "share": 0.2}, {"kendall_tau": 1.0, "share": 1.0}]


def test_tau_for_share_interpolates_between_rows():
    assert tau_for_share(ROWS, "share", 0.65) == pytest.approx(0.8)
    assert tau_for_share(ROWS, "share", 0.25) == pytest.approx(0.5)
    assert tau_for_share(ROWS, "share", 0.05) == 0.2  # the lowest row already reaches it
    assert tau_for_share(ROWS, "share", 1.5) is None
    assert tau_for_share([{"kendall_tau": 0.5, "share": None}], "share") is None


def test_share_at_tau_reads_the_curve():
    assert share_at_tau(ROWS, "share", 0.5) == pytest.approx(0.25)
    assert share_at_tau(ROWS, "share", 1.0) == pytest.approx(1.0)
    assert share_at_tau(ROWS, "share", 0.1) is None
