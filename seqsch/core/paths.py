"""Where the project keeps its files: shipped data, figures, build outputs.

Paths are absolute (relative to the repository), so notebooks running in notebooks/ and
commands running from the root find the same files. Shipped results in data/ are read-only by
default: every command writes under build/ (ignored by git) unless an explicit `--out data/...`
refreshes a committed file. Records name files with `portable` and models with
`portable_model`, so that no committed file holds a machine's absolute path and a record made in
one checkout matches in another:

    portable(DATA_DIR / "lengths-smollm2-sharegpt.jsonl")  # "data/lengths-smollm2-sharegpt.jsonl"
    portable_model(embedded_model_dir())                   # "smollm2-135m-embedded"
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"
FIGURES_DIR = ROOT / "figures"
BUILD_DIR = ROOT / "build"
DEFAULT_LENGTHS = DATA_DIR / "lengths-smollm2-sharegpt.jsonl"
DEFAULT_ADAPTER = DATA_DIR / "lora-smollm2-length"
DEFAULT_PROBE = DATA_DIR / "probe-smollm2-length"
# the recorded-lengths workload, its predictor and the one scoring of its test split
DEFAULT_RECORDED = DATA_DIR / "lengths-sharegpt-recorded.jsonl"
DEFAULT_RECORDED_HEAD = DATA_DIR / "probe-sharegpt-recorded"
DEFAULT_RECORDED_EVAL = DATA_DIR / "perception-eval-recorded.json"
SERVING_CPU = DATA_DIR / "serving-vllm-cpu.jsonl"  # vLLM on this CPU under load, measured


def portable(path: str | Path) -> str:
    """`path` as a record should hold it: relative to the repository (POSIX) when it lies inside
    it, e.g. "data/lengths-smollm2-sharegpt.jsonl", else as given. A relative `path` is read
    from the working directory, as the command that received it reads it."""
    resolved = Path(path).expanduser().resolve()
    root = ROOT.resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(path)


def cache_dir() -> Path:
    """Where seqsch keeps converted models and downloads: `$SEQSCH_CACHE`, else ~/.cache/seqsch."""
    root = os.environ.get("SEQSCH_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")
    ) / "seqsch"
    return Path(root)
