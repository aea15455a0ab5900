"""Tests of seqsch.perception.recorded_heads: the cross-validated choice of depth, target and
text blend on synthetic features, the saved folder and the predictor on a tiny random Llama."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
import torch

from seqsch.core.requests import Request
from seqsch.perception.features import extract_features
from seqsch.perception.probe import LengthHead, ProbeConfig, fit_head, pool_features, save_probe
from seqsch.perception.recorded_heads import (
    BLEND_CONFIG,
    RECORDED_TARGETS,
    RecordedHeadConfig,
    RecordedHeadPredictor,
    blend,
    fold_of,
    fold_scores,
    head_log_lengths,
    learning_curve,
    load_recorded_head,
    save_recorded_head,
    select_recorded_head,
)
from seqsch.perception.text_ridge import (
    TEXT_RIDGE_WEIGHTS,
    TextRidgeConfig,
    fit_text_ridge,
)

N, H = 300, 8
FAST = {"num_epochs": 5, "num_hidden": 16}


@pytest.fixture(scope="module")
def synthetic():
    """Depth 6 decides the length (log length = 4 + w.x + small noise); depth 2 is noise."""
    g = torch.Generator().manual_seed(0)
    x6, x2 = torch.randn(N, H, generator=g), torch.randn(N, H, generator=g)
    w = torch.randn(H, generator=g)
    log_length = 4 + x6 @ (w / w.norm()) + 0.1 * torch.randn(N, generator=g)
    lengths = [max(1, round(math.exp(v))) for v in log_length.tolist()]
    features = {2: {"mean": x2, "last": x2}, 6: {"mean": x6, "last": x6}}
    return features, lengths, x6


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize("kwargs", [
    {"depths": ()}, {"depths": (4, -1)}, {"targets": ()}, {"targets": ("l1",)},
    {"targets": ("log_mse", "buckets")}, {"text_weights": ()}, {"text_weights": (1.0,)},
    {"text_weights": (0.0, -0.1)}, {"text_weights": (0.5, 1.5)}, {"num_folds": 1},
    {"num_folds": 0}, {"num_epochs": 0}])
def test_config_validation(kwargs):
    with pytest.raises(ValueError):
        RecordedHeadConfig(**kwargs)


def test_config_accepts_edges_and_builds_probe_config():
    config = RecordedHeadConfig(depths=(0,), targets=("rank",), text_weights=(0.0, 0.99),
                                num_folds=2, num_epochs=1, num_hidden=7, max_length=100,
                                max_prompt_tokens=32, seed=3)
    probe = config.probe_config(5, "rank")
    assert (probe.pooling, probe.target, probe.num_hidden, probe.num_epochs) == (
        "mean+last", "rank", 7, 1)
    assert (probe.num_layers, probe.max_length, probe.max_prompt_tokens, probe.seed) == (
        5, 100, 32, 3)
    assert RecordedHeadConfig().targets == RECORDED_TARGETS == ("log_mse", "rank")


# ------------------------------------------------------------------------------ folds, blend


def test_fold_of_is_seeded_balanced_and_uses_every_fold():
    folds = fold_of(23, 5, seed=0)
    assert len(folds) == 23 and set(folds) == set(range(5))
    # 23 = 5 + 5 + 5 + 4 + 4: folds 0-2 take the extra items (position % 5)
    assert sorted(Counter(folds).items()) == [(0, 5), (1, 5), (2, 5), (3, 4), (4, 4)]
    assert fold_of(23, 5, seed=0) == folds
    assert fold_of(23, 5, seed=1) != folds
    assert Counter(fold_of(23, 5, seed=1)) == Counter(folds)
    # the assignment is the seeded permutation dealt round-robin
    order = torch.randperm(23, generator=torch.Generator().manual_seed(0)).tolist()
    assert [folds[i] for i in order] == [p % 5 for p in range(23)]
    assert sorted(Counter(fold_of(300, 5, 7)).values()) == [60] * 5


def test_blend_by_hand():
    head, text = [1.0, 2.0, 4.0], [3.0, 0.0, 4.0]
    assert blend(head, text, 0.0) == head
    assert blend(head, None, 0.5) == head
    assert blend(head, text, 0.5) == pytest.approx([2.0, 1.0, 4.0])
    assert blend(head, text, 0.25) == pytest.approx([1.5, 1.5, 4.0])
    assert isinstance(blend((1.0,), None, 0.0), list)


def test_blend_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        blend([1.0, 2.0, 3.0], [1.0, 2.0], 0.5)


def test_fold_scores_by_hand():
    predicted, lengths, folds = [1, 2, 3, 4, 5, 6], [10, 20, 40, 30, 7, 7], [0, 0, 1, 1, 2, 2]
    # fold 0 in order, fold 1 reversed, fold 2 constant truth (tau-b 0/0 -> 0)
    assert fold_scores(predicted, lengths, folds, 3) == [1.0, -1.0, 0.0]
    # 3 fully concordant pairs and 1 discordant of 4 items in one fold: (5 - 1) / 6
    assert fold_scores([1, 2, 3, 4], [1, 2, 4, 3], [0] * 4, 1) == pytest.approx([4 / 6])


def _hand_head(log_length: float) -> LengthHead:
    """A log_mse head that predicts exp(log_length) for every input."""
    config = ProbeConfig(pooling="mean", target="log_mse", num_hidden=1, max_length=512)
    head = LengthHead(1, config, "log_mse")
    with torch.no_grad():
        for p in head.parameters():
            p.zero_()
        head.mlp[-1].bias.fill_(log_length)
    return head.eval()


def test_head_log_lengths_is_the_log_of_the_head_predictions():
    head = _hand_head(math.log(40.0))
    assert head_log_lengths(head, torch.zeros(3, 1)) == pytest.approx([math.log(40.0)] * 3)
    # clipped to the head's cap, as predict_lengths clips
    assert head_log_lengths(_hand_head(10.0), torch.zeros(1, 1)) == pytest.approx(
        [math.log(512)])


def test_head_log_lengths_is_unrounded():
    assert head_log_lengths(_hand_head(math.log(10.3)), torch.zeros(1, 1)) == pytest.approx(
        [math.log(10.3)])


# ------------------------------------------------------------------------------ selection


def test_selection_picks_the_informative_depth(synthetic):
    features, lengths, _ = synthetic
    config = RecordedHeadConfig(depths=(2, 6), targets=("log_mse",), text_weights=(0.0,),
                                **FAST)
    result = select_recorded_head(features, lengths, None, config, quiet=True)
    by_depth = {c["depth"]: c for c in result["candidates"]}
    assert len(result["candidates"]) == 2
    assert result["chosen"]["depth"] == 6 and result["best"]["depth"] == 6
    assert by_depth[6]["cv_kendall_tau"] > 0.25
    assert abs(by_depth[2]["cv_kendall_tau"]) < 0.15
    assert by_depth[6]["cv_kendall_tau"] - by_depth[2]["cv_kendall_tau"] > 0.2
    assert by_depth[6]["cv_order_gain"] > by_depth[2]["cv_order_gain"]
    assert all(c["cv_tau_se"] > 0 for c in result["candidates"])
    assert result["num_records"] == N and tuple(result["config"]["depths"]) == (2, 6)
    json.dumps(result)  # a report: JSON-ready


def test_selection_scores_each_candidate_as_its_folds_do(synthetic):
    """cv_kendall_tau is the mean of the per-fold taus of the out-of-fold predictions and
    cv_tau_se their standard error (checked for the pure-noise depth, fitted by hand)."""
    features, lengths, _ = synthetic
    config = RecordedHeadConfig(depths=(2,), targets=("log_mse",), text_weights=(0.0,), **FAST)
    (candidate,) = select_recorded_head(features, lengths, None, config, True)["candidates"]
    folds = fold_of(N, config.num_folds, config.seed)
    inputs = pool_features(features[2], "mean+last")
    predicted = [0.0] * N
    for k in range(config.num_folds):
        fit = [i for i in range(N) if folds[i] != k]
        held = [i for i in range(N) if folds[i] == k]
        head = fit_head(inputs[fit], [lengths[i] for i in fit],
                        config.probe_config(2, "log_mse"), "log_mse")
        for i, v in zip(held, head_log_lengths(head, inputs[held])):
            predicted[i] = v
    taus = fold_scores(predicted, lengths, folds, config.num_folds)
    assert candidate["cv_kendall_tau"] == pytest.approx(float(np.mean(taus)))
    assert candidate["cv_tau_se"] == pytest.approx(float(np.std(taus, ddof=1) / math.sqrt(5)))


def test_selection_prefers_the_shallowest_within_one_standard_error(synthetic):
    features, lengths, x6 = synthetic
    # depth 3 and depth 9 carry the same information (depth 9 listed first); depth 2 is noise
    same = {**features, 3: {"mean": x6, "last": x6}, 9: {"mean": x6, "last": x6}}
    config = RecordedHeadConfig(depths=(9, 2, 3), targets=("log_mse",), text_weights=(0.0,),
                                **FAST)
    result = select_recorded_head(same, lengths, None, config, quiet=True)
    taus = {c["depth"]: c["cv_kendall_tau"] for c in result["candidates"]}
    assert taus[3] == pytest.approx(taus[9])
    assert result["chosen"]["depth"] == 3  # not 2: noise lies far below the best
    assert result["chosen"]["cv_kendall_tau"] >= (result["best"]["cv_kendall_tau"]
                                                  - result["best"]["cv_tau_se"])
    assert "shallowest" in result["rule"]


def test_selection_rule_keeps_a_cheaper_depth_that_is_a_little_worse(synthetic):
    """A shallow depth slightly noisier than the deep one still wins when it lies within one
    standard error of the best; the rule is checked against the candidates reported."""
    features, lengths, x6 = synthetic
    g = torch.Generator().manual_seed(5)
    x1 = x6 + 0.05 * torch.randn(N, H, generator=g)
    config = RecordedHeadConfig(depths=(1, 6), targets=("log_mse",), text_weights=(0.0,),
                                **FAST)
    result = select_recorded_head({1: {"mean": x1, "last": x1}, 6: features[6]}, lengths,
                                  None, config, quiet=True)
    best, chosen = result["best"], result["chosen"]
    shallow = next(c for c in result["candidates"] if c["depth"] == 1)
    assert best == max(result["candidates"], key=lambda c: c["cv_kendall_tau"])
    # the noisier copy scores within one standard error of the best: the cheaper depth wins
    assert best["cv_kendall_tau"] - best["cv_tau_se"] <= shallow["cv_kendall_tau"]
    assert chosen == shallow


def test_selection_blends_in_a_good_text_model(synthetic):
    features, lengths, _ = synthetic
    config = RecordedHeadConfig(depths=(2,), targets=RECORDED_TARGETS,
                                text_weights=(0.0, 0.5), **FAST)
    text_log = [math.log(n) for n in lengths]  # a perfect text model
    result = select_recorded_head(features, lengths, text_log, config, quiet=True)
    assert len(result["candidates"]) == 4  # 1 depth x 2 targets x 2 weights
    assert {(c["target"], c["text_weight"]) for c in result["candidates"]} == {
        ("log_mse", 0.0), ("log_mse", 0.5), ("rank", 0.0), ("rank", 0.5)}
    assert result["chosen"]["text_weight"] == 0.5
    assert result["chosen"]["cv_kendall_tau"] > 0.8
    # without a text model only weight 0 is tried
    plain = select_recorded_head(features, lengths, None, config, quiet=True)
    assert {c["text_weight"] for c in plain["candidates"]} == {0.0}
    assert len(plain["candidates"]) == 2


def test_selection_prints_unless_quiet(synthetic, capsys):
    features, lengths, _ = synthetic
    config = RecordedHeadConfig(depths=(2,), targets=("log_mse",), text_weights=(0.0,),
                                num_folds=2, num_epochs=1, num_hidden=4)
    select_recorded_head(features, lengths, None, config, quiet=True)
    assert capsys.readouterr().out == ""
    select_recorded_head(features, lengths, None, config)
    assert "cv_kendall_tau" in capsys.readouterr().out


# ------------------------------------------------------------------------------ learning curve


def test_learning_curve_sizes_and_text_calls(synthetic):
    features, lengths, _ = synthetic
    config = RecordedHeadConfig(depths=(6,), targets=("log_mse",), train_sizes=(50, 100, 240,
                                                                               1000), **FAST)
    chosen = {"depth": 6, "target": "log_mse", "text_weight": 0.5}
    calls = []

    def text_log_for(fit_rows, held_rows):
        calls.append((len(fit_rows), len(set(fit_rows) & set(held_rows))))
        return [math.log(lengths[i]) for i in held_rows]

    points = learning_curve(features, lengths, text_log_for, chosen, config)
    # 300 records in 5 folds: 240 to fit on; 240 and 1000 are not below it, the full size once
    assert [p["num_train"] for p in points] == [50, 100, 240]
    assert calls == [(n, 0) for n in (50, 100, 240) for _ in range(5)]
    assert all(-1 <= p["cv_kendall_tau"] <= 1 for p in points)
    assert points[-1]["cv_kendall_tau"] > 0.8  # a perfect text model at half weight
    plain = learning_curve(features, lengths, None, {**chosen, "text_weight": 0.0}, config)
    assert [p["num_train"] for p in plain] == [50, 100, 240]
    assert plain[-1]["cv_kendall_tau"] > plain[0]["cv_kendall_tau"]
    assert plain[-1]["cv_kendall_tau"] < points[-1]["cv_kendall_tau"]


def test_learning_curve_full_size_alone_when_every_size_is_too_big(synthetic):
    features, lengths, _ = synthetic
    config = RecordedHeadConfig(depths=(2,), targets=("log_mse",), num_folds=3,
                                train_sizes=(500, 4000), num_epochs=1, num_hidden=4)
    points = learning_curve(features, lengths, None,
                            {"depth": 2, "target": "log_mse", "text_weight": 0.0}, config)
    assert [p["num_train"] for p in points] == [200]


# ------------------------------------------------------------------------------ save / load

PROMPTS = [("Answer yes or no: is {} good?", 3), ("Write a long essay about {}.", 900),
           ("In one sentence, what is {}?", 25)]
TOPICS = ["tea", "chess", "rivers", "owls", "glass", "jazz"]


def _text_corpus():
    requests, lengths = [], []
    for t, (template, length) in enumerate(PROMPTS):
        for k, topic in enumerate(TOPICS):
            requests.append(Request(f"r{t}-{k}", template.format(topic)))
            lengths.append(length)
    return requests, lengths


@pytest.fixture(scope="module")
def text_model():
    requests, lengths = _text_corpus()
    return fit_text_ridge(requests, lengths, TextRidgeConfig(num_features=2**10))


@pytest.fixture(scope="module")
def small_head(synthetic):
    features, lengths, _ = synthetic
    config = RecordedHeadConfig(**FAST).probe_config(6, "log_mse")
    return fit_head(pool_features(features[6], "mean+last"), lengths, config, "log_mse")


def _same_head(a: LengthHead, b: LengthHead) -> None:
    assert a.config == b.config and a.target == b.target
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_save_load_round_trip_with_text(tmp_path, small_head, text_model, synthetic):
    out = save_recorded_head(small_head, text_model, 0.25, tmp_path / "head", {"note": 1})
    assert out == tmp_path / "head"
    assert json.loads((out / BLEND_CONFIG).read_text()) == {"text_weight": 0.25}
    assert (out / TEXT_RIDGE_WEIGHTS).is_file()
    head, text, weight = load_recorded_head(out)
    _same_head(head, small_head)
    assert weight == 0.25
    assert text.config == text_model.config and text.intercept == text_model.intercept
    np.testing.assert_array_equal(text.coef, text_model.coef)
    np.testing.assert_array_equal(text.idf, text_model.idf)
    requests, _ = _text_corpus()
    assert text.predict_lengths(requests) == text_model.predict_lengths(requests)
    inputs = pool_features(synthetic[0][6], "mean+last")[:20]
    assert head.predict_lengths(inputs) == small_head.predict_lengths(inputs)
    saved = json.loads((out / "probe_config.json").read_text())
    assert saved["report"] == {"note": 1}


def test_save_load_round_trip_without_text(tmp_path, small_head):
    out = save_recorded_head(small_head, None, 0.0, str(tmp_path / "plain"))
    assert not (out / TEXT_RIDGE_WEIGHTS).exists()
    head, text, weight = load_recorded_head(str(out))
    _same_head(head, small_head)
    assert text is None and weight == 0.0


def test_load_without_blend_file_reads_weight_zero(tmp_path, small_head):
    save_probe(small_head, tmp_path)  # a plain probe folder
    head, text, weight = load_recorded_head(tmp_path)
    assert (text, weight) == (None, 0.0)
    _same_head(head, small_head)


def test_load_refuses_a_blend_without_its_text_model(tmp_path, small_head):
    save_recorded_head(small_head, None, 0.5, tmp_path)
    with pytest.raises(FileNotFoundError, match="text model"):
        load_recorded_head(tmp_path)


def test_load_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_recorded_head(tmp_path / "nothing")


# ------------------------------------------------------------------------------ predictor

TRAIN_PROMPTS = ["Tell me a joke.", "Write a poem about rain.", "What is 3 + 4?",
                 "Describe the water cycle in detail.", "Name a color.",
                 "Summarize the plot of Hamlet.", "Explain recursion with an example.",
                 "Hi!", "Compose a long story about a dragon and a knight.",
                 "What day comes after Monday?", "List ten fruits.",
                 "Write an essay on climate change."]


@pytest.fixture(scope="module")
def tiny_head(tiny):
    model, tokenizer = tiny
    requests = [Request(f"t{i}", p) for i, p in enumerate(TRAIN_PROMPTS)]
    lengths = [5, 80, 3, 150, 2, 60, 90, 2, 300, 4, 30, 200]
    features = extract_features(model, tokenizer, requests, quiet=True, num_layers=1)
    config = ProbeConfig(pooling="mean+last", target="log_mse", num_hidden=16, num_epochs=20,
                         max_length=100, num_layers=1, batch_size=4)
    return fit_head(pool_features(features, "mean+last"), lengths, config, "log_mse")


def test_predictor_blends_head_and_text(tiny, tiny_head, text_model, short_requests):
    model, tokenizer = tiny
    features = extract_features(model, tokenizer, short_requests, quiet=True, num_layers=1)
    head_log = head_log_lengths(tiny_head, pool_features(features, "mean+last"))
    text_log = list(text_model.log_lengths(short_requests))
    for weight, text in ((0.0, None), (0.0, text_model), (0.5, text_model), (0.75, text_model)):
        predictor = RecordedHeadPredictor(model, tokenizer, tiny_head, text, weight)
        predicted = predictor.predict(short_requests)
        assert predictor.name == "recorded-head"
        assert len(predicted) == len(short_requests)
        assert all(isinstance(p, int) and 1 <= p <= 100 for p in predicted)
        expected = [min(100, max(1, math.floor(math.exp(v) + 0.5)))
                    for v in blend(head_log, text_log if text else None, weight)]
        assert predicted == expected
    # weight 0: exactly the head's own predictions
    plain = RecordedHeadPredictor(model, tokenizer, tiny_head).predict(short_requests)
    assert plain == tiny_head.predict_lengths(pool_features(features, "mean+last"))
    assert RecordedHeadPredictor(model, tokenizer, tiny_head).predict([]) == []


def test_predictor_blend_moves_toward_the_text_model(tiny, tiny_head, text_model,
                                                     short_requests):
    model, tokenizer = tiny
    head_only = RecordedHeadPredictor(model, tokenizer, tiny_head).predict(short_requests)
    text_only = [min(100, v) for v in text_model.predict_lengths(short_requests)]
    half = RecordedHeadPredictor(model, tokenizer, tiny_head, text_model, 0.5).predict(
        short_requests)
    for h, t, b in zip(head_only, text_only, half):  # the geometric mean lies between
        assert min(h, t) - 1 <= b <= max(h, t) + 1


def test_predictor_needs_text_for_a_positive_weight(tiny, tiny_head):
    model, tokenizer = tiny
    with pytest.raises(ValueError, match="text model"):
        RecordedHeadPredictor(model, tokenizer, tiny_head, None, 0.25)
