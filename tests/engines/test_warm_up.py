"""The one warm-up: the first two requests, four new tokens, through each path a run will time."""

from __future__ import annotations

from seqsch.core.decoding import DecodingConfig
from seqsch.core.requests import Request
from seqsch.engines import warm_up
from seqsch.engines.warm_up import (
    NUM_WARM_UP_REQUESTS,
    WARM_UP_TOKENS,
    warm_up_engines,
    warm_up_predictor,
    warm_up_vllm,
)

REQUESTS = [Request(f"r{i}", f"prompt {i}") for i in range(5)]
PROMPTS = [[5, 6, 7 + i] for i in range(5)]


def test_each_engine_path_runs_the_first_requests_briefly(monkeypatch):
    calls = []
    monkeypatch.setattr(warm_up, "generate",
                        lambda model, tok, requests, decoding, **kw: calls.append(
                            ("static", [r.id for r in requests], decoding.max_new_tokens,
                             kw["prompts"])))
    monkeypatch.setattr(warm_up, "generate_continuous",
                        lambda model, tok, requests, decoding, **kw: calls.append(
                            ("continuous", [r.id for r in requests], decoding.max_new_tokens,
                             kw["max_requests"])))
    decoding = DecodingConfig(max_new_tokens=512, temperature=0.7, seed=3)
    warm_up_engines(None, None, REQUESTS, PROMPTS, decoding)
    assert calls == [("static", ["r0", "r1"], WARM_UP_TOKENS, PROMPTS[:2])]
    warm_up_engines(None, None, REQUESTS, PROMPTS, decoding, num_slots=3)
    assert calls[-1] == ("continuous", ["r0", "r1"], WARM_UP_TOKENS, 3)


def test_the_warm_up_really_generates_on_a_tiny_model(tiny):
    model, tokenizer = tiny
    spent_s = warm_up_engines(model, tokenizer, REQUESTS, PROMPTS,
                              DecodingConfig(max_new_tokens=64), num_slots=2)
    assert 0 < spent_s < 60


class _Recorder:
    def __init__(self) -> None:
        self.seen = []

    def predict(self, requests):
        self.seen.append([r.id for r in requests])
        return [1] * len(requests)

    def generate(self, requests, decoding, quiet=False):
        self.seen.append(([r.id for r in requests], decoding.max_new_tokens, quiet))


def test_a_predictor_and_vllm_are_warmed_up_the_same_way():
    predictor, engine = _Recorder(), _Recorder()
    warm_up_predictor(predictor, REQUESTS)
    assert predictor.seen == [["r0", "r1"]] and NUM_WARM_UP_REQUESTS == 2
    warm_up_vllm(engine, DecodingConfig(max_new_tokens=256))
    assert engine.seen == [(["warm-up-0", "warm-up-1"], WARM_UP_TOKENS, True)]
