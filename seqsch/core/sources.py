"""Every length source in one table: one row, one name, read by every layer above.

A *length source* is what orders a schedule: nothing (`vanilla`), the true lengths (`oracle`),
or a predictor. Each row says what it is (a label for tables and menus), how its predictor is
built (`build`: a function of `seqsch.perception`, named as "module:function" so that this table
loads no torch), the folder it loads from and the files its provenance hash covers, the
evaluation file that scores it, the command that trains it, and where it can run (a trace
replay's token-id prompts, vLLM's priorities). The perception command line, run specs, the
sweep, provenance, the widget panel, the results page and the notebooks all read it, so a new
predictor is one module and one row (`register_source`).

The paper's names, and the names records made before this table used, are *aliases*, read
only: `gt` (the oracle), `seqsch` (the LoRA module), `po` and `pia` (the zero-shot query), and
`probe` (the layer-15 length head, or the rank head where a record's head folder says so).
Records are read through `canonical_source` / `canonical_spec`, so older files still load and
resumes still match; nothing writes an alias.

    canonical_spec("gt+vbs+fcr")      # "oracle+vbs+fcr"
    source_names(is_learned=True)     # ("lora", "length-head", "rank-head", ...)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from seqsch.core.paths import ROOT, portable

# the predictor of ShareGPT's recorded answer lengths (seqsch.core.recorded), by the name the
# replay, the serving workloads and the widget panel read without loading the registry's builders
RECORDED_HEAD_SOURCE = "recorded-head"
ROLES = ("none", "oracle", "learned", "baseline", "stand-in")


@dataclass(frozen=True)
class LengthSource:
    """One row of the registry (see the module docstring)."""

    name: str
    label: str  # for tables, menus and figure legends
    role: str  # one of ROLES
    build: str = ""  # "module:function" returning a LengthPredictor; "" when none is built
    folder: str | None = None  # repo-relative folder its predictor loads from by default
    hashed_files: tuple[str, ...] = ()  # files of `folder` its provenance hash covers
    evaluation: str | None = None  # repo-relative file holding its committed evaluation
    train: str | None = None  # the command that trains it; None: nothing to train
    needs_model: bool = False  # reads the served model's tokens or hidden states
    orders_token_ids: bool = False  # can order a trace replay's prompts (token ids, no text)
    gives_vllm_priorities: bool = False  # a `vllm+<name>` run spec is measured
    aliases: tuple[str, ...] = field(default_factory=tuple)  # read-side names only

    def __post_init__(self) -> None:
        if not self.name or "+" in self.name or self.name != self.name.lower():
            raise ValueError(f"a source name is lower case without '+', got {self.name!r}")
        if self.role not in ROLES:
            raise ValueError(f"source {self.name!r}: role must be one of {ROLES}, "
                             f"got {self.role!r}")
        if self.build and ":" not in self.build:
            raise ValueError(f"source {self.name!r}: build is 'module:function', "
                             f"got {self.build!r}")
        if self.hashed_files and not self.folder:
            raise ValueError(f"source {self.name!r}: hashed_files need a folder")

    @property
    def is_learned(self) -> bool:
        return self.train is not None

    @property
    def is_head(self) -> bool:
        """A head on the hidden states: loads a folder of head files (`--probe` replaces it)."""
        return self.build.endswith(":build_head")


_BUILD = "seqsch.perception.registry"
SOURCES: dict[str, LengthSource] = {}


def register_source(source: LengthSource) -> LengthSource:
    """Add `source` to the registry (one place: every layer above reads it from here). Its
    name and aliases must be new."""
    taken = {name for row in SOURCES.values() for name in (row.name, *row.aliases)}
    clash = sorted({source.name, *source.aliases} & taken)
    if clash:
        raise ValueError(f"source name(s) {clash} are taken; the registry holds {sorted(SOURCES)}")
    SOURCES[source.name] = source
    return source


def unregister_source(name: str) -> None:
    """Remove a row (tests that register their own)."""
    SOURCES.pop(name, None)


for _row in (
    LengthSource("vanilla", "vanilla: dataset order (first come under continuous batching)",
                 "none", orders_token_ids=True, gives_vllm_priorities=True),
    LengthSource("oracle", "oracle: the true length of each answer", "oracle",
                 orders_token_ids=True, gives_vllm_priorities=True, aliases=("gt",)),
    LengthSource("lora", "LoRA length module (the paper's perception module, tuned here)",
                 "learned", build=f"{_BUILD}:build_lora", folder="data/lora-smollm2-length",
                 hashed_files=("adapter_model.safetensors", "adapter_config.json"),
                 evaluation="data/perception-eval-lora.json",
                 train="python -m seqsch.perception train --predictor lora", needs_model=True,
                 gives_vllm_priorities=True, aliases=("seqsch",)),
    LengthSource("length-head", "length head: layer 15 of 30, the log length (MSE)", "learned",
                 build=f"{_BUILD}:build_head", folder="data/probe-smollm2-length",
                 hashed_files=("head.safetensors", "probe_config.json"),
                 evaluation="data/perception-eval-length-head.json",
                 train="python -m seqsch.perception train --predictor length-head",
                 needs_model=True, gives_vllm_priorities=True, aliases=("probe",)),
    LengthSource("rank-head", "rank head: layer 25 of 30, a pairwise ranking loss", "learned",
                 build=f"{_BUILD}:build_head", folder="data/probe-smollm2-rank",
                 hashed_files=("head.safetensors", "probe_config.json"),
                 evaluation="data/perception-eval-rank-head.json",
                 train="python -m seqsch.perception train --predictor rank-head --num-layers 25 "
                       "--pooling mean+last --target rank --length-target mean --max-length 256 "
                       "--num-epochs 60 --out data/probe-smollm2-rank",
                 needs_model=True, gives_vllm_priorities=True),
    LengthSource("query", "zero-shot length query (the paper's perception only, untuned)",
                 "baseline", build=f"{_BUILD}:build_query",
                 evaluation="data/perception-eval-query.json", needs_model=True,
                 aliases=("po", "pia")),
    LengthSource("constant", "constant: the train median for every prompt", "baseline",
                 build=f"{_BUILD}:build_constant", evaluation="data/perception-eval-constant.json"),
    LengthSource("standin", "stand-in for the paper's module: predictions drawn to its accuracy",
                 "stand-in", orders_token_ids=True),
    LengthSource(RECORDED_HEAD_SOURCE, "recorded head: hidden states + text, trained on "
                 "ShareGPT's recorded lengths", "learned", build=f"{_BUILD}:build_recorded_head",
                 folder="data/probe-sharegpt-recorded",
                 hashed_files=("head.safetensors", "probe_config.json", "blend.json",
                               "text_ridge.safetensors", "text_ridge.json"),
                 evaluation="data/perception-eval-recorded.json",
                 train="python -m seqsch.perception recorded-train", needs_model=True,
                 orders_token_ids=True),
    LengthSource("lora-recorded", "LoRA length module tuned on ShareGPT's recorded lengths "
                 "(the paper's module, this workload's labels)", "learned",
                 build=f"{_BUILD}:build_lora", folder="data/lora-sharegpt-recorded",
                 hashed_files=("adapter_model.safetensors", "adapter_config.json"),
                 evaluation="data/perception-eval-recorded.json",
                 train="python -m seqsch.perception recorded-train-lora --num-train 2560",
                 needs_model=True),
    LengthSource("text-ridge", "text model: word n-grams and prompt length (ridge)", "learned",
                 build=f"{_BUILD}:build_text_ridge", folder="data/probe-sharegpt-recorded",
                 hashed_files=("text_ridge.safetensors", "text_ridge.json"),
                 evaluation="data/perception-eval-recorded.json",
                 train="python -m seqsch.perception recorded-train"),
    LengthSource("prompt-length", "prompt length (the engines' shortest-job-first order)",
                 "baseline", build=f"{_BUILD}:build_prompt_length",
                 evaluation="data/perception-eval-recorded.json"),
):
    register_source(_row)

# Read-side names that depend on the record: `probe` named whichever head `--probe` loaded.
RANK_HEAD_FOLDER_MARK = "rank"


def canonical_source(name: str, probe_dir: str | None = None) -> str:
    """The registry name of `name`, a registry name or an alias (`probe` is the rank head when
    `probe_dir`, the record's head folder, is the rank head's); a ValueError for an unknown one."""
    name = name.lower()
    if name in SOURCES:
        return name
    if name == "probe" and probe_dir and RANK_HEAD_FOLDER_MARK in str(probe_dir).rsplit("/")[-1]:
        return "rank-head"
    for row in SOURCES.values():
        if name in row.aliases:
            return row.name
    raise ValueError(f"unknown length source {name!r}; choose one of {', '.join(SOURCES)}")


def canonical_spec(text: str, probe_dir: str | None = None) -> str:
    """A run spec with every source part read through the aliases ("gt+vbs+fcr" ->
    "oracle+vbs+fcr", "vllm+probe" -> "vllm+length-head"); other parts kept as they are."""
    aliases = {alias for row in SOURCES.values() for alias in row.aliases}
    return "+".join(canonical_source(part, probe_dir) if part in aliases else part
                    for part in text.lower().split("+"))


def source_names(**where: bool | str) -> tuple[str, ...]:
    """The registry's names, in table order, whose rows match every `field=value` given, e.g.
    `source_names(orders_token_ids=True)`, `source_names(role="learned")`."""
    return tuple(row.name for row in SOURCES.values()
                 if all(getattr(row, key) == value for key, value in where.items()))


def evaluation_files(lengths: str | Path) -> dict[str, Path]:
    """{name: evaluation file} of every source whose evaluation file exists and scored the
    prompts of the length file `lengths` (the file's `lengths` field names it), in table order:
    the sources the results page and the widget panel show for those prompts."""
    found = {}
    for name, row in SOURCES.items():
        path = ROOT / row.evaluation if row.evaluation else None
        if path is not None and path.is_file() and json.loads(
                path.read_text(encoding="utf-8")).get("lengths") == portable(lengths):
            found[name] = path
    return found


def alias_table() -> dict[str, str]:
    """{alias: registry name}: the read-side names, for the docs."""
    return {alias: row.name for row in SOURCES.values() for alias in row.aliases}
