"""Run the numbered notebooks headless and regenerate figures/ (the README's `make figures`).

    python -m seqsch.lab --profile cpu
    python -m seqsch.lab --profile ci --only 03

The last line is a JSON summary of each notebook's wall seconds.
"""
from __future__ import annotations

import argparse
import json
import sys

from seqsch.lab.notebooks import PROFILES, run_all


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="cpu")
    parser.add_argument("--only", nargs="+", help="notebook numbers, e.g. --only 01 04")
    args = parser.parse_args(argv)
    try:
        wall_s = run_all(args.profile, args.only)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps({"profile": args.profile, "wall_s": wall_s,
                      "total_wall_s": round(sum(wall_s.values()), 1)}))


if __name__ == "__main__":
    main()
