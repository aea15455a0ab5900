"""Build any length predictor by name: the one entry point the evaluation and benchmark use.

Names: `constant` (median of the train lengths), `pia` (the zero-shot length query), `lora`
(the same query with the tuned adapter), `probe` (a head on the prompt's hidden states); for
ShareGPT's recorded answer lengths (`seqsch.core.recorded`): `recorded-head` (a head on the
hidden states blended with the text model, `probe` names its folder), `text-ridge` (the text
model alone, from the same folder) and `prompt-length` (the prompt's token count).

    predictor = make_predictor("probe", model, tokenizer, probe="data/probe-smollm2-length")
    lengths = predictor.predict(requests)
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from seqsch.core.paths import DEFAULT_LENGTHS, DEFAULT_RECORDED_HEAD
from seqsch.core.random_weights import require_trained_weights
from seqsch.core.recorded import RECORDED_HEAD_SOURCE
from seqsch.perception.predictors import ConstantPredictor, LengthPredictor
from seqsch.perception.probe import DEFAULT_PROBE_DIR, ProbePredictor, load_probe
from seqsch.perception.query import (
    DEFAULT_ADAPTER_DIR,
    DEFAULT_LORA_DECODE,
    QueryPredictor,
    load_length_adapter,
)
from seqsch.perception.recorded_heads import (
    RecordedHeadPredictor,
    load_recorded_head,
)
from seqsch.perception.text_ridge import (
    PromptLengthPredictor,
    TextRidgePredictor,
    load_text_ridge,
)


def _make_constant(model, tokenizer, lengths=DEFAULT_LENGTHS, length_target: str = "max",
                   max_length: int | None = None, **_) -> LengthPredictor:
    return ConstantPredictor.from_length_file(lengths, length_target, max_length)


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

    head = load_probe(probe or DEFAULT_PROBE_DIR)
    return ProbePredictor(model, tokenizer, head, batch_size=batch_size, quiet=quiet)


def _make_recorded_head(model, tokenizer, probe=None, batch_size: int = 16, quiet: bool = True,
                        **_) -> LengthPredictor:
    head, text, weight = load_recorded_head(probe or DEFAULT_RECORDED_HEAD)
    return RecordedHeadPredictor(model, tokenizer, head, text, weight, batch_size, quiet)


def _make_text_ridge(model, tokenizer, probe=None, **_) -> LengthPredictor:
    return TextRidgePredictor(load_text_ridge(probe or DEFAULT_RECORDED_HEAD))


def _make_prompt_length(model, tokenizer, **_) -> LengthPredictor:
    return PromptLengthPredictor()


# Sources that read no model: built without one.
MODEL_FREE = ("constant", "text-ridge", "prompt-length")
PREDICTOR_OPTIONS = ("lengths", "adapter", "probe", "batch_size", "quiet", "lora_decode",
                     "length_target", "max_length")


def make_predictor(name: str, model=None, tokenizer=None, **options) -> LengthPredictor:
    """Build the predictor `name` (a key of PREDICTORS) for `model` and `tokenizer`.

    Options (each predictor ignores the ones it does not need): `lengths` (length file, for
    `constant`, with `length_target` and `max_length`: the train median of which length, see
    `seqsch.core.length_records.target_lengths`), `adapter` (LoRA folder, default
    data/lora-smollm2-length), `probe` (probe folder, default data/probe-smollm2-length),
    `batch_size` (16), `quiet` (True: no progress
    bars), `lora_decode` ("generate" or "score", see QueryPredictor). None means the default."""
    if name not in PREDICTORS:
        raise ValueError(f"unknown predictor {name!r}; choose one of {sorted(PREDICTORS)}")
    unknown = set(options) - set(PREDICTOR_OPTIONS)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; known: {PREDICTOR_OPTIONS}")
    if name not in MODEL_FREE and (model is None or tokenizer is None):
        raise ValueError(f"predictor {name!r} needs the model and its tokenizer")
    if name not in MODEL_FREE:  # every other predictor reads the model's tokens or states
        require_trained_weights(model, f"the {name!r} length predictor")
    options = {k: v for k, v in options.items() if v is not None}
    return PREDICTORS[name](model, tokenizer, **options)


PREDICTORS: dict[str, Callable[..., LengthPredictor]] = {
    "constant": _make_constant,
    "pia": _make_pia,
    "lora": _make_lora,
    "probe": _make_probe,
    RECORDED_HEAD_SOURCE: _make_recorded_head,
    "text-ridge": _make_text_ridge,
    "prompt-length": _make_prompt_length,
}
