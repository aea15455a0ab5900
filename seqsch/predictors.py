"""Response length predictors behind one interface, for the evaluation and the benchmark.

Every source has a `name`, `predict(requests) -> list[int | None]` (None: no length could be
read from the model's answer) and `last_predict_s`, the wall seconds of its last `predict`
call: prediction time counts against throughput, as in the paper. Sources:

* `constant`: the median longest answer length of the train records of a length file;
* `pia`: zero-shot, the paper's length query in the chat template, greedy, <= 16 new tokens;
* `lora`: the same query answered with the tuned adapter (`seqsch.lora`) switched on: it is
  attached to the generating model itself and enabled only inside `predict`, so the model's
  own answers stay those of the base model (as in the paper's code). By default it reads its
  answer as a distribution over the bucket labels and predicts the median
  (`seqsch.bucket_scores`); `lora_decode="generate"` decodes one answer greedily, as the paper
  does, which gives only the most likely bucket: on the embedded model that is the cap for
  every prompt, so the default keeps what the module knows beyond it;
* `probe`: an MLP on the prompt's hidden states at some depth of the prefill (`seqsch.probe`).

    predictor = make_predictor("lora", model, tokenizer, lengths="data/lengths.jsonl")
    lengths = predictor.predict(requests); seconds = predictor.last_predict_s

The oracle (`gt`) and `vanilla` sources belong to `seqsch.benchmark`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from seqsch.data import Request
from seqsch.decoding import DecodingConfig
from seqsch.paths import DEFAULT_ADAPTER, DEFAULT_LENGTHS
from seqsch.pia import make_query_prompt, parse_length
from seqsch.random_weights import require_trained_weights

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


class LengthPredictor(ABC):
    """Base class: times `predict` and leaves the work to `_predict`."""

    name: str = "predictor"
    last_predict_s: float = 0.0

    def predict(self, requests: Sequence[Request]) -> list[int | None]:
        """One predicted answer length (tokens, EOS included) or None per request, in order."""
        from seqsch.device import synchronize

        start = time.perf_counter()
        try:
            predictions = self._predict(list(requests)) if requests else []
        finally:
            device = getattr(getattr(self, "model", None), "device", "cpu")
            synchronize(device)
            self.last_predict_s = time.perf_counter() - start
        if len(predictions) != len(requests):
            raise RuntimeError(f"{self.name}: {len(predictions)} predictions for "
                               f"{len(requests)} requests")
        return predictions

    @abstractmethod
    def _predict(self, requests: list[Request]) -> list[int | None]: ...


class ConstantPredictor(LengthPredictor):
    """The same length for every prompt: the train median (best constant for mean abs error)."""

    name = "constant"

    def __init__(self, length: int):
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        self.length = int(length)

    @classmethod
    def from_length_file(cls, path: str | Path = DEFAULT_LENGTHS) -> ConstantPredictor:
        from seqsch.evaluation import constant_baseline
        from seqsch.length_records import read_length_file

        records = [r for r in read_length_file(path) if r.split == "train"]
        if not records:
            raise ValueError(f"{path} has no records with split 'train'")
        return cls(constant_baseline([r.max_length for r in records], 1)[0])

    def _predict(self, requests: list[Request]) -> list[int | None]:
        return [self.length] * len(requests)


class QueryPredictor(LengthPredictor):
    """Ask the model the paper's length query; parse its greedy answer (`decode="generate"`),
    or score every bucket label and take the median (`decode="score"`, tuned adapters only).
    With an adapter, predictions are clipped to `max_length`, the cap of its training answers.

    With `adapter_name` the named LoRA adapter (already on `model`, see
    `seqsch.lora.load_length_adapter`) is switched on for these queries only. Prompts are
    batched in order of their token length, which cuts padding in the prefill. After each call
    `last_outputs` holds the raw answers and `num_missing` the count without a number."""

    def __init__(self, model, tokenizer, name: str = "pia", adapter_name: str | None = None,
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
        from contextlib import nullcontext

        from seqsch.generate import encode_prompts, generate
        from seqsch.scheduler import Batch

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
        """Every bucket label scored (`seqsch.bucket_scores`); the outputs name the most
        likely label and its probability."""
        import torch
        from tqdm.auto import tqdm

        from seqsch.bucket_scores import bucket_labels, lengths_from_scores, score_buckets

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


def _make_constant(model, tokenizer, lengths=DEFAULT_LENGTHS, **_) -> LengthPredictor:
    return ConstantPredictor.from_length_file(lengths)


def _make_pia(model, tokenizer, batch_size: int = 16, quiet: bool = True, **_) -> LengthPredictor:
    return QueryPredictor(model, tokenizer, "pia", batch_size=batch_size, quiet=quiet)


def _make_lora(model, tokenizer, adapter=None, batch_size: int = 16, quiet: bool = True,
               lora_decode: str = DEFAULT_LORA_DECODE, **_) -> LengthPredictor:
    adapter_dir = Path(adapter or DEFAULT_ADAPTER_DIR)
    adapter_name = load_length_adapter(model, adapter_dir)
    return QueryPredictor(model, tokenizer, "lora", adapter_name, batch_size, quiet=quiet,
                          decode=lora_decode, max_length=adapter_max_length(adapter_dir))


def adapter_max_length(adapter_dir: str | Path, default: int = 512) -> int:
    """The generation cap of the answers an adapter was tuned on (recorded at training)."""
    import json

    config = Path(adapter_dir) / "train_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_length", default))
    return default


def _make_probe(model, tokenizer, probe=None, batch_size: int = 16, quiet: bool = True,
                **_) -> LengthPredictor:
    from seqsch.probe import DEFAULT_PROBE_DIR, ProbePredictor, load_probe

    head = load_probe(probe or DEFAULT_PROBE_DIR)
    return ProbePredictor(model, tokenizer, head, batch_size=batch_size, quiet=quiet)


PREDICTORS: dict[str, Callable[..., LengthPredictor]] = {
    "constant": _make_constant,
    "pia": _make_pia,
    "lora": _make_lora,
    "probe": _make_probe,
}
PREDICTOR_OPTIONS = ("lengths", "adapter", "probe", "batch_size", "quiet", "lora_decode")


def make_predictor(name: str, model=None, tokenizer=None, **options) -> LengthPredictor:
    """Build the predictor `name` (a key of PREDICTORS) for `model` and `tokenizer`.

    Options (each predictor ignores the ones it does not need): `lengths` (length file, for
    `constant`), `adapter` (LoRA folder, default data/lora-smollm2-length), `probe` (probe
    folder, default data/probe-smollm2-length), `batch_size` (16), `quiet` (True: no progress
    bars), `lora_decode` ("generate" or "score", see QueryPredictor). None means the default."""
    if name not in PREDICTORS:
        raise ValueError(f"unknown predictor {name!r}; choose one of {sorted(PREDICTORS)}")
    unknown = set(options) - set(PREDICTOR_OPTIONS)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; known: {PREDICTOR_OPTIONS}")
    if name != "constant" and (model is None or tokenizer is None):
        raise ValueError(f"predictor {name!r} needs the model and its tokenizer")
    if name != "constant":  # every other predictor reads the model's tokens or states
        require_trained_weights(model, f"the {name!r} length predictor")
    options = {k: v for k, v in options.items() if v is not None}
    return PREDICTORS[name](model, tokenizer, **options)
