"""The benchmark's prompts and their oracle lengths, and when a length file may be the oracle.

On `data="val"` the prompts are a length file's validation records and the oracle its longest
sampled answer, but only for a run in the file's dtype on an engine that gives the same lengths
(`oracle_mismatch`); otherwise `oracle` takes the run's own first-come lengths, as on
`data="sharegpt"` (unseen prompts).
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from seqsch.bench.specs import ENGINES, SweepConfig
from seqsch.core.device import dtype_name, resolve_device, resolve_dtype
from seqsch.core.length_records import load_length_file, read_length_file
from seqsch.core.workloads import requests_by_id, sharegpt_workload

# Engines whose float32 greedy answers have the same lengths: vLLM (fp32, with seqsch's penalty
# as a logits processor), the seqsch static generator and transformers' continuous batching gave
# the same greedy length on every prompt compared (data/README.md: 128 of 128; README.md's
# benchmark: all 128). In another dtype the engines' kernels round differently, so only the same
# engine in the same dtype reproduces a file's lengths.
FP32_SAME_LENGTH_ENGINES = frozenset(ENGINES)


# seqsch.bench.lengths' name for the static generator
LENGTH_FILE_ENGINES = {"transformers": "static"}


def oracle_mismatch(settings: dict | None, dtype: str, engines: Iterable[str]) -> str | None:
    """Why a length file made with `settings` (its `{"settings": ...}` line: "dtype", "engine")
    cannot be the oracle of a run in `dtype` on `engines`, or None when it can: same dtype, and
    the same engine, or any of static/continuous/vllm in float32 (their greedy lengths agree)."""
    settings = settings or {}
    file_dtype, file_engine = settings.get("dtype"), settings.get("engine", "transformers")
    file_engine = LENGTH_FILE_ENGINES.get(file_engine, file_engine)
    if file_dtype is None:
        return "the file records no dtype"
    if file_dtype != dtype:
        return (f"the file was made in {file_dtype}, this run is {dtype} (answer lengths differ "
                "between dtypes)")
    others = sorted(set(engines) - {file_engine})
    if others and not (dtype == "float32" and {file_engine, *others} <= FP32_SAME_LENGTH_ENGINES):
        return (f"the file was made by {file_engine}, this run uses {', '.join(others)} in "
                f"{dtype} (engines agree on the lengths in float32 only)")
    return None


def run_dtype(config) -> str:
    """The dtype `load_model` gives this run's model (`--dtype`, `--device`)."""

    return dtype_name(resolve_dtype(config.dtype, resolve_device(config.device)))


def load_workload(config: SweepConfig, tokenizer, dtype: str | None = None):
    """The benchmark's requests and their oracle lengths (by id), as `--data` asks.

    On `--data val` the oracle is the length file's longest sampled answer, when the file was
    made in this run's dtype (`dtype`, default: what `--dtype` resolves to) by a compatible
    engine (`oracle_mismatch`); otherwise no oracle is returned and `oracle` takes the run's own
    first-come (vanilla) lengths, as on `--data sharegpt`. It prints which oracle is used."""

    records = read_length_file(config.lengths, allow_empty=True) if Path(
        config.lengths).exists() else []
    if config.data == "val":
        records = [r for r in records if r.split == "val"]
        if not records:
            raise ValueError(f"{config.lengths} holds no validation prompts; use --data sharegpt")
        if len(records) < config.num_data:
            print(f"note: {config.lengths} holds {len(records)} validation prompts; using all of "
                  f"them instead of --num-data {config.num_data}")
        records = records[: config.num_data]
        requests = requests_by_id([r.id for r in records])
        specs = config.run_specs
        dtype = dtype or run_dtype(config)
        headers = load_length_file(config.lengths).settings  # [{"settings": {...}}], or []
        settings = headers[0]["settings"] if headers else None
        reason = oracle_mismatch(settings, dtype, {s.engine for s in specs})
        if reason is None:
            print(f"oracle: the longest sampled answer in {config.lengths} (made in "
                  f"{dtype} by {settings.get('engine', 'transformers')}: the same lengths as "
                  f"this {dtype} run)")
            return requests, {r.id: r.max_length for r in records}
        if any(s.source == "oracle" for s in specs) and not any(
                s.source == "vanilla" for s in specs):
            raise ValueError(
                f"{config.lengths} cannot be the oracle of this run: {reason}. Add 'vanilla' to "
                "--specs (its own lengths become the oracle), or run in the file's dtype "
                f"(--dtype {(settings or {}).get('dtype', 'float32')})")
        print(f"oracle: this run's own first-come (vanilla) lengths, not {config.lengths}: "
              f"{reason}")
        return requests, {}
    seen = {r.id for r in records}  # keep the predictors' training prompts out
    pool = sharegpt_workload(tokenizer, config.num_data + len(seen), config.seed)
    return [r for r in pool if r.id not in seen][: config.num_data], {}
