"""A text-only length predictor: hashed word features and the prompt's length, a ridge model.

The cheapest learned predictor a scheduler can run: no model pass at all, a fraction of a
millisecond per prompt. The prompt's words (lower-cased word unigrams and bigrams, hashed into
`num_features` bins with scikit-learn's stateless `HashingVectorizer`, sublinear counts, idf
weights, unit norm) and the log of its token count feed a ridge regression on the log of the
answer's length. It learns what a request asks for ("write an essay", "translate", "yes or
no"), which is most of what orders ShareGPT's recorded answers.

Saved as `text_ridge.safetensors` (idf, coefficients) and `text_ridge.json` (settings), no
pickle:

    model = fit_text_ridge(train_requests, train_lengths, TextRidgeConfig())
    save_text_ridge(model, "build/text-ridge")
    TextRidgePredictor(load_text_ridge("build/text-ridge")).predict(requests)
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from seqsch.core.requests import Request
from seqsch.perception.predictors import LengthPredictor

TEXT_RIDGE_WEIGHTS = "text_ridge.safetensors"
TEXT_RIDGE_CONFIG = "text_ridge.json"


@dataclass(frozen=True)
class TextRidgeConfig:
    num_features: int = 2**16  # hash bins for the word n-grams
    max_ngram: int = 2
    alpha: float = 3.0  # ridge penalty
    max_length: int = 2048  # predictions are clipped to [1, max_length]

    def __post_init__(self) -> None:
        if self.num_features < 16 or self.max_ngram < 1:
            raise ValueError(f"num_features must be >= 16 and max_ngram >= 1, got "
                             f"{self.num_features}, {self.max_ngram}")
        if self.alpha <= 0 or self.max_length < 1:
            raise ValueError(f"alpha must be > 0 and max_length >= 1, got {self.alpha}, "
                             f"{self.max_length}")


@dataclass
class TextRidge:
    config: TextRidgeConfig
    idf: np.ndarray  # [num_features]
    coef: np.ndarray  # [num_features + 1]: the words, then the log prompt length
    intercept: float

    def _vectorizer(self):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(n_features=self.config.num_features, alternate_sign=False,
                                 ngram_range=(1, self.config.max_ngram), norm=None)

    def design(self, requests: Sequence[Request]):
        """[N, num_features + 1] sparse inputs: weighted words, then the log prompt length."""
        return _design(self._vectorizer(), self.idf, requests)

    def log_lengths(self, requests: Sequence[Request]) -> np.ndarray:
        return self.design(requests) @ self.coef + self.intercept

    def predict_lengths(self, requests: Sequence[Request]) -> list[int]:
        lengths = np.clip(np.exp(self.log_lengths(requests)), 1, self.config.max_length)
        return [int(math.floor(v + 0.5)) for v in lengths]


def _prompt_tokens(request: Request) -> int:
    if request.num_prompt_tokens is None:  # words stand in where no tokenizer has counted
        return max(1, len(request.prompt.split()))
    return max(1, request.num_prompt_tokens)


def _design(vectorizer, idf: np.ndarray, requests: Sequence[Request]):
    from scipy import sparse
    from sklearn.preprocessing import normalize

    counts = vectorizer.transform([r.prompt for r in requests]).astype(np.float64)
    counts.data = 1 + np.log(counts.data)  # sublinear counts
    words = normalize(counts @ sparse.diags(idf))
    log_prompt = np.log([[_prompt_tokens(r)] for r in requests]) / 7.0  # ~unit scale
    return sparse.hstack([words, sparse.csr_matrix(log_prompt)]).tocsr()


def fit_text_ridge(requests: Sequence[Request], lengths: Sequence[int],
                   config: TextRidgeConfig | None = None) -> TextRidge:
    """Fit on `requests` and their answer lengths (tokens)."""
    from sklearn.linear_model import Ridge

    config = config or TextRidgeConfig()
    if len(requests) != len(lengths) or len(requests) < 2:
        raise ValueError(f"need matching requests and lengths, at least 2; got "
                         f"{len(requests)} and {len(lengths)}")
    model = TextRidge(config, np.ones(config.num_features), np.zeros(config.num_features + 1),
                      0.0)
    counts = model._vectorizer().transform([r.prompt for r in requests])
    document_frequency = np.bincount(counts.indices, minlength=config.num_features)
    model.idf = np.log((1 + len(requests)) / (1 + document_frequency)) + 1
    targets = np.log(np.maximum(1, np.asarray(lengths, dtype=np.float64)))
    ridge = Ridge(alpha=config.alpha).fit(model.design(requests), targets)
    model.coef, model.intercept = ridge.coef_.astype(np.float64), float(ridge.intercept_)
    return model


def save_text_ridge(model: TextRidge, out_dir: str | Path, report: dict | None = None) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({"idf": model.idf, "coef": model.coef,
               "intercept": np.array([model.intercept])}, out_dir / TEXT_RIDGE_WEIGHTS)
    (out_dir / TEXT_RIDGE_CONFIG).write_text(json.dumps(
        {"config": asdict(model.config), "report": report or {}}, indent=1))
    return out_dir


def load_text_ridge(model_dir: str | Path) -> TextRidge:
    model_dir = Path(model_dir)
    if not (model_dir / TEXT_RIDGE_WEIGHTS).is_file():
        raise FileNotFoundError(f"no text model in {model_dir}: train one with "
                                "`python -m seqsch.perception recorded-train`")
    saved = json.loads((model_dir / TEXT_RIDGE_CONFIG).read_text())
    tensors = load_file(model_dir / TEXT_RIDGE_WEIGHTS)
    return TextRidge(TextRidgeConfig(**saved["config"]), tensors["idf"], tensors["coef"],
                     float(tensors["intercept"][0]))


class TextRidgePredictor(LengthPredictor):
    """The text model as a length source: no model pass, words and prompt length only."""

    name = "text-ridge"

    def __init__(self, model: TextRidge):
        self.model = model

    def _predict(self, requests: list[Request]) -> list[int | None]:
        return list(self.model.predict_lengths(requests))


class PromptLengthPredictor(LengthPredictor):
    """The prompt's token count as the priority: the order every engine's shortest-job-first
    proposal uses. Not a length estimate; only its order means anything."""

    name = "prompt-length"

    def _predict(self, requests: list[Request]) -> list[int | None]:
        return [_prompt_tokens(r) for r in requests]
