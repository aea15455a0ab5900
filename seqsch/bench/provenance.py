"""Where a record's numbers came from: predictor files and the settings a rerun must match.

A learned length source is loaded from files (`PREDICTOR_FILES`); each record holds their hash,
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
from seqsch.core.paths import DEFAULT_ADAPTER, DEFAULT_PROBE, portable
from seqsch.engines.vllm_engine import VLLM_INSTALL, is_vllm_available

# The files a trained predictor is loaded from (a folder alone may hold an interrupted
# training). Each record of a learned source holds their hash: a predictor retrained in place
# is measured again, never matched to a record of its former self.
PREDICTOR_FILES = {"seqsch": ("adapter_model.safetensors", "adapter_config.json"),
                   "probe": ("head.safetensors", "probe_config.json")}


def predictor_dir(source: str, probe_dir: str | Path = DEFAULT_PROBE) -> Path:
    """The folder the `seqsch` (LoRA module) or `probe` length source is loaded from."""
    return DEFAULT_ADAPTER if source == "seqsch" else Path(probe_dir)


def missing_predictor(source: str, probe_dir: str | Path = DEFAULT_PROBE) -> str | None:
    """Why `source`'s trained predictor cannot be loaded, or None when its files are there."""
    folder = predictor_dir(source, probe_dir)
    missing = [name for name in PREDICTOR_FILES.get(source, ()) if not (folder / name).is_file()]
    if not missing:
        return None
    command = "lora" if source == "seqsch" else "probe"
    return (f"{folder / missing[0]} is missing (train it with python -m seqsch.perception "
            f"train --predictor {command})")


def predictor_sha256(source: str, probe_dir: str | Path = DEFAULT_PROBE) -> str:
    """A hash of the files `source`'s predictor is loaded from (weights and settings)."""
    reason = missing_predictor(source, probe_dir)
    if reason:
        raise FileNotFoundError(reason)
    digest, folder = hashlib.sha256(), predictor_dir(source, probe_dir)
    for name in PREDICTOR_FILES[source]:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()


def available_specs(specs: list[str], probe_dir: str | Path = DEFAULT_PROBE) -> list[str]:
    """The specs that can run here (the probe source read from `probe_dir`); prints why the
    others are skipped."""

    kept = []
    for text in specs:
        spec = RunSpec.parse(text)
        reason = missing_predictor(spec.source, probe_dir)
        if spec.engine == "vllm" and not is_vllm_available():
            print(f"skipping {text}: vLLM is not installed here (set it up with {VLLM_INSTALL})")
        elif reason:
            print(f"skipping {text}: {reason}")
        else:
            kept.append(text)
    return kept


PATH_SETTINGS = ("lengths", "probe")  # settings that name files: recorded repo-relative


def run_config(args: SweepConfig, request_ids: list[str]) -> dict:
    """The settings a record holds (and a rerun must match to resume): the sweep's options
    as JSON, files relative to the repository and the model by name (`seqsch.core.paths.portable`,
    so that no record holds a machine's path and another checkout resumes it), and a hash of
    the request ids. Options that are off (replay, groups, parallelism) are left out, and a
    one-spec sweep records its spec as the command line's --strategy/--vbs/--fcr/--engine
    (a sweep of several: their defaults), so that records measured before resume."""

    options = vars(args)
    is_replay = options.get("replay") is not None
    config = {k: v for k, v in options.items() if k not in ("out", "quiet", "specs", "repeats")
              and not (k.endswith("parallel_size") and v == 1)  # recorded when used
              and not (k in ("replay", "replay_prompt_tokens") and not is_replay)
              and not (k == "group_size" and v is None)}
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
    """`config` with the absolute paths of an older record made portable, as `run_config`
    writes them now (a relative one already is: relative to the repository)."""

    config = dict(config)
    for key in (*PATH_SETTINGS, "model"):
        value = config.get(key)
        if isinstance(value, str) and Path(value).is_absolute():
            config[key] = portable_model(value) if key == "model" else portable(value)
    return config
