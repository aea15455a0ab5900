"""Run the numbered notebooks and the playground headless and regenerate figures/ (the README's
`make figures`), then the results page docs/results.md from data/.

    python -m seqsch.lab --profile cpu          # notebooks, then the results page
    python -m seqsch.lab --profile ci --only 03 playground
    python -m seqsch.lab --results              # the results page alone (instant)

The last line is a JSON summary of each notebook's wall seconds.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from seqsch.core.cli import parse_args, run
from seqsch.core.paths import portable
from seqsch.lab.notebooks import PROFILES, run_all
from seqsch.lab.results import write_results_page


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="cpu")
    parser.add_argument("--only", nargs="+",
                        help="notebook numbers or the playground, e.g. --only 01 04 playground")
    parser.add_argument("--results", action="store_true",
                        help="only rewrite the results page docs/results.md from data/")
    args = parse_args(parser, argv)
    if args.results:
        print(json.dumps({"results_page": portable(write_results_page())}))
        return
    try:
        wall_s = run_all(args.profile, args.only)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    page = write_results_page() if args.profile != "ci" and not args.only else None
    print(json.dumps({"profile": args.profile, "wall_s": wall_s,
                      "results_page": portable(page) if page else None,
                      "total_wall_s": round(sum(wall_s.values()), 1)}))


if __name__ == "__main__":
    run(main)
