"""A sweep's JSONL record: finished specs to resume after, rounds and records to report.

Each finished spec is one JSON line (config, environment, summary, lengths). `finished_specs`
finds the lines a rerun with the same settings can skip; `load_rounds` and `load_records` read a
file for reports, keeping only records measured with the settings of its last line.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from seqsch.bench.provenance import canonical_record, portable_config
from seqsch.bench.specs import RunSpec
from seqsch.core.files import atomic_path, read_jsonl


def finished_specs(path: Path, config: dict, round_specs: list[str] | None = None,
                    predictor_hashes: dict[str, str] | None = None) -> dict:
    """Records of `path` measured with the same settings, prompts and predictor files
    (`predictor_hashes`: {source: sha256}), by (spec, round). With `round_specs` (a sweep of
    several rounds) only whole rounds count: a round cut short, or one with a predictor since
    retrained, is measured again in full, so that its ratios never pair runs of two processes.
    Settings are compared in their portable form (`run_config`): a record made in another
    checkout, or before records were portable, in this one, matches."""
    predictor_hashes = predictor_hashes or {}
    if not path.exists():
        return {}
    config, done = portable_config(config), {}
    for record in map(canonical_record, read_jsonl(path)):
        source = RunSpec.parse(record["spec"]).source
        if record.get("config") == config and record.get("predictor_sha256") == (
                predictor_hashes.get(source)):
            done[record["spec"], record.get("repeat", 0)] = record
    if round_specs is not None:
        rounds = {repeat for _, repeat in done}
        whole = {r for r in rounds if all((name, r) in done for name in round_specs)}
        done = {key: record for key, record in done.items() if key[1] in whole}
    return done


def rewrite_records(path: Path) -> int:
    """Rewrite a benchmark JSONL file in the registry's names (`canonical_record`), in place and
    in one rename; returns how many records changed. Reading needs no rewrite (every reader
    reads through the aliases): this is for files that are shipped or compared by eye."""
    records = read_jsonl(path)
    rewritten = [canonical_record(record) for record in records]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(json.dumps(record) + "\n" for record in rewritten))
    return sum(a != b for a, b in zip(records, rewritten))


def load_records(path: Path) -> dict:
    """One record per spec of a benchmark JSONL file: from the last round that has the spec
    (a sweep of one round: the spec's last record)."""
    return {name: record for one in load_rounds(path) for name, record in one.items()}


def load_rounds(path: Path) -> list[dict]:
    """The records of a benchmark JSONL file by round (`--repeats`): [{spec: record}, ...],
    the last record of each spec within its round; records without a round are round 0. Only
    records measured with the settings of the file's last one count (as when the benchmark
    resumes), so a rerun with other settings never pairs with older records; a line cut short
    by an interruption is skipped."""
    records = [canonical_record(record) for record in read_jsonl(path)]  # older names read
    settings = records[-1].get("config") if records else None
    kept = [record for record in records if record.get("config") == settings]
    if len(kept) < len(records):
        print(f"note: {path} holds {len(records) - len(kept)} records measured with other "
              f"settings than its last; reading the {len(kept)} measured with the last's",
              file=sys.stderr)
    rounds: dict[int, dict] = {}
    for record in kept:
        rounds.setdefault(record.get("repeat", 0), {})[record["spec"]] = record
    return [rounds[k] for k in sorted(rounds)]
