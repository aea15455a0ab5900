"""The paper's LoRA length module, tuned on ShareGPT's recorded answer lengths.

The paper tunes its module on the served model's own answers: the 50-token bucket of the longest
of four samples. On the recorded-lengths workload (`seqsch.core.recorded`) the label is the
length ShareGPT recorded for each answer, the length a replay forces. Everything else stays the
paper's: the query prompt, the 50-token buckets, the LoRA shape and optimizer
(`seqsch.perception.lora`). Labels are capped at `max_length` (512, the replay's cap: longer
answers are cut there, as the paper's cap cuts them), and the module is then scored beside the
other sources on the test split by `recorded-eval`, once.

Its cost decides how much of the train split it reads: one epoch over all 6,523 train prompts
takes about 85 minutes on two CPU cores, so `num_train` takes the first prompts of the split (in
the length file's order; the split itself is a seeded draw by id). A run checkpoints as it goes
and resumes where it stopped.

    python -m seqsch.perception recorded-train-lora --num-train 2560 --out build/lora-recorded
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seqsch.core.cli import positive_int
from seqsch.core.config_args import arg, nested
from seqsch.core.models import DEFAULT, load_model
from seqsch.core.paths import BUILD_DIR, portable
from seqsch.core.recorded import DEFAULT_RECORDED, read_recorded_file, recorded_requests
from seqsch.core.requests import Request
from seqsch.perception.buckets import DEFAULT_BUCKET_SIZE
from seqsch.perception.configs import quiet_field
from seqsch.perception.lora import LoraTrainConfig, train_lora
from seqsch.perception.prompts import build_tuning_example

RECORDED_CAP = 512  # the replay's cap, and the paper's


@dataclass
class RecordedLoraConfig:
    """`train_recorded_lora`: the workload, how much of its train split, the module's training."""

    lengths: Path = field(default=DEFAULT_RECORDED, metadata=arg(
        "the recorded-lengths workload (python -m seqsch.bench lengths recorded)"))
    model: str = field(default=DEFAULT, metadata=arg("the model the module is tuned on"))
    out: Path = field(default=BUILD_DIR / "lora-sharegpt-recorded", metadata=arg(
        "the adapter's folder (data/lora-sharegpt-recorded refreshes the shipped one)"))
    num_train: int | None = field(default=None, metadata=arg(
        "the first N prompts of the train split (default: all of them)", type=positive_int))
    max_length: int = field(default=RECORDED_CAP, metadata=arg(
        "labels are capped here, as the replay caps answers", type=positive_int))
    resume: bool = field(default=True, metadata=arg("resume from the folder's last checkpoint"))
    lora: LoraTrainConfig = field(default_factory=lambda: LoraTrainConfig(num_epochs=1),
                                  metadata=nested())
    quiet: bool = quiet_field()

    def __post_init__(self) -> None:
        self.lengths, self.out = Path(self.lengths), Path(self.out)
        if self.num_train is not None and self.num_train < 1:
            raise ValueError(f"num_train must be >= 1 or None, got {self.num_train}")
        if self.max_length < DEFAULT_BUCKET_SIZE:
            raise ValueError(f"max_length must be >= {DEFAULT_BUCKET_SIZE} (one bucket), got "
                             f"{self.max_length}")


def recorded_tuning_set(requests: Sequence[Request], max_length: int = RECORDED_CAP,
                        bucket_size: int = DEFAULT_BUCKET_SIZE) -> list[dict[str, str]]:
    """One tuning example per request: its query prompt -> the bucket of its recorded length
    (`Request.forced_output_tokens`), capped at `max_length`."""
    missing = [r.id for r in requests if r.forced_output_tokens is None]
    if missing:
        raise ValueError(f"{len(missing)} requests carry no recorded length (e.g. {missing[:3]})")
    return [build_tuning_example(r.prompt, min(r.forced_output_tokens, max_length), bucket_size)
            for r in requests]


def train_recorded_lora(config: RecordedLoraConfig | None = None) -> dict:
    """Tune the module on the first `num_train` train prompts' recorded lengths; save the adapter
    with what it was tuned on (`train_config.json`); return a summary."""
    config = config or RecordedLoraConfig()
    requests = recorded_requests(read_recorded_file(config.lengths), "train")
    requests = requests[:config.num_train]
    model, tokenizer = load_model(config.model)
    examples = recorded_tuning_set(requests, config.max_length)
    start = time.perf_counter()
    losses = train_lora(model, tokenizer, examples, config.out, config.lora,
                        resume=config.resume, quiet=config.quiet)
    wall_s = time.perf_counter() - start
    saved = config.out / "train_config.json"  # the cap bounds the buckets it can answer
    saved.write_text(json.dumps({**json.loads(saved.read_text()), "max_length": config.max_length,
                                 "length_target": "recorded", "lengths": portable(config.lengths),
                                 "num_train": len(requests), "wall_s": round(wall_s, 1)},
                                indent=1))
    return {"out": portable(config.out), "num_examples": len(examples), "num_steps": len(losses),
            "first_loss": losses[0]["loss"], "final_loss": losses[-1]["loss"],
            "wall_s": round(wall_s, 1)}
