"""Build any length source's predictor by name: the one entry point evaluation and benchmarks use.

The sources and their names live in one table, `seqsch.core.sources` (one row each: label,
folder, evaluation file, what trains it); a row's `build` names one of the functions below (or
any "module:function" of a source registered elsewhere). Names here: `constant`, `query` (the
zero-shot length query), `lora` (the same query with the tuned adapter), `length-head` and
`rank-head` (heads on the prompt's hidden states, each from its own folder), and for ShareGPT's
recorded answer lengths (`seqsch.core.recorded`) `recorded-head` (a head on the hidden states
blended with the text model), `text-ridge` (the text model alone) and `prompt-length`. Aliases
(`pia`, `po`, `seqsch`, `probe`, ...) are read through `seqsch.core.sources.canonical_source`.

    predictor = make_predictor("length-head", model, tokenizer)
    lengths = predictor.predict(requests)
"""
from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path

from seqsch.core.paths import DEFAULT_LENGTHS, ROOT
from seqsch.core.random_weights import require_trained_weights
from seqsch.core.sources import SOURCES, LengthSource, canonical_source
from seqsch.perception.predictors import ConstantPredictor, LengthPredictor
from seqsch.perception.probe import ProbePredictor, load_probe
from seqsch.perception.query import (
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


def source_folder(source: str | LengthSource, folder: str | Path | None = None) -> Path:
    """The folder `source`'s predictor loads from: `folder` when given, else its row's."""
    row = source if isinstance(source, LengthSource) else SOURCES[canonical_source(source)]
    if folder is not None:
        return Path(folder)
    if row.folder is None:
        raise ValueError(f"length source {row.name!r} loads no folder")
    return ROOT / row.folder


def build_constant(source: LengthSource, model, tokenizer, lengths=DEFAULT_LENGTHS,
                   length_target: str = "max", max_length: int | None = None,
                   **_) -> LengthPredictor:
    return ConstantPredictor.from_length_file(lengths, length_target, max_length)


def build_query(source: LengthSource, model, tokenizer, batch_size: int = 16, quiet: bool = True,
                **_) -> LengthPredictor:
    return QueryPredictor(model, tokenizer, source.name, batch_size=batch_size, quiet=quiet)


def build_lora(source: LengthSource, model, tokenizer, adapter=None, batch_size: int = 16,
               quiet: bool = True, lora_decode: str = DEFAULT_LORA_DECODE,
               **_) -> LengthPredictor:
    adapter_dir = source_folder(source, adapter)
    adapter_name = load_length_adapter(model, adapter_dir)
    return QueryPredictor(model, tokenizer, source.name, adapter_name, batch_size, quiet=quiet,
                          decode=lora_decode, max_length=adapter_max_length(adapter_dir))


def adapter_max_length(adapter_dir: str | Path, default: int = 512) -> int:
    """The generation cap of the answers an adapter was tuned on (recorded at training)."""
    config = Path(adapter_dir) / "train_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_length", default))
    return default


def build_head(source: LengthSource, model, tokenizer, probe=None, batch_size: int = 16,
               quiet: bool = True, **_) -> LengthPredictor:
    """A head on the prompt's hidden states, from `probe` or the source's own folder."""
    head = load_probe(source_folder(source, probe))
    return ProbePredictor(model, tokenizer, head, batch_size=batch_size, quiet=quiet,
                          name=source.name)


def build_recorded_head(source: LengthSource, model, tokenizer, probe=None, batch_size: int = 16,
                        quiet: bool = True, **_) -> LengthPredictor:
    head, text, weight = load_recorded_head(source_folder(source, probe))
    return RecordedHeadPredictor(model, tokenizer, head, text, weight, batch_size, quiet)


def build_text_ridge(source: LengthSource, model, tokenizer, probe=None, **_) -> LengthPredictor:
    return TextRidgePredictor(load_text_ridge(source_folder(source, probe)))


def build_prompt_length(source: LengthSource, model, tokenizer, **_) -> LengthPredictor:
    return PromptLengthPredictor()


PREDICTOR_OPTIONS = ("lengths", "adapter", "probe", "batch_size", "quiet", "lora_decode",
                     "length_target", "max_length")


def predictor_names() -> tuple[str, ...]:
    """The sources a predictor is built for (rows with a `build`), in the registry's order."""
    return tuple(name for name, row in SOURCES.items() if row.build)


def predictor_choices() -> tuple[str, ...]:
    """What `eval --predictor` takes: every registered predictor, and the noise floor (one
    sampled answer predicting another)."""
    return (*predictor_names(), "noise-floor")


def trainable_choices() -> tuple[str, ...]:
    """What `train --predictor` takes: the LoRA module and the hidden-state heads."""
    return tuple(name for name in predictor_names() if name == "lora" or is_head_source(name))


def is_head_source(name: str) -> bool:
    """Whether source `name` is a head on the hidden states (trained by `train`, read by a
    folder of `head.safetensors` and `probe_config.json`)."""
    return SOURCES[canonical_source(name)].is_head


def builder(source: LengthSource) -> Callable[..., LengthPredictor]:
    """The function a row's `build` names ("module:function")."""
    module, _, function = source.build.partition(":")
    return getattr(importlib.import_module(module), function)


def make_predictor(name: str, model=None, tokenizer=None, **options) -> LengthPredictor:
    """Build the predictor of source `name` (a registry name or alias, see
    `seqsch.core.sources`) for `model` and `tokenizer`.

    Options (each predictor ignores the ones it does not need): `lengths` (length file, for
    `constant`, with `length_target` and `max_length`: the train median of which length, see
    `seqsch.core.length_records.target_lengths`), `adapter` (the LoRA module's folder) and
    `probe` (a head's folder; default: the source's own folder in the registry), `batch_size`
    (16), `quiet` (True: no progress bars), `lora_decode` ("generate" or "score", see
    QueryPredictor). None means the default."""
    try:
        row = SOURCES[canonical_source(name, options.get("probe"))]
    except ValueError:
        raise ValueError(f"unknown predictor {name!r}; choose one of "
                         f"{', '.join(predictor_names())}") from None
    if not row.build:
        raise ValueError(f"length source {row.name!r} is not a predictor; choose one of "
                         f"{', '.join(predictor_names())}")
    unknown = set(options) - set(PREDICTOR_OPTIONS)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; known: {PREDICTOR_OPTIONS}")
    if row.needs_model and (model is None or tokenizer is None):
        raise ValueError(f"predictor {row.name!r} needs the model and its tokenizer")
    if row.needs_model:  # it reads the model's tokens or states
        require_trained_weights(model, f"the {row.name!r} length predictor")
    options = {k: v for k, v in options.items() if v is not None}
    return builder(row)(row, model, tokenizer, **options)
