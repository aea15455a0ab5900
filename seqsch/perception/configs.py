"""One config per perception command: its settings, their defaults and help texts, in one place.

`python -m seqsch.perception <command> --help` lists exactly the fields of that command's
config, under the same names a notebook passes (`seqsch.core.config_args` builds the command
line from the fields):

| command      | config               | runs (seqsch.perception.experiments)             |
|--------------|----------------------|--------------------------------------------------|
| `eval`       | `EvalConfig`         | `evaluate`: a predictor on the validation split  |
| `depth`      | `DepthConfig`        | `depth_sweep`: heads at several depths           |
| `train-lora` | `AdapterTrainConfig` | `train_adapter`: the paper's LoRA module         |
| `train-head` | `HeadTrainConfig`    | `train_head`: a head on the hidden states        |

The training configs nest the library's own, whose fields are options of the same command line:
`LoraTrainConfig` (the LoRA shape and its optimisation: `--num-steps`, `--learning-rate`, ...)
and `ProbeConfig` (the head: `--pooling`, `--target`, `--num-epochs`, ...).

    evaluate(EvalConfig(predictor="constant", num_data=50))
    train(AdapterTrainConfig(out=Path("build/lora"), lora=LoraTrainConfig(num_steps=75)))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqsch.core.cli import non_negative_int, positive_int
from seqsch.core.config_args import arg, nested
from seqsch.core.length_records import LENGTH_TARGET_HELP, LENGTH_TARGETS
from seqsch.core.paths import BUILD_DIR, DEFAULT_LENGTHS
from seqsch.core.sources import canonical_source
from seqsch.perception.lora import LoraTrainConfig
from seqsch.perception.probe import ProbeConfig
from seqsch.perception.query import DEFAULT_LORA_DECODE, QUERY_DECODES
from seqsch.perception.registry import is_head_source, predictor_choices, trainable_choices


def head_choices() -> tuple[str, ...]:
    """What `train-head --predictor` takes: the registry's heads on the hidden states."""
    return tuple(name for name in trainable_choices() if is_head_source(name))


def batch_size_field() -> Any:
    """A config's `batch_size` field: its default and help, shared by every command."""
    return field(default=16, metadata=arg("prompts per forward pass (features, predictions)",
                                          type=positive_int))


def quiet_field() -> Any:
    """A config's `quiet` field: its default and help, shared by every command."""
    return field(default=False, metadata=arg("no progress bars"))


def _label_cap() -> Any:
    return field(default=None, metadata=arg(
        "censor the learnt lengths at this cap (default: the length file's generation cap)",
        type=positive_int))


@dataclass(kw_only=True)
class RunConfig:
    """What every command on a length file shares: the file, the model and how to run it."""

    lengths: Path = field(default=DEFAULT_LENGTHS, metadata=arg(
        "the length file (python -m seqsch.bench lengths collect)"))
    num_data: int | None = field(default=None, metadata=arg(
        "use the first N records of each split", type=positive_int))
    model: str | None = field(default=None, metadata=arg(
        "default: the model named in the length file"))
    device: str = field(default="auto", metadata=arg("cpu, cuda, ...; auto: CUDA when present"))
    dtype: str = field(default="auto", metadata=arg(
        "auto: bf16/fp16 on CUDA, float32 on a CPU (seqsch.core.device)"))
    quiet: bool = quiet_field()

    def __post_init__(self) -> None:
        self.lengths = Path(self.lengths)
        for name in ("num_data", "batch_size", "max_length"):
            value = getattr(self, name, None)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")


@dataclass(kw_only=True)
class EvalConfig(RunConfig):
    """`evaluate`: score a predictor on the validation records, save every prediction."""

    predictor: str = field(metadata=arg("the predictor to score", choices=predictor_choices))
    out: Path | None = field(default=None, metadata=arg(
        "the results JSON (default: build/perception-eval-<predictor>.json; data/... "
        "refreshes a shipped file)"))
    adapter: Path | None = field(default=None, metadata=arg(
        "lora: the adapter's folder (default: its registry row's, seqsch.core.sources)"))
    probe: Path | None = field(default=None, metadata=arg(
        "a head's folder (default: its registry row's, seqsch.core.sources)"))
    lora_decode: str = field(default=DEFAULT_LORA_DECODE, metadata=arg(
        "lora: read the bucket distribution's median (score) or decode one answer greedily, "
        "as the paper (generate)", choices=QUERY_DECODES))
    length_target: str = field(default="max", metadata=arg(
        "score against the longest sampled answer's length (the paper's), the greedy "
        "answer's, or the geometric mean of the sampled ones (the constant: its train median)",
        choices=LENGTH_TARGETS))
    max_length: int | None = field(default=None, metadata=arg(
        "censor the true lengths at this cap (default: as recorded)", type=positive_int))
    batch_size: int = batch_size_field()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.predictor != "noise-floor":  # an alias reads as its source
            self.predictor = canonical_source(self.predictor, self.probe)
        for name, allowed in (("predictor", predictor_choices()),
                              ("lora_decode", QUERY_DECODES), ("length_target", LENGTH_TARGETS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r}; choose one of {allowed}")


@dataclass(kw_only=True)
class DepthConfig(RunConfig):
    """`depth_sweep`: a head at each depth, scored on the validation records and timed."""

    out: Path = field(default=BUILD_DIR / "probe-depth.json", metadata=arg(
        "the results JSON (data/probe-depth.json refreshes the shipped one)"))
    depths: tuple[int, ...] | None = field(default=None, metadata=arg(
        "the depths to compare (default: embeddings, layers 2 and 4, the quarters, the last)",
        type=non_negative_int))
    max_length: int | None = _label_cap()
    batch_size: int = batch_size_field()
    head: ProbeConfig = field(default_factory=ProbeConfig, metadata=nested(
        exclude=("batch_size", "max_length", "num_layers")))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.depths is not None and (not self.depths or min(self.depths) < 0):
            raise ValueError(f"depths must be >= 0, got {self.depths}")


@dataclass(kw_only=True)
class AdapterTrainConfig(RunConfig):
    """`train_adapter`: tune the LoRA module on the length query, the train records' buckets."""

    out: Path = field(default=BUILD_DIR / "lora-smollm2-length", metadata=arg(
        "the adapter's folder (data/lora-smollm2-length refreshes the shipped one)"))
    length_target: str = field(default="max", metadata=arg(LENGTH_TARGET_HELP,
                                                           choices=LENGTH_TARGETS))
    max_length: int | None = _label_cap()
    resume: bool = field(default=True, metadata=arg(
        "resume from the last checkpoint in out (--no-resume: start afresh)"))
    lora: LoraTrainConfig = field(default_factory=LoraTrainConfig, metadata=nested())

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.length_target not in LENGTH_TARGETS:
            raise ValueError(f"length_target={self.length_target!r}; choose one of "
                             f"{LENGTH_TARGETS}")


@dataclass(kw_only=True)
class HeadTrainConfig(RunConfig):
    """`train_head`: a head on the train prompts' hidden states (`seqsch.perception.probe`)."""

    predictor: str = field(default="length-head", metadata=arg(
        "which head (its registry row names its folder and role)", choices=head_choices))
    out: Path | None = field(default=None, metadata=arg(
        "the head's folder (default: build/ and the name of the predictor's shipped folder, "
        "e.g. build/probe-smollm2-length)"))
    features: Path | None = field(default=None, metadata=arg(
        "the feature cache file (default: <out>/features.safetensors)"))
    max_length: int | None = _label_cap()
    batch_size: int = batch_size_field()
    head: ProbeConfig = field(default_factory=ProbeConfig, metadata=nested(
        exclude=("batch_size", "max_length")))

    def __post_init__(self) -> None:
        super().__post_init__()
        self.predictor = canonical_source(self.predictor, self.out)
        if self.predictor not in head_choices():
            raise ValueError(f"predictor={self.predictor!r} is not a head; choose one of "
                             f"{head_choices()}")
