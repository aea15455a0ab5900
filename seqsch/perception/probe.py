"""A length probe: a small MLP reading the LLM's last hidden state of the prompt.

Instead of asking the model (`seqsch.perception.lora`), the probe reads the prefill the scheduler
runs anyway: the hidden states (after the final norm) of the chat-formatted prompt, exactly the ids
`seqsch.core.requests.encode_prompts` builds, by default at the last layer; `num_layers` reads a
shallower layer and skips the rest of the prefill (`seqsch.perception.features`), and
`max_prompt_tokens` reads only the two ends of a long prompt. Two poolings are kept per prompt, the
mean over prompt tokens and the last token (the state the first answer token is read from); the head
uses "mean", "last" or both concatenated. Four training targets are offered:

* `l1`: the length divided by the cap, absolute error (a median regressor, best for "Error");
* `log_mse`: log of the max length with a squared loss (a geometric-mean regressor);
* `buckets`: softmax over 50-token buckets, predicting the median of that distribution, or
  with `decode="mean"` its expected length, the key by which Smith's rule orders one server's
  queue for the least mean completion time (for priority heads; with many slots, a heuristic);
* `rank`: a score trained only to order prompts (a pairwise logistic loss over every pair of a
  minibatch whose lengths differ, as learning-to-rank predictors are); a line fitted on the
  train records maps the score to a length, keeping the order.

`ProbeConfig(pooling="auto", target="auto")` fits every combination on 80% of the train
records, keeps the one with the smallest error on the other 20% (the highest Kendall's tau for a
head read by its mean), and refits it on all of them.

    python -m seqsch.perception train --predictor length-head     # see seqsch.perception
    predictor = ProbePredictor(model, tokenizer, load_probe("data/probe-smollm2-length"))
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from seqsch.core.cli import non_negative_int, positive_int
from seqsch.core.config_args import arg
from seqsch.core.length_records import LENGTH_TARGET_HELP, LENGTH_TARGETS, target_lengths
from seqsch.core.paths import DEFAULT_PROBE
from seqsch.core.requests import Request
from seqsch.perception.buckets import bucket_of, mean_of_buckets, median_of_buckets
from seqsch.perception.evaluation import kendall_tau, length_error
from seqsch.perception.features import extract_features
from seqsch.perception.predictors import LengthPredictor
from seqsch.perception.ranking import pairwise_rank_loss, score_to_log_length

DEFAULT_PROBE_DIR = DEFAULT_PROBE
POOLINGS = ("mean", "last", "mean+last")
TARGETS = ("l1", "log_mse", "buckets", "rank")
# target="auto" tries these (the shipped length head was chosen among them); a rank head is
# chosen by `seqsch.perception.selection` instead
AUTO_TARGETS = ("l1", "log_mse", "buckets")
# How a bucket head reads its distribution: its median (least absolute error) or its mean
# (the expected length: shortest expected first is Smith's rule for the least mean completion
# time of a queue).
DECODES = ("median", "mean")


@dataclass(frozen=True)
class ProbeConfig:
    """A head's shape, label and training; `auto` choices are made on a held-out share."""

    pooling: str = field(default="auto", metadata=arg(
        "mean, last or mean+last of the prompt's states; auto: chosen on the held-out share",
        choices=("auto", *POOLINGS)))
    target: str = field(default="auto", metadata=arg(
        "the loss (see this module); auto: l1, log_mse or buckets, chosen on the held-out "
        "share", choices=("auto", *TARGETS)))
    num_hidden: int = field(default=256, metadata=arg("the MLP's width", type=positive_int))
    dropout: float = field(default=0.1, metadata=arg("the MLP's dropout"))
    num_epochs: int = field(default=200, metadata=arg("passes over the train records",
                                                      type=positive_int))
    batch_size: int = field(default=64, metadata=arg("records per step", type=positive_int))
    learning_rate: float = field(default=1e-3, metadata=arg("AdamW's learning rate"))
    weight_decay: float = field(default=1e-2, metadata=arg("AdamW's weight decay"))
    bucket_size: int = field(default=50, metadata=arg("tokens per bucket (buckets)",
                                                      type=positive_int))
    max_length: int = field(default=512, metadata=arg(
        "the generation cap: labels censored, predictions clipped to [1, max_length]",
        type=positive_int))
    holdout_fraction: float = field(default=0.2, metadata=arg(
        "share of the train records that makes the auto choices"))
    num_layers: int | None = field(default=None, metadata=arg(
        "read the state after this many decoder layers (default: all)", type=non_negative_int))
    max_prompt_tokens: int | None = field(default=None, metadata=arg(
        "read only the two ends of a longer prompt, half each (bounds the cost of long "
        "prompts; default: all)", type=positive_int))
    length_target: str = field(default="max", metadata=arg(LENGTH_TARGET_HELP,
                                                           choices=LENGTH_TARGETS))
    decode: str = field(default="median", metadata=arg(
        "buckets: predict the distribution's median (least error) or its mean (the expected "
        "length: orders a queue)", choices=DECODES))
    seed: int = field(default=0, metadata=arg("seeds the split, the weights and the batches"))

    def __post_init__(self) -> None:
        for name, allowed in (("pooling", ("auto", *POOLINGS)), ("target", ("auto", *TARGETS)),
                              ("length_target", LENGTH_TARGETS), ("decode", DECODES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("num_hidden", "num_epochs", "batch_size", "bucket_size", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1 or not 0 < self.holdout_fraction < 1:
            raise ValueError("dropout must lie in [0, 1) and holdout_fraction in (0, 1)")
        if self.learning_rate <= 0 or self.weight_decay < 0:
            raise ValueError("learning_rate must be positive and weight_decay >= 0")
        if self.num_layers is not None and self.num_layers < 0:
            raise ValueError(f"num_layers must be >= 0 or None, got {self.num_layers}")
        if self.max_prompt_tokens is not None and self.max_prompt_tokens < 2:
            raise ValueError(f"max_prompt_tokens must be >= 2 or None, "
                             f"got {self.max_prompt_tokens}")
        if self.decode == "mean" and self.target != "buckets":
            raise ValueError("decode='mean' reads a distribution: use it with target='buckets'")

    def target_lengths(self, records) -> list[int]:
        """The lengths this head learns from `records` (LengthRecords), censored at the cap."""
        return target_lengths(records, self.length_target, self.max_length)

    @property
    def num_buckets(self) -> int:
        return bucket_of(self.max_length, self.bucket_size) + 1


def pool_features(features: dict[str, torch.Tensor], pooling: str) -> torch.Tensor:
    """[N, H] or [N, 2H] input of the head from the cached "mean" and "last" features."""
    parts = pooling.split("+")
    return torch.cat([features[part] for part in parts], dim=-1)


class LengthHead(nn.Module):
    """Standardise the features, then Linear-GELU-Dropout-Linear; outputs depend on `target`."""

    def __init__(self, num_inputs: int, config: ProbeConfig, target: str):
        super().__init__()
        self.config, self.target = config, target
        num_outputs = config.num_buckets if target == "buckets" else 1
        self.register_buffer("feature_mean", torch.zeros(num_inputs))
        self.register_buffer("feature_std", torch.ones(num_inputs))
        if target == "rank":  # log length = scale * score + shift, fitted after training
            self.register_buffer("score_to_log_length", torch.tensor([1.0, 0.0]))
        self.mlp = nn.Sequential(nn.Linear(num_inputs, config.num_hidden), nn.GELU(),
                                 nn.Dropout(config.dropout),
                                 nn.Linear(config.num_hidden, num_outputs))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp((features - self.feature_mean) / self.feature_std)

    def loss(self, outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.target == "buckets":
            buckets = torch.clamp(torch.ceil(lengths / self.config.bucket_size).long(), 0,
                                  self.config.num_buckets - 1)
            return nn.functional.cross_entropy(outputs, buckets)
        if self.target == "log_mse":
            return (outputs.squeeze(-1) - torch.log(lengths.clamp_min(1))).pow(2).mean()
        if self.target == "rank":
            return pairwise_rank_loss(outputs.squeeze(-1), lengths)
        return (outputs.squeeze(-1) - lengths / self.config.max_length).abs().mean()

    @torch.no_grad()
    def predict_lengths(self, features: torch.Tensor) -> list[int]:
        """Predicted lengths, rounded and clipped to [1, max_length]."""
        self.eval()
        outputs = self(features.float())
        if self.target == "buckets" and self.config.decode == "mean":
            lengths = mean_of_buckets(outputs.softmax(-1), self.config.bucket_size,
                                      self.config.max_length)
        elif self.target == "buckets":
            lengths = self._median_of_buckets(outputs.softmax(-1))
        elif self.target == "log_mse":
            lengths = outputs.squeeze(-1).exp()
        elif self.target == "rank":
            scale, shift = self.score_to_log_length.tolist()
            lengths = (outputs.squeeze(-1) * scale + shift).exp()
        else:
            lengths = outputs.squeeze(-1) * self.config.max_length
        lengths = lengths.clamp(1, self.config.max_length)
        return [int(math.floor(v + 0.5)) for v in lengths.tolist()]

    def _median_of_buckets(self, probs: torch.Tensor) -> torch.Tensor:
        return median_of_buckets(probs, self.config.bucket_size)


def _output_bias(head: LengthHead, lengths: torch.Tensor) -> torch.Tensor:
    """The constant that is optimal before any feature is used: training starts from it."""
    if head.target == "rank":
        return torch.zeros(1)
    if head.target == "buckets":
        buckets = torch.ceil(lengths / head.config.bucket_size).long()
        counts = torch.bincount(buckets.clamp(0, head.config.num_buckets - 1),
                                minlength=head.config.num_buckets)
        return torch.log((counts + 1) / (counts.sum() + len(counts)))
    if head.target == "log_mse":
        return torch.log(lengths.clamp_min(1)).mean()[None]
    return (lengths.median() / head.config.max_length)[None]


def fit_head(features: torch.Tensor, lengths: Sequence[int], config: ProbeConfig,
             target: str) -> LengthHead:
    """Train one head with AdamW on minibatches; the seed fixes init and batch order. Runs on
    one thread: for a head this small, more threads only add synchronisation."""
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(config.seed)
        inputs, targets = features.float(), torch.tensor(lengths, dtype=torch.float32)
        head = LengthHead(inputs.shape[1], config, target)
        head.feature_mean.copy_(inputs.mean(0))
        head.feature_std.copy_(inputs.std(0, unbiased=False).clamp_min(1e-6))
        with torch.no_grad():
            head.mlp[-1].bias.copy_(_output_bias(head, targets))
        optimizer = torch.optim.AdamW(head.parameters(), lr=config.learning_rate,
                                      weight_decay=config.weight_decay)
        generator = torch.Generator().manual_seed(config.seed)
        head.train()
        for _ in range(config.num_epochs):
            for batch in torch.randperm(len(inputs), generator=generator).split(
                    config.batch_size):
                loss = head.loss(head(inputs[batch]), targets[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        if target == "rank":
            head.eval()
            head.score_to_log_length.copy_(score_to_log_length(head(inputs).squeeze(-1), targets))
    finally:
        torch.set_num_threads(num_threads)
    return head.eval()


def best_candidate(candidates: Sequence[dict], decode: str) -> dict:
    """The held-out winner: the least error, or for a priority head (decode="mean"), which is
    there to order requests, the highest Kendall's tau."""
    if decode == "mean":
        return max(candidates, key=lambda c: c["holdout_kendall_tau"])
    return min(candidates, key=lambda c: c["holdout_error"])


def train_probe(features: dict[str, torch.Tensor], lengths: Sequence[int],
                config: ProbeConfig | None = None) -> tuple[LengthHead, dict]:
    """Fit the head; "auto" choices are made on a seeded held-out share of the records (the
    least error; the highest Kendall tau for a priority head, `decode="mean"`).

    Returns the head refitted on all records and a report with each candidate's held-out
    error and Kendall tau."""
    config = config or ProbeConfig()
    poolings = POOLINGS if config.pooling == "auto" else (config.pooling,)
    targets = AUTO_TARGETS if config.target == "auto" else (config.target,)
    report: dict = {"candidates": []}
    if len(poolings) * len(targets) > 1:
        order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(config.seed))
        num_holdout = max(1, int(len(lengths) * config.holdout_fraction))
        held, kept = order[:num_holdout].tolist(), order[num_holdout:].tolist()
        true = [lengths[i] for i in held]
        for pooling in poolings:
            inputs = pool_features(features, pooling)
            for target in targets:
                head = fit_head(inputs[kept], [lengths[i] for i in kept], config, target)
                pred = head.predict_lengths(inputs[held])
                report["candidates"].append({
                    "pooling": pooling, "target": target, "holdout_error": length_error(
                        pred, true), "holdout_kendall_tau": kendall_tau(pred, true)})
        best = best_candidate(report["candidates"], config.decode)
        poolings, targets = (best["pooling"],), (best["target"],)
    chosen = replace(config, pooling=poolings[0], target=targets[0])
    head = fit_head(pool_features(features, chosen.pooling), lengths, chosen, chosen.target)
    report.update(pooling=chosen.pooling, target=chosen.target, num_records=len(lengths))
    return head, report


def save_probe(head: LengthHead, out_dir: str | Path, report: dict | None = None) -> Path:
    """`head.safetensors` (weights) and `probe_config.json` (settings, choices, report)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in head.state_dict().items()},
              out_dir / "head.safetensors")
    config = {"config": asdict(head.config), "target": head.target,
              "num_inputs": head.feature_mean.numel(), "report": report or {}}
    (out_dir / "probe_config.json").write_text(json.dumps(config, indent=1))
    return out_dir


def load_probe(probe_dir: str | Path = DEFAULT_PROBE_DIR) -> LengthHead:
    probe_dir = Path(probe_dir)
    if not (probe_dir / "head.safetensors").is_file():
        raise FileNotFoundError(f"no probe in {probe_dir}: train one with "
                                "`python -m seqsch.perception train --predictor length-head`")
    saved = json.loads((probe_dir / "probe_config.json").read_text())
    head = LengthHead(saved["num_inputs"], ProbeConfig(**saved["config"]), saved["target"])
    head.load_state_dict(load_file(probe_dir / "head.safetensors"))
    return head.eval()


class ProbePredictor(LengthPredictor):
    """Prefill the prompts (no generation) up to the head's depth, pool, apply the head."""

    name = "length-head"

    def __init__(self, model, tokenizer, head: LengthHead, batch_size: int = 16,
                 quiet: bool = True, name: str | None = None):
        num_inputs = model.config.hidden_size * len(head.config.pooling.split("+"))
        if head.feature_mean.numel() != num_inputs:
            raise ValueError(f"the probe reads {head.feature_mean.numel()} features, this model "
                             f"gives {num_inputs}: it was trained on another model")
        self.model, self.tokenizer, self.head = model, tokenizer, head
        self.batch_size, self.quiet = batch_size, quiet
        self.name = name or self.name

    def head_inputs(self, requests: list[Request]) -> torch.Tensor:
        """[N, inputs] the pooled states the head reads: the prefill up to its depth."""
        features = extract_features(self.model, self.tokenizer, requests, self.batch_size,
                                    quiet=self.quiet, num_layers=self.head.config.num_layers,
                                    max_prompt_tokens=self.head.config.max_prompt_tokens)
        return pool_features(features, self.head.config.pooling)

    def _predict(self, requests: list[Request]) -> list[int | None]:
        return self.head.predict_lengths(self.head_inputs(requests))
