"""Where the project keeps its files: shipped data, figures, build outputs.

Paths are absolute (relative to the repository), so notebooks running in notebooks/ and
commands running from the root find the same files.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
FIGURES_DIR = ROOT / "figures"
BUILD_DIR = ROOT / "build"
DEFAULT_LENGTHS = DATA_DIR / "lengths-smollm2-sharegpt.jsonl"
DEFAULT_ADAPTER = DATA_DIR / "lora-smollm2-length"
DEFAULT_PROBE = DATA_DIR / "probe-smollm2-length"
