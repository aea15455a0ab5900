"""Response-length records: how many tokens a model answered per prompt and temperature.

Reads two formats with `read_length_file(path)`:

* the paper's JSON list (data/alpaca-*-10k-length.json of zhengzangw/Sequence-Scheduling):
  ``{"id", "L_gt", "L_t0.0", "L_t0.3", "L_t0.5", "L_t0.7"}``, max new tokens 512; ``L_gt``
  is the token length of the dataset's reference answer (kept as ``reference_length``);
* ours, JSONL with one prompt per line: ``{"id", "split", "num_prompt_tokens",
  "max_new_tokens", "samples": [{"temperature", "seed", "num_output_tokens", "is_capped"}]}``.
  Lines with a "settings" key are metadata; a truncated last line (interrupted writer) is
  skipped and counted. Several samples at one temperature are reduced to their maximum.

`write_length_header` and `write_length_record` write our format.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PAPER_MAX_NEW_TOKENS = 512
_PAPER_KEY = re.compile(r"^L_t(\d+(?:\.\d+)?)$")


@dataclass
class LengthRecord:
    id: str
    lengths: dict[float, int]  # temperature -> output tokens (EOS included)
    is_capped: dict[float, bool]  # temperature -> answer hit the cap without ending
    num_prompt_tokens: int | None = None
    split: str | None = None
    max_new_tokens: int | None = None
    reference_length: int | None = None  # paper's L_gt: the dataset answer's length
    seeds: dict[float, int] = field(default_factory=dict)

    @property
    def max_length(self) -> int:
        """Longest sampled answer: the paper's ground-truth length for scheduling."""
        return max(self.lengths.values())

    @property
    def greedy_length(self) -> int:
        """Answer length at temperature 0 (what a greedy benchmark run generates)."""
        if 0.0 not in self.lengths:
            raise ValueError(f"record {self.id!r} has no temperature-0 sample")
        return self.lengths[0.0]


@dataclass
class LengthFile:
    records: list[LengthRecord]
    settings: list[dict[str, Any]]  # metadata lines of our format
    num_truncated_lines: int
    is_paper_format: bool


def _require(obj: dict, key: str, where: str) -> Any:
    if key not in obj:
        raise ValueError(f"{where}: missing field {key!r}")
    return obj[key]


def _paper_record(item: Any, where: str) -> LengthRecord:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(item).__name__}")
    lengths = {}
    for key, value in item.items():
        match = _PAPER_KEY.match(key)
        if match:
            lengths[float(match.group(1))] = int(value)
    if not lengths:
        raise ValueError(f"{where}: no 'L_t<temperature>' length fields")
    return LengthRecord(
        id=str(_require(item, "id", where)),
        lengths=lengths,
        is_capped={t: n >= PAPER_MAX_NEW_TOKENS for t, n in lengths.items()},
        max_new_tokens=PAPER_MAX_NEW_TOKENS,
        reference_length=int(item["L_gt"]) if "L_gt" in item else None,
    )


def _jsonl_record(obj: dict, where: str) -> LengthRecord:
    samples = _require(obj, "samples", where)
    if not isinstance(samples, list) or not samples:
        raise ValueError(f"{where}: 'samples' must be a non-empty list")
    max_new_tokens = obj.get("max_new_tokens")
    record = LengthRecord(
        id=str(_require(obj, "id", where)),
        lengths={},
        is_capped={},
        num_prompt_tokens=obj.get("num_prompt_tokens"),
        split=obj.get("split"),
        max_new_tokens=max_new_tokens,
    )
    for sample in samples:
        if not isinstance(sample, dict):
            raise ValueError(f"{where}: each sample must be a JSON object")
        temperature = float(_require(sample, "temperature", where))
        num_tokens = int(_require(sample, "num_output_tokens", where))
        if "is_capped" in sample:
            is_capped = bool(sample["is_capped"])
        elif max_new_tokens is not None:
            is_capped = num_tokens >= max_new_tokens
        else:
            raise ValueError(f"{where}: sample needs 'is_capped' or the record 'max_new_tokens'")
        if num_tokens >= record.lengths.get(temperature, -1):
            record.lengths[temperature] = num_tokens
            record.is_capped[temperature] = is_capped
            if sample.get("seed") is not None:
                record.seeds[temperature] = int(sample["seed"])
    return record


def load_length_file(path: str | Path) -> LengthFile:
    """Read either format, with metadata and the count of skipped truncated lines."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"length file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        records = [_paper_record(item, f"{path}: item {k}") for k, item in enumerate(items)]
        return LengthFile(records, [], 0, is_paper_format=True)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    result = LengthFile([], [], 0, is_paper_format=False)
    for position, (line_number, line) in enumerate(lines):
        where = f"{path}:{line_number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            if position == len(lines) - 1:
                result.num_truncated_lines += 1
                continue
            raise ValueError(f"{where}: bad JSON line ({err})") from err
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a JSON object")
        if "settings" in obj:
            result.settings.append(obj)
        else:
            result.records.append(_jsonl_record(obj, where))
    return result


def read_length_file(path: str | Path, allow_empty: bool = False) -> list[LengthRecord]:
    """Records of a length file in either format (warns about a skipped truncated line).
    A file without records is an error unless `allow_empty`: it says how to fill it."""
    length_file = load_length_file(path)
    if length_file.num_truncated_lines:
        warnings.warn(f"{path}: skipped a truncated last line", stacklevel=2)
    if not length_file.records and not allow_empty:
        raise ValueError(f"{path} holds no length records yet: collect some with "
                         f"python -m seqsch.lengths collect --out {path}")
    return length_file.records


def write_length_header(fh: IO[str], settings: dict[str, Any]) -> None:
    """Write a metadata line (generation settings) in our JSONL format."""
    fh.write(json.dumps({"settings": settings}) + "\n")


def write_length_record(fh: IO[str], record: LengthRecord) -> None:
    """Write one record as one JSONL line of our format (one sample per temperature)."""
    samples = [
        {
            "temperature": t,
            "seed": record.seeds.get(t),
            "num_output_tokens": n,
            "is_capped": record.is_capped.get(t, False),
        }
        for t, n in sorted(record.lengths.items())
    ]
    line = {
        "id": record.id,
        "split": record.split,
        "num_prompt_tokens": record.num_prompt_tokens,
        "max_new_tokens": record.max_new_tokens,
        "samples": samples,
    }
    fh.write(json.dumps(line) + "\n")
