"""The recorded-lengths workload: ShareGPT's reference answers, replayed as vLLM's benchmark does.

The embedded model's own answers are capped and noisy (its own sampled answer orders its greedy
answers at Kendall's tau 0.55). Serving benchmarks instead replay a workload's *recorded* answer
lengths: vLLM's serving benchmark takes the first human -> gpt turn of each ShareGPT record and
forces every answer to the length of the reference answer. `sharegpt-recorded` is that
workload, measured in the embedded model's tokens:

- the first human -> gpt turn of each record (`seqsch.core.workloads.load_sharegpt`);
- prompt and answer tokenized as plain text (no chat template), as vLLM's benchmark counts them;
- kept when the prompt has 4 to 1,024 tokens, the answer at least 4, both together at most 2,048;
- only a conversation's first chunk (ids ending `_0`): later chunks of a split conversation
  open mid-dialogue;
- a seeded split by id into train, validation and test (a hash of seed and id, so adding or
  losing records never moves another one). **Test is read once, for the reported numbers.**

The length file holds ids and token counts only (JSONL, a settings line first)::

    python -m seqsch.bench lengths recorded --out build/lengths-sharegpt-recorded.jsonl
    records = read_recorded_file()                         # the shipped file in data/
    requests = recorded_requests(records, "test")          # prompts, forced to their lengths
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqsch.core.cli import positive_int
from seqsch.core.config_args import arg
from seqsch.core.files import atomic_path
from seqsch.core.paths import DEFAULT_RECORDED, DEFAULT_RECORDED_EVAL, ROOT
from seqsch.core.requests import Request
from seqsch.core.sources import canonical_source
from seqsch.core.workloads import load_sharegpt_with_report

RECORDED_NAME = "sharegpt-recorded"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RecordedConfig:
    """The filter of vLLM's ShareGPT benchmark and the split. Token counts are the tokenizer's
    on the plain text (no chat template)."""

    min_prompt_tokens: int = field(default=4, metadata=arg("shortest prompt kept (tokens)",
                                                           type=positive_int))
    max_prompt_tokens: int = field(default=1024, metadata=arg("longest prompt kept (tokens)",
                                                              type=positive_int))
    min_output_tokens: int = field(default=4, metadata=arg("shortest answer kept (tokens)",
                                                           type=positive_int))
    max_total_tokens: int = field(default=2048, metadata=arg(
        "longest prompt + answer kept (tokens)", type=positive_int))
    is_first_chunk_only: bool = field(default=True, metadata=arg(
        "keep only a conversation's first chunk (ids ending _0); --no-is-first-chunk-only "
        "keeps every chunk"))
    val_fraction: float = field(default=0.10, metadata=arg("share of the validation split"))
    test_fraction: float = field(default=0.15, metadata=arg("share of the test split"))
    split_seed: int = field(default=0, metadata=arg("the split's seed (a hash of it and the id)"))

    def __post_init__(self) -> None:
        for name in ("min_prompt_tokens", "max_prompt_tokens", "min_output_tokens",
                     "max_total_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.min_prompt_tokens > self.max_prompt_tokens:
            raise ValueError("min_prompt_tokens must not exceed max_prompt_tokens")
        if not (0 <= self.val_fraction and 0 < self.test_fraction
                and self.val_fraction + self.test_fraction < 1):
            raise ValueError(f"val_fraction ({self.val_fraction}) and test_fraction "
                             f"({self.test_fraction}) must leave a train split")


@dataclass(frozen=True)
class RecordedLength:
    """One request of the workload: its id, split and token counts."""

    id: str
    split: str
    num_prompt_tokens: int
    num_output_tokens: int  # the recorded (reference) answer's tokens


def split_of(request_id: str, config: RecordedConfig) -> str:
    """'train', 'val' or 'test' from a hash of the seed and the id alone."""
    digest = hashlib.sha256(f"{config.split_seed}:{request_id}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    if draw < config.test_fraction:
        return "test"
    return "val" if draw < config.test_fraction + config.val_fraction else "train"


def build_recorded(tokenizer, requests: Sequence[Request] | None = None,
                   config: RecordedConfig | None = None) -> tuple[list[RecordedLength], dict]:
    """The workload's records and a report of what each filter removed."""
    config = config or RecordedConfig()
    report: dict = {}
    if requests is None:
        requests, load_report = load_sharegpt_with_report()
        report["load"] = str(load_report)
    requests = [r for r in requests if r.reference]
    if not requests:
        raise ValueError("no ShareGPT record has a human -> gpt turn with an answer")
    counts = {"human -> gpt turns with an answer": len(requests)}
    prompts = tokenizer([r.prompt for r in requests], add_special_tokens=False).input_ids
    answers = tokenizer([r.reference for r in requests], add_special_tokens=False).input_ids
    kept = []
    for request, prompt, answer in zip(requests, prompts, answers):
        num_prompt, num_output = len(prompt), len(answer)
        if not config.min_prompt_tokens <= num_prompt <= config.max_prompt_tokens:
            continue
        if num_output < config.min_output_tokens:
            continue
        if num_prompt + num_output > config.max_total_tokens:
            continue
        kept.append(RecordedLength(request.id, "", num_prompt, num_output))
    counts["pass the length filter"] = len(kept)
    if config.is_first_chunk_only:
        kept = [r for r in kept if r.id.endswith("_0")]
        counts["first chunks"] = len(kept)
    records = [RecordedLength(r.id, split_of(r.id, config), r.num_prompt_tokens,
                              r.num_output_tokens) for r in kept]
    if not records:
        raise ValueError("no ShareGPT record passes the filter: check the workload and config")
    report["counts"] = counts
    report["splits"] = {s: sum(r.split == s for r in records) for s in SPLITS}
    return records, report


def write_recorded_file(path: str | Path, records: Sequence[RecordedLength],
                        settings: dict) -> Path:
    """The JSONL length file: a settings line, then one record per line (written whole)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        lines = [json.dumps({"settings": settings})]
        lines += [json.dumps(asdict(r)) for r in records]
        Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_recorded_file(out: str | Path, model: str | None = None,
                        config: RecordedConfig | None = None) -> dict:
    """Build the workload with `model`'s tokenizer (default: the embedded model's) and write
    its length file; returns the settings line (counts, splits, answer-length statistics)."""
    # here only: reading the workload's files (the widget panel, the replay) needs no torch
    from seqsch.core.models import DEFAULT, load_tokenizer  # noqa: PLC0415 (loads torch)

    config = config or RecordedConfig()
    records, report = build_recorded(load_tokenizer(model or DEFAULT), config=config)
    lengths = sorted(r.num_output_tokens for r in records)
    report["answer_tokens"] = {
        "mean": round(statistics.fmean(lengths), 1), "median": statistics.median(lengths),
        "p90": lengths[int(0.9 * (len(lengths) - 1))],
        "share_over_512": round(sum(n > 512 for n in lengths) / len(lengths), 4)}
    settings = {"workload": RECORDED_NAME, "tokenizer": model or DEFAULT,
                "config": asdict(config), **report}
    write_recorded_file(out, records, settings)
    return settings


def _count(obj: dict, key: str, where: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: field {key!r} is {value!r:.40}, expected an integer >= 1")
    return value


def read_recorded_file(path: str | Path = DEFAULT_RECORDED) -> list[RecordedLength]:
    """The records of a recorded-lengths file; a malformed line is an error naming the file,
    the line and the field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: build it with "
                                f"`python -m seqsch.bench lengths recorded --out {path}`")
    records, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not valid JSON ({err.msg})") from err
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a JSON object")
        if "settings" in obj:
            continue
        record_id, split = obj.get("id"), obj.get("split")
        if not isinstance(record_id, str) or not record_id or record_id in seen:
            raise ValueError(f"{where}: field 'id' is {record_id!r:.40}, expected a new id")
        if split not in SPLITS:
            raise ValueError(f"{where} (id {record_id!r}): field 'split' is {split!r:.20}, "
                             f"expected one of {SPLITS}")
        seen.add(record_id)
        records.append(RecordedLength(record_id, split, _count(obj, "num_prompt_tokens", where),
                                      _count(obj, "num_output_tokens", where)))
    if not records:
        raise ValueError(f"{path} holds no records")
    return records


def read_evaluation(eval_path: str | Path = DEFAULT_RECORDED_EVAL) -> tuple[dict, list[int]]:
    """A recorded-lengths evaluation file (`python -m seqsch.perception recorded-eval`) and
    the prompt length of each request it scored, from the length file it names (relative to
    the repository, as records hold it)."""
    evaluation = json.loads(Path(eval_path).read_text())
    evaluation["sources"] = {canonical_source(name): scores  # older files: aliases
                             for name, scores in evaluation["sources"].items()}
    lengths = Path(evaluation["lengths"])
    by_id = {r.id: r for r in read_recorded_file(lengths if lengths.is_absolute()
                                                 else ROOT / lengths)}
    return evaluation, [by_id[i].num_prompt_tokens for i in evaluation["ids"]]


def records_of_split(records: Sequence[RecordedLength], split: str) -> list[RecordedLength]:
    """The records of one split, in file order; an unknown or empty split is an error."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    chosen = [r for r in records if r.split == split]
    if not chosen:
        raise ValueError(f"the recorded workload has no {split!r} records")
    return chosen


def recorded_requests(records: Sequence[RecordedLength], split: str | None = None,
                      pool: Sequence[Request] | None = None) -> list[Request]:
    """The ShareGPT requests of `records` (one split, or all for None), each answer forced to
    its recorded length, with the recorded counts filled in (prompt tokens: plain text)."""
    chosen = list(records) if split is None else records_of_split(records, split)
    if pool is None:
        pool = load_sharegpt_with_report()[0]
    by_id = {r.id: r for r in pool}
    missing = [r.id for r in chosen if r.id not in by_id]
    if missing:
        raise KeyError(f"{len(missing)} recorded ids are not in the ShareGPT workload "
                       f"(e.g. {missing[:3]}); rebuild the length file for this workload")
    return [Request(r.id, by_id[r.id].prompt, by_id[r.id].reference, r.num_prompt_tokens,
                    r.num_output_tokens, forced_output_tokens=r.num_output_tokens)
            for r in chosen]
