"""What a benchmark runs: run specs and the settings of a sweep.

A run spec names a length source (a row of `seqsch.core.sources`), scheduler options and an
engine, parts joined by "+" in any order: `vanilla`, `oracle+vbs+fcr`, `lora+vbs+fcr`,
`length-head+vbs+fcr`, `query`, `continuous` (first come, first served), `continuous+oracle`
(shortest predicted first), `vllm` / `vllm+oracle` / `vllm+lora` / `vllm+rank-head` (vLLM with
predicted lengths as priorities). The paper's names (`gt`, `seqsch`, `po`, `probe`) are read as
their sources; a spec is always written by its registry names. `SweepConfig` holds a sweep's
settings (the command line's options) and validates them; `run_sweep` takes it.

    RunSpec.parse("oracle+vbs+fcr").scheduler(batch_size=16, max_new_tokens=512, bin_size=50)
    SweepConfig(specs=("vanilla", "oracle+vbs+fcr"), num_data=64)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seqsch.bench.replay import PAPER_PROMPT_TOKENS, REPLAYS
from seqsch.core.cli import positive_int
from seqsch.core.config_args import arg
from seqsch.core.decoding import DECODING_PRESETS
from seqsch.core.models import DEFAULT as DEFAULT_MODEL
from seqsch.core.paths import BUILD_DIR, DEFAULT_LENGTHS
from seqsch.core.sources import (
    RECORDED_HEAD_SOURCE,
    SOURCES,
    alias_table,
    canonical_source,
    source_names,
)
from seqsch.perception.query import DEFAULT_LORA_DECODE, QUERY_DECODES
from seqsch.scheduling.scheduler import SchedulerConfig


def run_sources() -> tuple[str, ...]:
    """Every length source a run spec can name: the registry's rows, in its order."""
    return tuple(SOURCES)


def replay_sources() -> tuple[str, ...]:
    """The sources that can order a trace replay's prompts (token ids, no text): the oracle,
    and the replays' own predictions (`seqsch.bench.replay`)."""
    return source_names(orders_token_ids=True)


# each replay's own learned predictions (seqsch.bench.replay): the other replay has none
REPLAY_LEARNED = {"paper-val": "standin", "sharegpt-recorded": RECORDED_HEAD_SOURCE}


ENGINES = ("static", "continuous", "vllm")


def vllm_sources() -> tuple[str, ...]:
    """The sources whose priorities vLLM runs are measured with (vanilla: first come)."""
    return source_names(gives_vllm_priorities=True)


@dataclass(frozen=True)
class RunSpec:
    """One benchmark run: a length source, scheduler options and an engine."""

    source: str = "vanilla"
    vbs: bool = False
    fcr: bool = False
    engine: str = "static"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown length source {self.source!r}; choose one of "
                             f"{', '.join(SOURCES)}")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose one of {ENGINES}")
        if (self.source == "vanilla" or self.engine != "static") and (self.vbs or self.fcr):
            raise ValueError("vbs/fcr need a length source and static batches")
        if self.engine == "vllm" and self.source not in vllm_sources():
            raise ValueError(f"the vllm engine takes priorities from "
                             f"{', '.join(vllm_sources())}, not {self.source!r}")

    @classmethod
    def parse(cls, text: str, probe_dir: str | Path | None = None) -> RunSpec:
        """`oracle+vbs+fcr`, `continuous`, `continuous+oracle`: parts in any order. Aliases
        read as their sources (`gt+vbs+fcr` is `oracle+vbs+fcr`; `probe` is the length head,
        or the rank head when `probe_dir`, the head folder the run loaded, is the rank head's)."""
        aliases = alias_table()
        parts = [canonical_source(p, probe_dir and str(probe_dir)) if p in aliases else p
                 for p in text.lower().split("+")]
        unknown = set(parts) - set(SOURCES) - set(ENGINES) - {"vbs", "fcr"}
        if unknown:
            raise ValueError(f"cannot read run spec {text!r}: unknown part(s) {sorted(unknown)}")
        engine = next((p for p in parts if p in ENGINES), "static")
        source = next((p for p in parts if p in SOURCES), "vanilla")
        return cls(source, "vbs" in parts, "fcr" in parts, engine)

    @property
    def name(self) -> str:
        parts = [self.engine] * (self.engine != "static")
        parts += [self.source] * (self.source != "vanilla" or not parts)
        return "+".join(parts + ["vbs"] * self.vbs + ["fcr"] * self.fcr)

    def scheduler(self, batch_size: int, max_new_tokens: int, bin_size: int,
                  group_size: int | None = None) -> SchedulerConfig:
        """The paper's schedules: binned with VBS, else sorted into fixed batches (FCR caps a
        sorted batch at its longest prediction)."""
        strategy = "vanilla" if self.source == "vanilla" else "bin" if self.vbs else "sort"
        return SchedulerConfig(strategy, batch_size=batch_size, max_new_tokens=max_new_tokens,
                               bin_size=bin_size, vbs=self.vbs, fcr=self.fcr,
                               group_size=group_size)


def order_specs(specs: list[RunSpec]) -> list[RunSpec]:
    """By engine (static runs first, vLLM last: it sets the process's threads), and each
    engine's first-come run before its others: on `--data sharegpt` it is their oracle."""
    return sorted(specs, key=lambda s: (ENGINES.index(s.engine), s.source != "vanilla"))


@dataclass
class SweepConfig:
    """A benchmark sweep: run specs measured back to back on one workload in one process. The
    fields are the command line's options (`python -m seqsch.bench sweep --help`), each default
    and help text given once, here; `run_sweep` takes it, the CLI and the notebooks alike."""

    specs: tuple[str, ...] = field(default=("vanilla",), metadata=arg(
        "run specs measured back to back, e.g. vanilla oracle+vbs+fcr continuous "
        "(seqsch.bench.specs)", metavar="SPEC"))
    num_data: int = field(default=64, metadata=arg("prompts", type=positive_int))
    batch_size: int = field(default=16, metadata=arg("rows per static batch; concurrent "
                                                     "requests of the continuous engines",
                                                     type=positive_int))
    bin_size: int = field(default=50, metadata=arg("VBS bucket width in tokens",
                                                   type=positive_int))
    max_new_tokens: int = field(default=512, metadata=arg("answers' cap", type=positive_int))
    temperature: float = field(default=0.0, metadata=arg("sampling temperature (0: greedy)"))
    decoding: str | None = field(default=None, metadata=arg(
        "a decoding preset; default: embedded (greedy in trace replay, where tokens are never "
        "read)", choices=sorted(DECODING_PRESETS)))
    model: str = field(default=DEFAULT_MODEL, metadata=arg("a model name, folder or random:SHAPE"))
    data: str = field(default="val", metadata=arg(
        "val: validation prompts of the length file (oracle = its longest sampled answer); "
        "sharegpt: other prompts (oracle = the vanilla run)", choices=("val", "sharegpt")))
    lengths: Path = field(default=DEFAULT_LENGTHS, metadata=arg("the length file"))
    replay: str | None = field(default=None, metadata=arg(
        "trace replay (seqsch.bench.replay), any model, e.g. random:llama2-7b: paper-val "
        "(Vicuna-7B's lengths; sources vanilla, oracle, standin) or sharegpt-recorded (the "
        "recorded-lengths test split; sources vanilla, oracle, recorded-head)", choices=REPLAYS))
    replay_prompt_tokens: int = field(default=PAPER_PROMPT_TOKENS, metadata=arg(
        "the replay's assumed prompt length (the length file has none)", type=positive_int))
    group_size: int | None = field(default=None, metadata=arg(
        "schedule consecutive groups of this many requests apart, each group's failures "
        "recomputed before the next (the paper: 256)", type=positive_int))
    lora_decode: str = field(default=DEFAULT_LORA_DECODE, metadata=arg(
        "lora source: the median of the module's bucket distribution (score) or its greedy "
        "answer (generate, the paper's)", choices=QUERY_DECODES))
    probe: Path | None = field(default=None, metadata=arg(
        "length-head / rank-head sources: a head folder other than the source's own "
        "(seqsch.core.sources)"))
    seed: int = field(default=0, metadata=arg("the workload's and the sampling's seed"))
    device: str = field(default="auto", metadata=arg("auto, cpu, cuda, ..."))
    dtype: str = field(default="auto", metadata=arg("auto, float32, bf16, ..."))
    out: Path = field(default=BUILD_DIR / "benchmark.jsonl", metadata=arg(
        "JSONL record, one line per finished run spec (resumable)"))
    vllm_eager: bool = field(default=False, metadata=arg(
        "vllm engine without compilation (starts in seconds, decodes slower)"))
    tensor_parallel_size: int = field(default=1, metadata=arg(
        "vllm engine: GPUs per model replica (layers split across them)", type=positive_int))
    pipeline_parallel_size: int = field(default=1, metadata=arg(
        "vllm engine: pipeline stages (e.g. nodes, with a Ray cluster)", type=positive_int))
    repeats: int = field(default=1, metadata=arg(
        "run the sweep this many rounds, its specs in turn each round: ratios are taken within "
        "a round, so a machine that drifts between rounds does not bias them (the report shows "
        "medians)", type=positive_int))
    quiet: bool = field(default=False, metadata=arg("no progress bars"))

    def __post_init__(self) -> None:
        self.lengths, self.out = Path(self.lengths), Path(self.out)
        self.probe = None if self.probe is None else Path(self.probe)
        if not self.specs:
            raise ValueError("give at least one run spec, e.g. specs=('vanilla',)")
        specs = [RunSpec.parse(text, self.probe) for text in self.specs]  # raises on unknown
        self.specs = tuple(spec.name for spec in specs)  # by registry names, never an alias
        for name in ("num_data", "batch_size", "bin_size", "max_new_tokens", "repeats",
                     "replay_prompt_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.group_size is not None and self.group_size < 1:
            raise ValueError(f"group_size must be >= 1 or None, got {self.group_size}")
        if self.data not in ("val", "sharegpt"):
            raise ValueError(f"data must be 'val' or 'sharegpt', got {self.data!r}")
        if self.replay is not None and self.replay not in REPLAYS:
            raise ValueError(f"unknown replay {self.replay!r}; choose one of {REPLAYS}")
        self.decoding = self.decoding or ("greedy" if self.replay else "embedded")
        if self.decoding not in DECODING_PRESETS:
            raise ValueError(f"unknown decoding {self.decoding!r}; choose one of "
                             f"{sorted(DECODING_PRESETS)}")
        if self.replay and any(spec.source not in replay_sources() for spec in specs):
            raise ValueError(f"in trace replay the prompts are token ids: order them by one of "
                             f"{', '.join(replay_sources())}, not "
                             f"{', '.join(sorted({s.source for s in specs}))}")
        others = set(REPLAY_LEARNED.values()) - {REPLAY_LEARNED.get(self.replay)}
        if self.replay and any(spec.source in others for spec in specs):
            raise ValueError(f"the {self.replay} replay's learned source is "
                             f"{REPLAY_LEARNED[self.replay]!r}, not {sorted(others)}")
        if self.repeats > 1 and len({s.engine == "vllm" for s in specs}) > 1:
            raise ValueError("repeats run the specs in turn, but vLLM must run after the other "
                             "engines (it sets the process's threads): sweep the vllm specs apart")

    @property
    def run_specs(self) -> list[RunSpec]:
        return order_specs([RunSpec.parse(text) for text in self.specs])
