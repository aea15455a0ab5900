"""Response-length records: how many tokens a model answered per prompt and temperature.

Reads two formats with `read_length_file(path)`:

* the paper's JSON list (data/alpaca-*-10k-length.json of zhengzangw/Sequence-Scheduling):
  ``{"id", "L_gt", "L_t0.0", "L_t0.3", "L_t0.5", "L_t0.7"}``, max new tokens 512; ``L_gt``
  is the token length of the dataset's reference answer (kept as ``reference_length``);
* ours, JSONL with one prompt per line: ``{"id", "split", "num_prompt_tokens",
  "max_new_tokens", "samples": [{"temperature", "seed", "num_output_tokens", "is_capped"}]}``.
  Lines with a "settings" key are metadata; a truncated last line (interrupted writer) is
  skipped and counted. Several samples at one temperature are reduced to their maximum.

Anything else malformed is a ValueError naming the file, the record (item index or line, and id)
and the field: lengths, token counts and seeds must be JSON integers >= 0, temperatures finite
numbers >= 0, ids non-empty strings, unique within a file.

`write_length_header` and `write_length_record` write our format.
`paper_sample` draws the paper's 1,024-prompt benchmark sample from its length file.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from seqsch.core.paper import PAPER_MAX_NEW_TOKENS, PAPER_SAMPLE_SEED, PAPER_SAMPLE_SIZE

# Which length of a record a predictor learns or is scored against: the longest sampled answer
# (the paper's target, what a static batch must make room for), the greedy answer's (what a
# greedy workload's request order depends on), or the geometric mean of its greedy and sampled
# answers (a label with less sampling noise than any one answer).
LENGTH_TARGETS = ("max", "greedy", "mean")
LENGTH_TARGET_HELP = ("learn the longest sampled answer's length (max, the paper's), the greedy "
                      "answer's (a greedy workload's order) or the geometric mean of the "
                      "sampled ones (mean, a steadier label)")
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


def target_lengths(records, length_target: str = "max",
                   max_length: int | None = None) -> list[int]:
    """One length per record (`LengthRecord`s) by `length_target` (one of LENGTH_TARGETS), each
    answer censored at `max_length` (None: as recorded)."""
    if length_target not in LENGTH_TARGETS:
        raise ValueError(f"length_target must be one of {LENGTH_TARGETS}, got {length_target!r}")
    cap = max_length if max_length is not None else math.inf
    if length_target == "mean":
        return [max(1, round(math.exp(sum(math.log(max(1, min(n, cap)))
                                          for n in r.lengths.values()) / len(r.lengths))))
                for r in records]
    lengths = [r.max_length if length_target == "max" else r.greedy_length for r in records]
    return [int(min(length, cap)) for length in lengths]


@dataclass
class LengthFile:
    records: list[LengthRecord]
    settings: list[dict[str, Any]]  # metadata lines of our format
    num_truncated_lines: int
    is_paper_format: bool


def _require(obj: dict, key: str, where: str) -> Any:
    if key not in obj:
        raise ValueError(f"{where}: missing field {key!r}; add it or remove the record")
    return obj[key]


def _bad_field(where: str, key: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"{where}: field {key!r} is {value!r:.60}, but {expected}; "
                      f"fix or remove the record")


def _record_id(obj: dict, where: str) -> str:
    value = _require(obj, "id", where)
    if not isinstance(value, str) or not value.strip():
        raise _bad_field(where, "id", value, "an id must be a non-empty string")
    return value


def _non_negative_int(obj: dict, key: str, where: str) -> int:
    """A length, token count or seed: a JSON integer >= 0. Floats (12.0 included), booleans,
    strings, NaN and infinities are refused, never converted."""
    value = _require(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad_field(where, key, value, "it must be a non-negative integer")
    return value


def _optional_non_negative_int(obj: dict, key: str, where: str) -> int | None:
    return None if obj.get(key) is None else _non_negative_int(obj, key, where)


def _temperature(sample: dict, where: str) -> float:
    value = _require(sample, "temperature", where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise _bad_field(where, "temperature", value, "it must be a finite number >= 0")
    return float(value)


def _paper_record(item: Any, where: str) -> LengthRecord:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(item).__name__}; "
                         f"fix or remove the item")
    keys: dict[float, str] = {}
    for key in item:
        match = _PAPER_KEY.match(key)
        if match:
            keys[float(match.group(1))] = key
    if not keys:
        raise ValueError(f"{where}: no 'L_t<temperature>' length fields; add them or remove "
                         f"the item")
    record_id = _record_id(item, where)
    where = f"{where} (id {record_id!r})"
    lengths = {t: _non_negative_int(item, key, where) for t, key in keys.items()}
    return LengthRecord(
        id=record_id,
        lengths=lengths,
        is_capped={t: n >= PAPER_MAX_NEW_TOKENS for t, n in lengths.items()},
        max_new_tokens=PAPER_MAX_NEW_TOKENS,
        reference_length=_optional_non_negative_int(item, "L_gt", where),
    )


def _jsonl_record(obj: dict, where: str) -> LengthRecord:
    record_id = _record_id(obj, where)
    where = f"{where} (id {record_id!r})"
    samples = _require(obj, "samples", where)
    if not isinstance(samples, list) or not samples:
        raise _bad_field(where, "samples", samples, "it must be a non-empty list")
    split = obj.get("split")
    if split is not None and not isinstance(split, str):
        raise _bad_field(where, "split", split, "it must be a string or null")
    max_new_tokens = _optional_non_negative_int(obj, "max_new_tokens", where)
    record = LengthRecord(
        id=record_id,
        lengths={},
        is_capped={},
        num_prompt_tokens=_optional_non_negative_int(obj, "num_prompt_tokens", where),
        split=split,
        max_new_tokens=max_new_tokens,
    )
    for index, sample in enumerate(samples):
        sample_where = f"{where}, sample {index}"
        if not isinstance(sample, dict):
            raise ValueError(f"{sample_where}: each sample must be a JSON object; fix or "
                             f"remove the record")
        temperature = _temperature(sample, sample_where)
        num_tokens = _non_negative_int(sample, "num_output_tokens", sample_where)
        seed = _optional_non_negative_int(sample, "seed", sample_where)
        is_capped = sample.get("is_capped")
        if is_capped is None and max_new_tokens is None:
            raise ValueError(f"{sample_where}: sample needs 'is_capped' or the record "
                             f"'max_new_tokens'; add one of them")
        if is_capped is None:
            is_capped = num_tokens >= max_new_tokens
        elif not isinstance(is_capped, bool):
            raise _bad_field(sample_where, "is_capped", is_capped, "it must be true or false")
        if num_tokens >= record.lengths.get(temperature, -1):
            record.lengths[temperature] = num_tokens
            record.is_capped[temperature] = is_capped
            if seed is not None:
                record.seeds[temperature] = seed
    return record


def _refuse_duplicate_ids(path: Path, records: list[LengthRecord], positions: list[str]) -> None:
    first: dict[str, str] = {}
    for record, position in zip(records, positions):
        if record.id in first:
            raise ValueError(f"{path}: id {record.id!r} appears twice, at {first[record.id]} "
                             f"and at {position}; remove one of them")
        first[record.id] = position


def _is_one_json_value(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def load_length_file(path: str | Path) -> LengthFile:
    """Read either format, with metadata and the count of skipped truncated lines.
    Malformed records, fields and duplicate ids are errors naming the file and the record."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"length file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); "
                         f"re-save it as UTF-8") from err
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        records = [_paper_record(item, f"{path}: item {k}") for k, item in enumerate(items)]
        _refuse_duplicate_ids(path, records, [f"item {k}" for k in range(len(records))])
        return LengthFile(records, [], 0, is_paper_format=True)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) > 1 and _is_one_json_value(text):
        raise ValueError(f"{path}: the file is one JSON value spread over several lines; "
                         f"expected a JSON list of records (the paper's format) or one JSON "
                         f"record per line (JSONL)")
    result = LengthFile([], [], 0, is_paper_format=False)
    record_lines = []
    for position, (line_number, line) in enumerate(lines):
        where = f"{path}:{line_number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            if position == len(lines) - 1:
                result.num_truncated_lines += 1
                continue
            raise ValueError(f"{where}: bad JSON line ({err}); fix or remove the line") from err
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: expected a JSON object; fix or remove the line")
        if "settings" in obj:
            if not isinstance(obj["settings"], dict):
                raise _bad_field(where, "settings", obj["settings"], "it must be a JSON object")
            result.settings.append(obj)
        else:
            result.records.append(_jsonl_record(obj, where))
            record_lines.append(f"line {line_number}")
    _refuse_duplicate_ids(path, result.records, record_lines)
    return result


def read_length_file(path: str | Path, allow_empty: bool = False) -> list[LengthRecord]:
    """Records of a length file in either format (warns about a skipped truncated line).
    A file without records is an error unless `allow_empty`: it says how to fill it."""
    length_file = load_length_file(path)
    if length_file.num_truncated_lines:
        warnings.warn(f"{path}: skipped a truncated last line", stacklevel=2)
    if not length_file.records and not allow_empty:
        raise ValueError(f"{path} holds no length records yet: collect some with "
                         f"python -m seqsch.bench lengths collect --out {path}")
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


def paper_sample(records: Sequence[LengthRecord], num: int = PAPER_SAMPLE_SIZE,
                 seed: int = PAPER_SAMPLE_SEED) -> list[LengthRecord]:
    """The paper's `EvalDataset.sample(num, seed)`: `np.random.seed(seed)`, then the first
    `num` of `np.random.permutation(len(records))` (the same legacy generator, unshared)."""
    import numpy as np  # noqa: PLC0415 (the simulator imports this module: it stays numpy-free)

    if not 1 <= num <= len(records):
        raise ValueError(f"num must be between 1 and {len(records)}, got {num}")
    order = np.random.RandomState(seed).permutation(len(records))[:num]
    return [records[i] for i in order]
