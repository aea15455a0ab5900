"""The results page's table of FCR's upper bound: the recorded head's predictions scaled by a
factor chosen on the validation split, against the same predictions unscaled, on test.

It reads two committed evaluation files, the test split's (`perception-eval-recorded.json`) and
the validation split's (`perception-eval-recorded-val.json`, the head's predictions there), and
simulates both with `seqsch.bench.upper_bound`. Without the validation file there is no table.

    text = upper_bound_markdown()     # None when the validation file is absent
"""

from __future__ import annotations

from pathlib import Path

from seqsch.bench.upper_bound import BOUND, bound_rows, choose_bound
from seqsch.core.paths import DATA_DIR, DEFAULT_RECORDED_EVAL
from seqsch.core.recorded import read_evaluation
from seqsch.core.sources import RECORDED_HEAD_SOURCE

VAL_EVAL = DATA_DIR / "perception-eval-recorded-val.json"
VAL_COMMAND = ("python -m seqsch.perception recorded-eval --split val --sources recorded-head "
               "\\\n    --head data/probe-sharegpt-recorded --out "
               "build/perception-eval-recorded-val.json   # 2 minutes")


def upper_bound_choice(data_dir: Path = DATA_DIR) -> dict | None:
    """The factor chosen on the validation split (`choose_bound`), and the test rows with it."""
    if not (data_dir / VAL_EVAL.name).is_file():
        return None
    val, val_prompts = read_evaluation(data_dir / VAL_EVAL.name)
    test, test_prompts = read_evaluation(data_dir / DEFAULT_RECORDED_EVAL.name)
    choice = choose_bound(val["sources"][RECORDED_HEAD_SOURCE]["predictions"],
                          val["recorded_lengths"], val_prompts)
    rows = bound_rows(test["sources"][RECORDED_HEAD_SOURCE]["predictions"],
                      test["recorded_lengths"], test_prompts, choice["factor"])
    return {**choice, "num_val": len(val["ids"]), "num_test": len(test["ids"]), "rows": rows}


def upper_bound_markdown(data_dir: Path = DATA_DIR) -> str | None:
    """The candidates on validation, then the test table (None without the validation file)."""
    choice = upper_bound_choice(data_dir)
    if choice is None:
        return None
    lines = [f"| bound ({choice['num_val']} validation prompts) | factor | bin + VBS + FCR x "
             "vanilla | FCR ratio | |", "|---|---|---|---|---|"]
    lines += [f"| {c['quantile']:.0%} quantile of true / predicted | {c['factor']:.2f} | "
              f"{c['x_vanilla']:.2f} | {c['failure_ratio']:.1%} | "
              f"{'chosen' if c['quantile'] == choice['quantile'] else ''} |"
              for c in choice["candidates"]]
    lines += ["", f"| schedule ({choice['num_test']} test prompts, A100 model) | samples/s | "
              "x vanilla | ETR | FCR ratio |", "|---|---|---|---|---|"]
    lines += [f"| {'**' + r['label'] + '**' if r['label'].startswith(BOUND) else r['label']} | "
              f"{r['samples_per_s']:.2f} | {r['x_vanilla']:.2f} | "
              f"{r['effective_token_ratio']:.1%} | {r['failure_ratio']:.1%} |"
              for r in choice["rows"]]
    return "\n".join(lines) + "\n"
