"""A head on the embedded model's hidden states that predicts *recorded* answer lengths.

The served model need not be the predictor's: as vllm-ltr trains a 125M ranker for Llama-3's
answers, this head reads the embedded 135M model's prefill of a prompt and learns the length of
the answer ShareGPT recorded for it (`seqsch.core.recorded`). Its depth and loss are chosen by
k-fold cross-validation on the train split alone, with the predictor's cost in the choice:
among the candidates whose cross-validated Kendall's tau lies within one standard error of the
best, the shallowest (cheapest) wins. The text model (`seqsch.perception.text_ridge`) can be
blended in, in log-length units, with a weight chosen the same way.

    selection = select_recorded_head(features_by_depth, lengths, text_log_oof, config)
    head = fit_recorded_head(features_by_depth, lengths, selection, config)

`python -m seqsch.perception recorded-train` runs it end to end (features cached in build/).
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from seqsch.core.cli import non_negative_int, positive_int
from seqsch.core.config_args import arg
from seqsch.core.requests import Request
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.perception.evaluation import kendall_tau
from seqsch.perception.probe import (
    POOLINGS,
    LengthHead,
    ProbeConfig,
    ProbePredictor,
    fit_head,
    load_probe,
    pool_features,
    save_probe,
)
from seqsch.perception.text_ridge import (
    TEXT_RIDGE_CONFIG,
    TEXT_RIDGE_WEIGHTS,
    TextRidge,
    load_text_ridge,
    save_text_ridge,
)
from seqsch.scheduling.priority import order_gain

RECORDED_TARGETS = ("log_mse", "rank")
TextFit = Callable[[list[int], list[int]], list[float]]


@dataclass(frozen=True)
class RecordedHeadConfig:
    """The candidates `select_recorded_head` cross-validates, and how each head is trained."""

    depths: tuple[int, ...] = field(default=(4, 8, 12, 16, 20, 24, 30), metadata=arg(
        "the depths to compare", type=non_negative_int))
    targets: tuple[str, ...] = field(default=RECORDED_TARGETS, metadata=arg(
        "the losses to compare", choices=RECORDED_TARGETS))
    text_weights: tuple[float, ...] = field(default=(0.0, 0.25, 0.5, 0.75), metadata=arg(
        "the text model's shares of the blend to compare"))
    pooling: str = field(default="mean+last", metadata=arg("the head's pooling",
                                                           choices=POOLINGS))
    num_folds: int = field(default=5, metadata=arg("folds of the train split",
                                                   type=positive_int))
    num_epochs: int = field(default=30, metadata=arg("each head's passes over its folds",
                                                     type=positive_int))
    num_hidden: int = field(default=256, metadata=arg("the MLP's width", type=positive_int))
    max_prompt_tokens: int = field(default=256, metadata=arg(
        "read only the two ends of a longer prompt (the features' clip)", type=positive_int))
    max_length: int = field(default=2048, metadata=arg(
        "labels censored, predictions clipped here", type=positive_int))
    seed: int = field(default=0, metadata=arg("seeds the folds and the heads"))
    train_sizes: tuple[int, ...] = field(default=(500, 1000, 2000, 4000), metadata=arg(
        "the learning curve's train sizes", type=positive_int))

    def __post_init__(self) -> None:
        if not self.depths or min(self.depths) < 0:
            raise ValueError(f"depths must be non-empty and >= 0, got {self.depths}")
        unknown = set(self.targets) - set(RECORDED_TARGETS)
        if not self.targets or unknown:
            raise ValueError(f"targets must be among {RECORDED_TARGETS}, got {self.targets}")
        if any(not 0 <= w < 1 for w in self.text_weights) or not self.text_weights:
            raise ValueError(f"text_weights must lie in [0, 1), got {self.text_weights}")
        if self.num_folds < 2 or self.num_epochs < 1:
            raise ValueError(f"num_folds must be >= 2 and num_epochs >= 1, got "
                             f"{self.num_folds}, {self.num_epochs}")

    def probe_config(self, depth: int, target: str) -> ProbeConfig:
        return ProbeConfig(pooling=self.pooling, target=target, num_hidden=self.num_hidden,
                           num_epochs=self.num_epochs, max_length=self.max_length,
                           num_layers=depth, max_prompt_tokens=self.max_prompt_tokens,
                           seed=self.seed)


def fold_of(num_items: int, num_folds: int, seed: int) -> list[int]:
    """A seeded fold index per item, folds as equal as can be."""
    order = torch.randperm(num_items, generator=torch.Generator().manual_seed(seed)).tolist()
    folds = [0] * num_items
    for position, item in enumerate(order):
        folds[item] = position % num_folds
    return folds


@torch.no_grad()
def head_log_lengths(head: LengthHead, inputs: torch.Tensor) -> list[float]:
    """The head's predicted log lengths, unrounded (rounding to whole tokens would tie close
    prompts), clipped to [log 1, log max_length]. Heads of a log-length loss or a rank loss."""
    if head.target not in RECORDED_TARGETS:
        raise ValueError(f"a recorded head is trained with one of {RECORDED_TARGETS}, "
                         f"not {head.target!r}")
    head.eval()
    outputs = head(inputs.float()).squeeze(-1)
    if head.target == "rank":  # the score mapped to a log length by the fitted line
        scale, shift = head.score_to_log_length.tolist()
        outputs = outputs * scale + shift
    return outputs.clamp(0.0, math.log(head.config.max_length)).tolist()


def out_of_fold(inputs: torch.Tensor, lengths: Sequence[int], config: ProbeConfig,
                folds: Sequence[int], num_folds: int) -> list[float]:
    """Each item's log-length predicted by a head fitted on the other folds."""
    predicted = [0.0] * len(lengths)
    for k in range(num_folds):
        fit_rows = [i for i, f in enumerate(folds) if f != k]
        held = [i for i, f in enumerate(folds) if f == k]
        head = fit_head(inputs[fit_rows], [lengths[i] for i in fit_rows], config, config.target)
        for i, value in zip(held, head_log_lengths(head, inputs[held])):
            predicted[i] = value
    return predicted


def blend(head_log: Sequence[float], text_log: Sequence[float] | None,
          text_weight: float) -> list[float]:
    """The log lengths of the head and the text model, weighted; the head alone when
    `text_weight` is 0 or there is no text model."""
    if text_log is None or text_weight == 0:
        return list(head_log)
    return [(1 - text_weight) * h + text_weight * t
            for h, t in zip(head_log, text_log, strict=True)]


def fold_scores(predicted: Sequence[float], lengths: Sequence[int], folds: Sequence[int],
                num_folds: int) -> list[float]:
    """Kendall's tau within each fold (the spread gives the standard error)."""
    return [kendall_tau([p for p, f in zip(predicted, folds) if f == k],
                        [t for t, f in zip(lengths, folds) if f == k]) for k in range(num_folds)]


def select_recorded_head(features_by_depth: dict[int, dict[str, torch.Tensor]],
                         lengths: Sequence[int], text_log_oof: Sequence[float] | None,
                         config: RecordedHeadConfig, quiet: bool = False) -> dict:
    """Cross-validate every depth x target x text weight on the train records; choose the
    cheapest candidate within one standard error of the best mean tau. `text_log_oof`: the
    text model's out-of-fold log-length predictions on the same folds (None: no blend)."""
    folds = fold_of(len(lengths), config.num_folds, config.seed)
    candidates = []
    for depth in config.depths:
        inputs = pool_features(features_by_depth[depth], config.pooling)
        for target in config.targets:
            head_log = out_of_fold(inputs, lengths, config.probe_config(depth, target), folds,
                                   config.num_folds)
            weights = config.text_weights if text_log_oof is not None else (0.0,)
            for weight in weights:
                predicted = blend(head_log, text_log_oof, weight)
                taus = fold_scores(predicted, lengths, folds, config.num_folds)
                candidates.append({
                    "depth": depth, "target": target, "text_weight": weight,
                    "cv_kendall_tau": statistics.fmean(taus),
                    "cv_tau_se": statistics.stdev(taus) / math.sqrt(len(taus)),
                    "cv_order_gain": order_gain(predicted, lengths)})
                if not quiet:
                    print({k: round(v, 3) if isinstance(v, float) else v
                           for k, v in candidates[-1].items()}, flush=True)
    best = max(candidates, key=lambda c: c["cv_kendall_tau"])
    within = [c for c in candidates
              if c["cv_kendall_tau"] >= best["cv_kendall_tau"] - best["cv_tau_se"]]
    chosen = min(within, key=lambda c: (c["depth"], -c["cv_kendall_tau"]))
    return {"chosen": chosen, "best": best, "rule": "shallowest within one standard error of "
            "the best cross-validated Kendall's tau", "num_records": len(lengths),
            "config": asdict(config), "candidates": candidates}


def learning_curve(features_by_depth: dict[int, dict[str, torch.Tensor]],
                   lengths: Sequence[int], text_log_for: TextFit | None,
                   chosen: dict, config: RecordedHeadConfig) -> list[dict]:
    """Cross-validated tau of the chosen candidate trained on a seeded subset of `size` rows of
    each fold's training part (scored on the whole held-out fold), then on all of it: the
    selection's own fits, so the last point is the chosen candidate's cross-validated tau.
    `text_log_for(fit_rows, held_rows)`: the text model fitted on `fit_rows`, its log-lengths
    of `held_rows` (None: no blend)."""
    folds = fold_of(len(lengths), config.num_folds, config.seed)
    inputs = pool_features(features_by_depth[chosen["depth"]], config.pooling)
    probe = config.probe_config(chosen["depth"], chosen["target"])
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(
        config.seed + 1)).tolist()
    smallest = len(lengths) - max(Counter(folds).values())  # the smallest training part
    points = []
    for size in sorted(s for s in set(config.train_sizes) if s < smallest) + [None]:
        taus, sizes = [], []
        for k in range(config.num_folds):
            # rows in file order (as `out_of_fold` fits them): a subset only picks which
            fit_rows = sorted([i for i in order if folds[i] != k][:size])
            held = [i for i, f in enumerate(folds) if f == k]
            head = fit_head(inputs[fit_rows], [lengths[i] for i in fit_rows], probe,
                            probe.target)
            text = text_log_for(fit_rows, held) if text_log_for is not None else None
            predicted = blend(head_log_lengths(head, inputs[held]), text,
                              chosen["text_weight"])
            taus.append(kendall_tau(predicted, [lengths[i] for i in held]))
            sizes.append(len(fit_rows))
        points.append({"num_train": round(statistics.fmean(sizes)),
                       "cv_kendall_tau": statistics.fmean(taus)})
    return points


BLEND_CONFIG = "blend.json"
# what the predictor is loaded from (the selection's reports beside them are not read)
RECORDED_HEAD_FILES = ("head.safetensors", "probe_config.json", BLEND_CONFIG,
                       TEXT_RIDGE_WEIGHTS, TEXT_RIDGE_CONFIG)


def recorded_head_sha256(head_dir: str | Path) -> str:
    """A hash of the files the recorded head is loaded from: a retrained head is another."""
    digest = hashlib.sha256()
    for name in RECORDED_HEAD_FILES:
        path = Path(head_dir) / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def save_recorded_head(head: LengthHead, text: TextRidge | None, text_weight: float,
                       out_dir: str | Path, report: dict | None = None) -> Path:
    """The head (probe format), the text model (its own source too) and the blend's weight."""
    out_dir = save_probe(head, out_dir, report)
    if text is not None:
        save_text_ridge(text, out_dir)
    (out_dir / BLEND_CONFIG).write_text(json.dumps({"text_weight": text_weight}))
    return out_dir


def load_recorded_head(head_dir: str | Path) -> tuple[LengthHead, TextRidge | None, float]:
    """The head, the text model saved beside it (None if none) and the blend's weight."""
    head_dir = Path(head_dir)
    head = load_probe(head_dir)
    blend_file = head_dir / BLEND_CONFIG
    weight = json.loads(blend_file.read_text())["text_weight"] if blend_file.is_file() else 0.0
    text = load_text_ridge(head_dir) if (head_dir / TEXT_RIDGE_WEIGHTS).is_file() else None
    if weight > 0 and text is None:
        raise FileNotFoundError(f"{head_dir} blends in a text model it does not hold")
    return head, text, weight


class RecordedHeadPredictor(ProbePredictor):
    """Prefill up to the head's depth, apply the head, blend in the text model (log lengths)."""

    name = RECORDED_HEAD_SOURCE

    def __init__(self, model, tokenizer, head: LengthHead, text: TextRidge | None = None,
                 text_weight: float = 0.0, batch_size: int = 16, quiet: bool = True):
        if text_weight > 0 and text is None:
            raise ValueError("text_weight > 0 needs the text model")
        super().__init__(model, tokenizer, head, batch_size, quiet)
        self.text, self.text_weight = text, text_weight

    def _predict(self, requests: list[Request]) -> list[int | None]:
        head_log = head_log_lengths(self.head, self.head_inputs(requests))
        text_log = list(self.text.log_lengths(requests)) if self.text is not None else None
        cap = self.head.config.max_length
        return [int(min(cap, max(1, math.floor(math.exp(v) + 0.5))))
                for v in blend(head_log, text_log, self.text_weight)]
