"""Time the embedded model's first (converting) load and its cached load.

    python -m seqsch.core --model smollm2-135m-embedded --fresh

The last line is a JSON summary (`first_load_s`, `cached_load_s`).
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Sequence

from seqsch.core.cli import parse_args, run
from seqsch.core.models import DEFAULT, embedded_gguf_path, load_model
from seqsch.core.paths import cache_dir


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Time the first and the cached model load.")
    parser.add_argument("--model", default=DEFAULT)
    parser.add_argument("--fresh", action="store_true", help="delete the float cache first")
    args = parse_args(parser, argv)
    timings = {}
    if args.fresh and args.model == DEFAULT:
        shutil.rmtree(cache_dir() / "models" / f"{embedded_gguf_path().stem}-float", True)
    for label in ("first_load_s", "cached_load_s"):
        start = time.perf_counter()
        load_model(args.model)
        timings[label] = round(time.perf_counter() - start, 2)
        print(f"{label}: {timings[label]}")
    print(json.dumps(timings))
    return timings


if __name__ == "__main__":
    run(main)
