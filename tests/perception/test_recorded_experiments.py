"""Training and scoring on recorded lengths: the configs refuse bad settings, and a predictor's
cost is counted in FLOPs as its pass reads the prompts."""

from __future__ import annotations

import pytest

from seqsch.core.requests import Request
from seqsch.perception.recorded_experiments import (
    EVAL_SOURCES,
    RecordedEvalConfig,
    RecordedTrainConfig,
    head_flops,
    is_query_module,
    predictor_flops,
)


def test_the_eval_config_scores_known_sources_on_val_or_test():
    assert RecordedEvalConfig().split == "test" and RecordedEvalConfig().sources == EVAL_SOURCES
    for bad in ({"sources": ()}, {"sources": ("nope",)}, {"split": "train"},
                {"batch_size": 0}):
        with pytest.raises(ValueError):
            RecordedEvalConfig(**bad)


def test_the_train_config_keeps_paths_as_paths(tmp_path):
    config = RecordedTrainConfig(out=str(tmp_path / "head"))
    assert config.out == tmp_path / "head"


def test_a_head_costs_two_flops_per_parameter_per_token_per_layer(tiny):
    model, _ = tiny
    per_layer = sum(p.numel() for p in model.get_decoder().layers[0].parameters())
    assert head_flops(model, 1, 10) == 2.0 * per_layer * 10
    assert head_flops(model, 2, 10) == 2 * head_flops(model, 1, 10)


def test_text_sources_cost_nothing_and_the_query_reads_its_whole_prompt(tiny):
    model, tokenizer = tiny
    requests = [Request("a", "Say hello."), Request("b", "List three prime numbers.")]
    assert predictor_flops("prompt-length", model, tokenizer, None, requests) == 0.0
    assert predictor_flops("text-ridge", model, tokenizer, None, requests) == 0.0
    one = predictor_flops("query", model, tokenizer, None, requests[:1])
    both = predictor_flops("query", model, tokenizer, None, requests)
    assert 0 < one < both


def test_a_tuned_module_is_priced_as_the_query_it_answers(tiny):
    model, tokenizer = tiny
    requests = [Request("a", "Say hello.")]
    assert is_query_module("lora") and not is_query_module("recorded-head")
    assert not is_query_module("query") and not is_query_module("nope")
    assert (predictor_flops("lora", model, tokenizer, None, requests)
            == predictor_flops("query", model, tokenizer, None, requests))
