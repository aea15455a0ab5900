"""Where a record's numbers came from: predictor files and the settings a rerun must match.

A learned length source is loaded from files (its registry row's `hashed_files`, see
`seqsch.core.sources`); each record holds their hash,
so a predictor retrained in place is measured again, never matched to a record of its former
self. `run_config` writes a sweep's settings as a record holds them: files relative to the
repository and the model by name, so that a record made in one checkout resumes in another.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from seqsch.bench.specs import RunSpec, SweepConfig
from seqsch.core.models import portable_model
from seqsch.core.paths import ROOT, portable
from seqsch.core.sources import SOURCES, canonical_source, canonical_spec
from seqsch.engines.vllm_engine import VLLM_INSTALL, is_vllm_available


def predictor_dir(source: str, probe_dir: str | Path | None = None) -> Path:
    """The folder `source`'s predictor is loaded from: its registry row's (seqsch.core.sources),
    or `probe_dir` for a head on the hidden states."""
    row = SOURCES[canonical_source(source, probe_dir and str(probe_dir))]
    if probe_dir is not None and row.is_head:
        return Path(probe_dir)
    return ROOT / row.folder if row.folder else ROOT


def hashed_sources(sources, is_replay: bool = False) -> list[str]:
    """Which of `sources` load trained files (their provenance hash is recorded). In a trace
    replay the learned sources read the replay's committed predictions, not their files."""
    return sorted({s for s in sources if SOURCES[s].hashed_files
                   and not (is_replay and SOURCES[s].orders_token_ids)})


def missing_predictor(source: str, probe_dir: str | Path | None = None) -> str | None:
    """Why `source`'s trained predictor cannot be loaded, or None when its files are there."""
    row = SOURCES[canonical_source(source, probe_dir and str(probe_dir))]
    folder = predictor_dir(source, probe_dir)
    missing = [name for name in row.hashed_files if not (folder / name).is_file()]
    if not missing:
        return None
    return f"{folder / missing[0]} is missing (train it with {row.train})"


def predictor_sha256(source: str, probe_dir: str | Path | None = None) -> str:
    """A hash of the files `source`'s predictor is loaded from (weights and settings)."""
    reason = missing_predictor(source, probe_dir)
    if reason:
        raise FileNotFoundError(reason)
    row = SOURCES[canonical_source(source, probe_dir and str(probe_dir))]
    digest, folder = hashlib.sha256(), predictor_dir(source, probe_dir)
    for name in row.hashed_files:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()


def available_specs(specs: list[str], probe_dir: str | Path | None = None) -> list[str]:
    """The specs that can run here (a head source read from `probe_dir`); prints why the
    others are skipped."""

    kept = []
    for text in specs:
        spec = RunSpec.parse(text, probe_dir)
        reason = missing_predictor(spec.source, probe_dir)
        if spec.engine == "vllm" and not is_vllm_available():
            print(f"skipping {text}: vLLM is not installed here (set it up with {VLLM_INSTALL})")
        elif reason:
            print(f"skipping {text}: {reason}")
        else:
            kept.append(text)
    return kept


PATH_SETTINGS = ("lengths", "probe")  # settings that name files: recorded repo-relative


def run_config(sweep: SweepConfig, request_ids: list[str]) -> dict:
    """The settings a record holds (and a rerun must match to resume): the sweep's options
    as JSON, files relative to the repository and the model by name (`seqsch.core.paths.portable`,
    so that no record holds a machine's path and another checkout resumes it), and a hash of
    the request ids. Options that are off (replay, groups, parallelism) are left out, and a
    one-spec sweep records its spec as `strategy`, `vbs`, `fcr` and `engine` (a sweep of
    several: their defaults), as the command line once took it, so that records measured before
    resume."""

    options = vars(sweep)
    is_replay = options.get("replay") is not None
    config = {k: v for k, v in options.items() if k not in ("out", "quiet", "specs", "repeats")
              and not (k.endswith("parallel_size") and v == 1)  # recorded when used
              and not (k in ("replay", "replay_prompt_tokens") and not is_replay)
              and not (k in ("group_size", "probe") and v is None)}
    specs = options.get("specs") or ()
    spec = RunSpec.parse(specs[0]) if len(specs) == 1 else RunSpec()
    config.update(strategy=spec.source, vbs=spec.vbs, fcr=spec.fcr, engine=spec.engine)
    for key in PATH_SETTINGS:
        if config.get(key) is not None:
            config[key] = portable(config[key])
    if config.get("model") is not None:
        config["model"] = portable_model(config["model"])
    config = json.loads(json.dumps(config, default=str))
    config["request_ids"] = hashlib.sha256(" ".join(request_ids).encode()).hexdigest()
    return config


def portable_config(config: dict) -> dict:
    """`config` as `run_config` writes it now, from a record of any age: absolute paths made
    portable (a relative one already is: relative to the repository), the source by its
    registry name (`gt` -> `oracle`, ...), and a head folder that is a source's own left out
    (older records held the length head's folder even when no head ran)."""

    config = dict(config)
    for key in (*PATH_SETTINGS, "model"):
        value = config.get(key)
        if isinstance(value, str) and Path(value).is_absolute():
            config[key] = portable_model(value) if key == "model" else portable(value)
    if isinstance(config.get("strategy"), str):
        config["strategy"] = canonical_spec(config["strategy"], config.get("probe"))
    if config.get("probe") in {row.folder for row in SOURCES.values() if row.folder}:
        del config["probe"]
    return config


def canonical_record(record: dict) -> dict:
    """A benchmark record read through the registry's names: its spec (`gt+vbs+fcr` ->
    `oracle+vbs+fcr`, `vllm+probe` -> `vllm+rank-head` when its head folder is the rank
    head's) and its config (`portable_config`). Older files load as if written today."""
    config = record.get("config")
    probe = config.get("probe") if isinstance(config, dict) else None
    record = {**record, "spec": canonical_spec(record["spec"], probe)}
    if isinstance(config, dict):
        record["config"] = portable_config(config)
    return record
