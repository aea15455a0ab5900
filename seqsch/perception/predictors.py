"""Response length predictors behind one interface, for the evaluation and the benchmark.

Every predictor has a `name`, `predict(requests) -> list[int | None]` (None: no length could be
read from the model's answer) and `last_predict_s`, the wall seconds of its last `predict`
call: prediction time counts against throughput, as in the paper. This module holds the base
class and the simplest predictor, the `constant` (the median longest answer of the train
records); the others are `seqsch.perception.query` (zero-shot and LoRA), and
`seqsch.perception.probe`; `seqsch.perception.registry.make_predictor` builds any by name.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from seqsch.core.device import synchronize
from seqsch.core.length_records import read_length_file, target_lengths
from seqsch.core.paths import DEFAULT_LENGTHS
from seqsch.core.requests import Request
from seqsch.perception.evaluation import constant_baseline


class LengthPredictor(ABC):
    """Base class: times `predict` and leaves the work to `_predict`."""

    name: str = "predictor"
    last_predict_s: float = 0.0

    def predict(self, requests: Sequence[Request]) -> list[int | None]:
        """One predicted answer length (tokens, EOS included) or None per request, in order."""

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
    def from_length_file(cls, path: str | Path = DEFAULT_LENGTHS, length_target: str = "max",
                         max_length: int | None = None) -> ConstantPredictor:
        """The median train length by `length_target` (the paper's: the longest answer)."""
        records = [r for r in read_length_file(path) if r.split == "train"]
        if not records:
            raise ValueError(f"{path} has no records with split 'train'")
        lengths = target_lengths(records, length_target, max_length)
        return cls(constant_baseline(lengths, 1)[0])

    def _predict(self, requests: list[Request]) -> list[int | None]:
        return [self.length] * len(requests)
