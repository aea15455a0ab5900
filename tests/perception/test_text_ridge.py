"""Tests of seqsch.perception.text_ridge: the text-only ridge predictor and the prompt-length
priority."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from seqsch.core.requests import Request
from seqsch.perception.evaluation import kendall_tau
from seqsch.perception.text_ridge import (
    TEXT_RIDGE_CONFIG,
    TEXT_RIDGE_WEIGHTS,
    PromptLengthPredictor,
    TextRidge,
    TextRidgeConfig,
    TextRidgePredictor,
    fit_text_ridge,
    load_text_ridge,
    save_text_ridge,
)

# The words of a prompt decide its answer's length: five tasks, each with its own length.
TASKS = [
    ("Answer yes or no: is {} a good idea?", 3),
    ("In one sentence, what is {}?", 25),
    ("In a short paragraph, describe {}.", 100),
    ("Write a detailed report on {} with sections.", 400),
    ("Write a long essay about {} and its history.", 1200),
]
TRAIN_TOPICS = ["the ocean", "bread", "chess", "music theory", "the moon", "taxes", "gardening",
                "jazz", "volcanoes", "coffee", "sleep", "bicycles", "rust", "the roman empire",
                "poetry", "glass", "trains", "soccer", "clouds", "maps", "tea", "winter",
                "robots", "money", "bees", "rivers", "cheese", "paper", "lamps", "owls",
                "deserts", "ships", "silver", "forests", "radio", "ice", "salt", "kites",
                "mirrors", "tigers"]
HELD_OUT_TOPICS = ["quantum computing", "medieval castles", "the stock market", "penguins",
                   "origami", "thunderstorms", "electric cars", "ancient egypt", "yoga",
                   "submarines"]


def _corpus(topics, seed=0):
    rng = random.Random(seed)
    requests, lengths = [], []
    for t, (template, length) in enumerate(TASKS):
        for k, topic in enumerate(topics):
            requests.append(Request(f"{t}-{k}-{seed}", template.format(topic)))
            lengths.append(length)
    order = list(range(len(requests)))
    rng.shuffle(order)
    return [requests[i] for i in order], [lengths[i] for i in order]


@pytest.fixture(scope="module")
def fitted():
    requests, lengths = _corpus(TRAIN_TOPICS)
    assert len(requests) == 200
    return fit_text_ridge(requests, lengths, TextRidgeConfig(num_features=2**12))


def _hand_model(intercept: float, coef_last: float = 0.0, max_length: int = 2048) -> TextRidge:
    """A ridge set by hand: the words weigh nothing; only the log prompt length and the
    intercept count (the design holds log(prompt tokens) / 7 in its last column)."""
    config = TextRidgeConfig(num_features=16, max_length=max_length)
    coef = np.zeros(config.num_features + 1)
    coef[-1] = coef_last
    return TextRidge(config, np.ones(config.num_features), coef, intercept)


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize("kwargs", [{"num_features": 15}, {"max_ngram": 0}, {"alpha": 0.0},
                                    {"alpha": -1.0}, {"max_length": 0}])
def test_config_validation(kwargs):
    with pytest.raises(ValueError):
        TextRidgeConfig(**kwargs)
    TextRidgeConfig(num_features=16, max_ngram=1, alpha=1e-6, max_length=1)  # the least allowed


def test_fit_needs_matching_requests_and_lengths():
    requests = [Request("a", "one"), Request("b", "two")]
    with pytest.raises(ValueError, match="matching"):
        fit_text_ridge(requests, [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        fit_text_ridge(requests[:1], [1])


# ------------------------------------------------------------------------------ fit, predict


def test_words_order_held_out_prompts(fitted):
    requests, lengths = _corpus(HELD_OUT_TOPICS, seed=1)
    predicted = fitted.predict_lengths(requests)
    assert kendall_tau(predicted, lengths) > 0.8
    by_task = [[p for p, n in zip(predicted, lengths) if n == length] for _, length in TASKS]
    # every prompt of a shorter task is predicted shorter than every one of a longer task
    for shorter, longer in zip(by_task, by_task[1:]):
        assert max(shorter) < min(longer)


def test_fit_recovers_the_training_lengths_roughly(fitted):
    requests, lengths = _corpus(TRAIN_TOPICS)
    predicted = fitted.predict_lengths(requests)
    ratios = [p / n for p, n in zip(predicted, lengths)]
    assert 0.3 < min(ratios) and max(ratios) < 3  # a log-space fit: within a factor of ~3


def test_predictions_are_clipped_to_one_and_max_length():
    requests = [Request("a", "anything at all"), Request("b", "x")]
    assert _hand_model(intercept=-10.0).predict_lengths(requests) == [1, 1]
    assert _hand_model(intercept=20.0, max_length=77).predict_lengths(requests) == [77, 77]


def test_clipping_after_a_fit():
    requests, lengths = _corpus(TRAIN_TOPICS)
    model = fit_text_ridge(requests, lengths, TextRidgeConfig(num_features=2**12,
                                                              max_length=50))
    predicted = model.predict_lengths(requests)
    assert all(1 <= p <= 50 for p in predicted)
    essays = [p for p, n in zip(predicted, lengths) if n == 1200]
    assert essays == [50] * len(essays)


def test_hand_set_model_rounds_half_up_and_reads_prompt_length():
    requests = [Request("a", "x")]
    assert _hand_model(intercept=math.log(7.4)).predict_lengths(requests) == [7]
    assert _hand_model(intercept=math.log(7.6)).predict_lengths(requests) == [8]
    # coefficient 7 on log(prompt tokens) / 7: the prediction is the prompt's token count
    by_prompt = _hand_model(intercept=0.0, coef_last=7.0)
    assert by_prompt.predict_lengths([Request("a", "one two three")]) == [3]  # words
    assert by_prompt.predict_lengths([Request("a", "one two three",
                                              num_prompt_tokens=40)]) == [40]  # counted tokens


# ------------------------------------------------------------------------------ files


def test_save_load_round_trip_without_pickle(fitted, tmp_path):
    out = save_text_ridge(fitted, tmp_path / "model", report={"tau": 0.9})
    assert sorted(p.name for p in out.iterdir()) == sorted([TEXT_RIDGE_CONFIG,
                                                            TEXT_RIDGE_WEIGHTS])
    assert all(p.suffix in (".safetensors", ".json") for p in out.iterdir())
    assert not (out / TEXT_RIDGE_WEIGHTS).read_bytes().startswith(b"\x80")  # no pickle header
    loaded = load_text_ridge(out)
    assert loaded.config == fitted.config
    assert np.array_equal(loaded.idf, fitted.idf) and np.array_equal(loaded.coef, fitted.coef)
    assert loaded.intercept == fitted.intercept
    requests, _ = _corpus(HELD_OUT_TOPICS, seed=2)
    assert loaded.predict_lengths(requests) == fitted.predict_lengths(requests)
    assert np.array_equal(loaded.log_lengths(requests), fitted.log_lengths(requests))


def test_load_from_an_empty_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="recorded-train"):
        load_text_ridge(tmp_path)


# ------------------------------------------------------------------------------ predictors


def test_text_ridge_predictor(fitted):
    requests, _ = _corpus(HELD_OUT_TOPICS[:2], seed=3)
    predictor = TextRidgePredictor(fitted)
    predictions = predictor.predict(requests)
    assert len(predictions) == len(requests)
    assert all(type(p) is int for p in predictions)
    assert predictions == fitted.predict_lengths(requests)
    assert "last_predict_s" in vars(predictor) and predictor.last_predict_s > 0
    assert predictor.predict([]) == []


def test_prompt_length_predictor():
    predictor = PromptLengthPredictor()
    requests = [Request("a", "one two three"), Request("b", "x", num_prompt_tokens=17),
                Request("c", ""), Request("d", "a b", num_prompt_tokens=0),
                Request("e", "  spaced   out\nwords  ")]
    assert predictor.predict(requests) == [3, 17, 1, 1, 3]
    assert "last_predict_s" in vars(predictor) and predictor.last_predict_s > 0
