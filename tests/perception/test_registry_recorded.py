"""Tests of seqsch.perception.registry for the recorded-lengths sources: the model-free ones
build without a model, the head refuses to."""

from __future__ import annotations

import pytest

from seqsch.core.requests import Request
from seqsch.core.sources import SOURCES
from seqsch.perception.registry import make_predictor, predictor_names
from seqsch.perception.text_ridge import (
    PromptLengthPredictor,
    TextRidgeConfig,
    TextRidgePredictor,
    fit_text_ridge,
    save_text_ridge,
)

REQUESTS = [Request("a", "Answer yes or no: is tea good?", num_prompt_tokens=9),
            Request("b", "Write a long essay about rivers and their history.",
                    num_prompt_tokens=12),
            Request("c", "In one sentence, what is chess?"),  # no token count: 6 words
            Request("d", "Answer yes or no: is chess fun?", num_prompt_tokens=9)]
LENGTHS = [3, 900, 25, 3]


def test_recorded_sources_are_registered_and_model_free():
    assert {"recorded-head", "text-ridge", "prompt-length"} <= set(predictor_names())
    assert not SOURCES["text-ridge"].needs_model and not SOURCES["prompt-length"].needs_model
    assert SOURCES["recorded-head"].needs_model


def test_prompt_length_without_a_model():
    predictor = make_predictor("prompt-length")
    assert isinstance(predictor, PromptLengthPredictor)
    assert predictor.predict(REQUESTS) == [9, 12, 6, 9]


def test_text_ridge_from_a_saved_folder_without_a_model(tmp_path):
    model = fit_text_ridge(REQUESTS, LENGTHS, TextRidgeConfig(num_features=2**8))
    save_text_ridge(model, tmp_path / "text")
    predictor = make_predictor("text-ridge", probe=tmp_path / "text")
    assert isinstance(predictor, TextRidgePredictor)
    assert predictor.predict(REQUESTS) == model.predict_lengths(REQUESTS)
    predictor = make_predictor("text-ridge", probe=str(tmp_path / "text"), batch_size=None)
    assert predictor.predict(REQUESTS[:1]) == model.predict_lengths(REQUESTS[:1])


def test_text_ridge_from_a_folder_without_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="no text model"):
        make_predictor("text-ridge", probe=tmp_path)


def test_recorded_head_needs_a_model(tmp_path):
    with pytest.raises(ValueError, match="recorded-head.*needs the model"):
        make_predictor("recorded-head", probe=tmp_path)
    with pytest.raises(ValueError, match="needs the model"):
        make_predictor("recorded-head", model=object())  # a model but no tokenizer


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="unknown predictor 'recorded'") as err:
        make_predictor("recorded")
    for name in predictor_names():
        assert name in str(err.value)


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="text_weight"):
        make_predictor("prompt-length", text_weight=0.5)
