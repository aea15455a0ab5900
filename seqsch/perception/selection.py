"""Choose a priority head on the train split alone: k-fold cross-validation over a grid.

A priority head is judged by the order it gives a greedy workload: Kendall's tau against the
greedy length censored at the workload's cap, and the order gain of a 16-slot continuous
replay (`seqsch.scheduling.priority`). Choosing depth, label and loss by those numbers on the
validation prompts would make the validation numbers optimistic, so `select_head` scores every
combination on held-out folds of the *train* prompts only, and never reads the validation
split. The features of every depth come from one prefill of the train prompts.

    python -m seqsch.perception select --depths 15 20 25 --targets rank log_mse \
        --length-targets greedy mean --max-length 256          # writes build/probe-selection.json

`--train-sizes 160 320 640` adds the best combination's learning curve: the same held-out
folds, each fold's head trained on fewer prompts; whether more data would pay.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from seqsch.core.cli import non_negative_int, positive_int
from seqsch.core.config_args import arg
from seqsch.core.length_records import target_lengths
from seqsch.core.models import DEFAULT, load_model
from seqsch.core.paths import BUILD_DIR, DEFAULT_LENGTHS, portable
from seqsch.perception.evaluation import kendall_tau
from seqsch.perception.experiments import load_records, requests_for
from seqsch.perception.features import extract_features_by_depth
from seqsch.perception.probe import (
    LENGTH_TARGETS,
    POOLINGS,
    TARGETS,
    ProbeConfig,
    fit_head,
    pool_features,
)
from seqsch.scheduling.priority import order_gain


@dataclass
class SelectionConfig:
    """The grid `select_head` cross-validates, and how (`python -m seqsch.perception select`)."""

    lengths: Path = field(default=DEFAULT_LENGTHS, metadata=arg(
        "the length file; only its train split is read"))
    model: str = field(default=DEFAULT, metadata=arg("the model whose hidden states are read"))
    depths: tuple[int, ...] = field(default=(15, 20, 25), metadata=arg(
        "the depths to compare", type=non_negative_int))
    poolings: tuple[str, ...] = field(default=("mean+last",), metadata=arg(
        "the poolings to compare", choices=POOLINGS))
    targets: tuple[str, ...] = field(default=("rank", "log_mse"), metadata=arg(
        "the losses to compare", choices=TARGETS))
    length_targets: tuple[str, ...] = field(default=("greedy", "mean"), metadata=arg(
        "the labels to compare", choices=LENGTH_TARGETS))
    max_length: int = field(default=256, metadata=arg(
        "the workload's cap: labels and the greedy length are censored here", type=positive_int))
    max_prompt_tokens: int | None = field(default=None, metadata=arg(
        "read only the two ends of a longer prompt (default: all)", type=positive_int))
    num_folds: int = field(default=5, metadata=arg("folds of the train split",
                                                   type=positive_int))
    num_epochs: int = field(default=60, metadata=arg("each head's passes over its folds",
                                                     type=positive_int))
    num_train: int | None = field(default=None, metadata=arg(
        "use the first N train prompts (default: all)", type=positive_int))
    train_sizes: tuple[int, ...] = field(default=(), metadata=arg(
        "the best head's learning curve: each fold's head trained on only this many of its "
        "prompts, scored on the same held-out folds (default: none)", type=positive_int))
    seed: int = field(default=0, metadata=arg("seeds the folds and the heads"))
    out: Path = field(default=BUILD_DIR / "probe-selection.json", metadata=arg(
        "the scores' JSON (data/probe-smollm2-rank/selection.json refreshes the shipped one)"))

    def __post_init__(self) -> None:
        for name, allowed in (("poolings", POOLINGS), ("targets", TARGETS),
                              ("length_targets", LENGTH_TARGETS)):
            unknown = set(getattr(self, name)) - set(allowed)
            if unknown or not getattr(self, name):
                raise ValueError(f"{name}: {sorted(unknown) or 'none given'}; choose from "
                                 f"{allowed}")
        if not self.depths or min(self.depths) < 0:
            raise ValueError(f"depths must be >= 0, got {self.depths}")
        if self.num_folds < 2 or self.max_length < 1 or self.num_epochs < 1:
            raise ValueError("num_folds must be >= 2, max_length and num_epochs >= 1")
        if any(size < 2 for size in self.train_sizes):
            raise ValueError(f"train_sizes must be >= 2, got {self.train_sizes}")


def fold_scores(inputs: torch.Tensor, labels: list[int], greedy: list[int],
                probe: ProbeConfig, num_folds: int, seed: int,
                max_train: int | None = None) -> dict[str, float]:
    """Mean held-out Kendall's tau and order gain over `num_folds` seeded folds: the head
    learns `labels`, and is scored against `greedy` (the censored greedy lengths). With
    `max_train`, each fold's head learns from only that many of its training prompts (a
    point of the learning curve; the held-out folds stay the same)."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).tolist()
    taus, gains = [], []
    for k in range(num_folds):
        held = order[k::num_folds]
        held_set = set(held)
        kept = sorted([i for i in order if i not in held_set][:max_train])
        head = fit_head(inputs[kept], [labels[i] for i in kept], probe, probe.target)
        with torch.no_grad():
            scores = head(inputs[held].float())
            scores = scores.squeeze(-1) if probe.target != "buckets" else (
                scores.softmax(-1) @ torch.arange(scores.shape[-1], dtype=torch.float32))
        scores = (scores - scores.min()).tolist()  # a priority key: only the order matters
        true = [greedy[i] for i in held]
        taus.append(kendall_tau(scores, true))
        gains.append(order_gain(scores, true))
    return {"cv_kendall_tau": statistics.mean(taus), "cv_order_gain": statistics.mean(gains)}


def select_head(config: SelectionConfig) -> dict:
    """Score every combination of the grid by k-fold cross-validation on the train prompts;
    write and return the scores, best first by tau."""
    start = time.perf_counter()
    records = load_records(config.lengths, "train", config.num_train)
    model, tokenizer = load_model(config.model)
    features = extract_features_by_depth(model, tokenizer, requests_for(records),
                                         sorted(set(config.depths)),
                                         max_prompt_tokens=config.max_prompt_tokens)
    greedy = target_lengths(records, "greedy", config.max_length)

    def scores(row: dict, max_train: int | None = None) -> dict[str, float]:
        """Cross-validated scores of one combination of the grid (a `rows` entry)."""
        probe = ProbeConfig(pooling=row["pooling"], target=row["target"],
                            length_target=row["length_target"], max_length=config.max_length,
                            num_layers=row["num_layers"], num_epochs=config.num_epochs,
                            seed=config.seed)
        return fold_scores(pool_features(features[row["num_layers"]], row["pooling"]),
                           probe.target_lengths(records), greedy, probe, config.num_folds,
                           config.seed, max_train)

    rows = []
    for depth, pooling, target, length_target in itertools.product(
            config.depths, config.poolings, config.targets, config.length_targets):
        row = {"num_layers": depth, "pooling": pooling, "target": target,
               "length_target": length_target}
        rows.append({**row, **scores(row)})
    rows.sort(key=lambda r: -r["cv_kendall_tau"])
    best = rows[0]
    curve = [{"num_train": size, **scores(best, size)} for size in config.train_sizes]
    result = {"config": {k: portable(v) if isinstance(v, Path) else v
                         for k, v in asdict(config).items()},
              "num_train": len(records), "rows": rows, "best": best, "learning_curve": curve,
              "wall_s": time.perf_counter() - start}
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(result, indent=1))
    return result
