"""The results page's upper-bound table: chosen on the validation file, scored on the test file."""

from __future__ import annotations

import shutil

import pytest

from seqsch.bench.upper_bound import BOUND, QUANTILES, RANKER
from seqsch.core.paths import DATA_DIR, DEFAULT_RECORDED_EVAL
from seqsch.lab.upper_bound_results import (
    VAL_EVAL,
    upper_bound_choice,
    upper_bound_markdown,
)


def test_no_validation_file_no_table(tmp_path):
    shutil.copy(DATA_DIR / DEFAULT_RECORDED_EVAL.name, tmp_path)
    assert upper_bound_choice(tmp_path) is None and upper_bound_markdown(tmp_path) is None


def test_the_factor_is_chosen_on_validation_and_applied_to_test():
    if not VAL_EVAL.is_file():
        pytest.skip("the validation predictions are not shipped")
    choice = upper_bound_choice()
    assert [c["quantile"] for c in choice["candidates"]] == list(QUANTILES)
    assert choice["quantile"] in QUANTILES and choice["factor"] >= 1.0
    assert (choice["num_val"], choice["num_test"]) == (859, 1293)
    rows = {r["label"]: r for r in choice["rows"]}
    assert {f"{RANKER} sort", f"{BOUND} + VBS + FCR", "oracle + VBS + FCR"} <= set(rows)
    # scaled up, fewer answers overrun their batch's cap
    assert rows[f"{BOUND} + VBS + FCR"]["failure_ratio"] < rows[f"{RANKER} + VBS + FCR"][
        "failure_ratio"]
    text = upper_bound_markdown()
    assert text.count("| chosen |") == 1 and f"**{BOUND} + VBS + FCR**" in text
