"""Ask the model how long its answer will be: zero-shot PiA and the tuned LoRA module.

`pia_experiment` runs the paper's two prompts on each request (the PiA prompt: the length on
the first line, then the answer; the query prompt: one number only), parses the numbers, and
generates the plain answer to measure the actual length. `QueryPredictor` asks the query prompt
as a predictor: zero-shot (`query`), or with the tuned adapter switched on (`lora`): it is attached
to the generating model itself and enabled only inside `predict`, so the model's own answers stay
those of the base model (as in the paper's code). It reads the module's answer greedily (the
paper's) or as a distribution over the bucket labels (`seqsch.perception.buckets`).

    rows = pia_experiment(model, tokenizer, requests, decoding)
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from seqsch.core.decoding import DecodingConfig
from seqsch.core.paths import DEFAULT_ADAPTER
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.static import generate
from seqsch.perception.buckets import bucket_labels, lengths_from_scores, score_buckets
from seqsch.perception.predictors import LengthPredictor
from seqsch.perception.prompts import make_pia_prompt, make_query_prompt, parse_length
from seqsch.scheduling.scheduler import Batch


@dataclass
class PiaRow:
    id: str
    actual_length: int  # tokens of the plain answer (EOS included)
    is_capped: bool  # the plain answer hit the cap
    pia_first_line: str
    pia_prediction: int | None
    query_answer: str
    query_prediction: int | None


def pia_experiment(
    model, tokenizer, requests: Sequence[Request], decoding: DecodingConfig,
    batch_size: int = 16, max_query_tokens: int = 16, quiet: bool = True,
) -> list[PiaRow]:
    """Plain answers, PiA answers and query answers for `requests`, one row per request."""
    plain = generate(model, tokenizer, requests, decoding, batch_size, quiet=quiet)
    pia_requests = [replace(r, prompt=make_pia_prompt(r.prompt)) for r in requests]
    pia = generate(model, tokenizer, pia_requests, decoding.with_(max_new_tokens=32),
                   batch_size, quiet=quiet)
    query_requests = [replace(r, prompt=make_query_prompt(r.prompt)) for r in requests]
    query = generate(model, tokenizer, query_requests,
                     decoding.with_(max_new_tokens=max_query_tokens), batch_size, quiet=quiet)
    rows = []
    for request, a, p, q in zip(requests, plain.results, pia.results, query.results):
        first_line = next((line for line in p.text.splitlines() if line.strip()), "")
        rows.append(PiaRow(request.id, a.num_output_tokens, a.is_capped, first_line,
                           parse_length(first_line), q.text.strip(), parse_length(q.text)))
    return rows


DEFAULT_ADAPTER_DIR = DEFAULT_ADAPTER


ADAPTER_NAME = "length"


MAX_QUERY_TOKENS = 16


QUERY_DECODES = ("generate", "score")


DEFAULT_LORA_DECODE = "score"  # the median of the bucket distribution; "generate": the paper's


def load_length_adapter(model, adapter_dir: str | Path = DEFAULT_ADAPTER_DIR,
                        adapter_name: str = ADAPTER_NAME) -> str:
    """Attach the adapter in `adapter_dir` to `model` itself (no copy), disabled; return its name.

    Loading the same folder twice is a no-op, so several predictors can share one model; another
    folder under the same name replaces the adapter."""
    adapter_dir = Path(adapter_dir).resolve()
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise FileNotFoundError(f"no adapter in {adapter_dir}: train one with "
                                "`python -m seqsch.perception train --predictor lora`")
    loaded_dirs = model.__dict__.setdefault("_length_adapter_dirs", {})
    if loaded_dirs.get(adapter_name) != adapter_dir:
        if adapter_name in (getattr(model, "peft_config", None) or {}):
            model.delete_adapter(adapter_name)
        model.load_adapter(str(adapter_dir), adapter_name=adapter_name)
        loaded_dirs[adapter_name] = adapter_dir
    model.disable_adapters()
    return adapter_name


def remove_length_adapter(model, adapter_name: str = ADAPTER_NAME) -> None:
    """Delete the adapter from `model` (its answers were never changed by it anyway)."""
    model.delete_adapter(adapter_name)
    model.__dict__.get("_length_adapter_dirs", {}).pop(adapter_name, None)


@contextmanager
def adapter_enabled(model, adapter_name: str = ADAPTER_NAME) -> Iterator[None]:
    """Run the body with the length adapter on; it is switched off again on exit."""
    model.set_adapter(adapter_name)
    model.enable_adapters()
    try:
        yield
    finally:
        model.disable_adapters()


class QueryPredictor(LengthPredictor):
    """Ask the model the paper's length query; parse its greedy answer (`decode="generate"`),
    or score every bucket label and take the median (`decode="score"`, tuned adapters only).
    With an adapter, predictions are clipped to `max_length`, the cap of its training answers.

    With `adapter_name` the named LoRA adapter (already on `model`, see
    `load_length_adapter`) is switched on for these queries only. Prompts are
    batched in order of their token length, which cuts padding in the prefill. After each call
    `last_outputs` holds the raw answers and `num_missing` the count without a number."""

    def __init__(self, model, tokenizer, name: str = "query", adapter_name: str | None = None,
                 batch_size: int = 16, max_new_tokens: int = MAX_QUERY_TOKENS,
                 quiet: bool = True, decode: str = "generate", max_length: int = 512):
        if batch_size < 1 or max_new_tokens < 1:
            raise ValueError("batch_size and max_new_tokens must be >= 1")
        if decode not in QUERY_DECODES:
            raise ValueError(f"decode must be one of {QUERY_DECODES}, got {decode!r}")
        if decode == "score" and adapter_name is None:
            raise ValueError("decode='score' reads a tuned adapter's bucket labels; zero-shot "
                             "answers are free text: use decode='generate'")
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.adapter_name, self.batch_size, self.quiet = adapter_name, batch_size, quiet
        self.decode, self.max_length = decode, max_length
        self.decoding = DecodingConfig(max_new_tokens=max_new_tokens)
        self.last_outputs: list[str] = []
        self.num_missing = 0

    def _predict(self, requests: list[Request]) -> list[int | None]:
        queries = [Request(r.id, make_query_prompt(r.prompt)) for r in requests]
        prompts = encode_prompts(self.tokenizer, queries)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        batches = [Batch(tuple(order[i : i + self.batch_size]), self.decoding.max_new_tokens)
                   for i in range(0, len(order), self.batch_size)]
        context = (adapter_enabled(self.model, self.adapter_name) if self.adapter_name
                   else nullcontext())
        with context:
            if self.decode == "score":
                return self._score(prompts, batches)
            run = generate(self.model, self.tokenizer, queries, self.decoding, batches=batches,
                           prompts=prompts, quiet=self.quiet)
        self.last_outputs = [result.text for result in run.results]
        predictions = [parse_length(text) for text in self.last_outputs]
        self.num_missing = sum(p is None for p in predictions)
        if self.adapter_name:  # a tuned module never saw an answer longer than the cap
            predictions = [p if p is None else min(p, self.max_length) for p in predictions]
        return predictions

    def _score(self, prompts: list[list[int]], batches) -> list[int | None]:
        """Every bucket label scored (`seqsch.perception.buckets`); the outputs name the most
        likely label and its probability."""
        labels = bucket_labels(self.max_length)
        scores = torch.zeros(len(prompts), len(labels))
        for batch in tqdm(batches, desc=f"{self.name} buckets", disable=self.quiet):
            rows = list(batch.indices)
            scores[rows] = score_buckets(self.model, self.tokenizer, [prompts[i] for i in rows],
                                         labels)
        probs = scores.softmax(-1)
        self.last_outputs = [f"{labels[int(p.argmax())]} (p={float(p.max()):.2f})"
                             for p in probs]
        self.num_missing = 0
        return lengths_from_scores(scores, labels[0], self.max_length)
