"""Notebook 03's tables: every column names its target, every number is its data file's."""

import json

import pytest

from seqsch.core.anchors import RECORDED_RANKER_ANCHORS
from seqsch.core.paper import PAPER_MODULE_ACCURACY
from seqsch.core.paths import DATA_DIR, DEFAULT_LENGTHS, DEFAULT_RECORDED_EVAL
from seqsch.lab.perception_tables import (
    MAIN_COLUMNS,
    MAIN_ROLES,
    RECORDED_COLUMNS,
    Column,
    curve_columns,
    curve_rows,
    curve_title,
    half_gain_taus,
    main_rows,
    order_ceiling,
    recorded_rows,
    recorded_summary,
    text_table,
)
from seqsch.lab.recorded_results import TARGETS
from seqsch.lab.result_files import ORDER_CAP, order_scores
from seqsch.lab.scorecard import sampled_answer_order


def summary(name: str) -> dict:
    return json.loads((DATA_DIR / f"perception-eval-{name}.json").read_text())["summary"]


def test_a_text_table_puts_each_target_over_its_columns():
    columns = (Column("a", "tau", ".2f", "vs X"), Column("b", "error", ".0f", "vs X"),
               Column("c", "ms", ".1f"))
    table = text_table([{"label": "one", "a": 0.5, "b": 12.4, "c": None},
                        {"label": "a longer one", "a": -0.25, "b": 3.0, "c": 1.25}],
                       columns, "predictor")
    target, header, first, second = table.splitlines()
    assert "vs X" in target and target.index("vs X") > len("a longer one")
    assert "ms" not in target  # a column without a target has nothing above it
    assert header.startswith("predictor") and header.split()[1:] == ["tau", "error", "ms"]
    assert first.split() == ["one", "0.50", "12", "-"]  # None reads "-"
    assert second.split()[-3:] == ["-0.25", "3", "1.2"]
    assert len({len(line) for line in (header, first, second)}) == 1  # aligned


def test_a_long_target_widens_its_columns_not_the_others():
    columns = (Column("a", "x", ".0f", "a target far longer than its column"),
               Column("b", "y", ".0f"))
    target, header, row = text_table([{"label": "r", "a": 1, "b": 2}], columns).splitlines()
    assert "- a target far longer than its column -" in target
    assert header.index("y") - header.index("x") == len("  y") and len(row) == len(header)


def test_a_table_needs_rows_and_columns():
    with pytest.raises(ValueError, match="at least one row"):
        text_table([], MAIN_COLUMNS)
    with pytest.raises(ValueError, match="at least one row"):
        text_table([{"label": "r"}], ())


def test_the_main_table_holds_one_row_per_role_read_from_its_files():
    rows = main_rows()
    assert [row["name"] for row in rows] == [name for _, name, _ in MAIN_ROLES] + ["paper"]
    by_name = {row["name"]: row for row in rows}
    for name in ("lora", "length-head", "rank-head", "query", "constant", "noise-floor"):
        saved = summary(name)
        for key in ("error", "acc50", "acc100", "kendall_tau"):
            assert by_name[name][key] == saved[key]
    rank = json.loads((DATA_DIR / "perception-eval-rank-head.json").read_text())
    at_cap = order_scores(rank["predictions"], DEFAULT_LENGTHS)
    assert by_name["rank-head"]["tau_greedy_cap"] == at_cap["tau_greedy_cap"]
    assert by_name["rank-head"]["ms"] == pytest.approx(1000 * summary("rank-head")["predict_s"])
    floor = by_name["noise-floor"]  # scored against another sample: no order of greedy answers
    assert floor["tau_greedy_cap"] is None and floor["ms"] is None
    assert {k: by_name["paper"][k] for k in PAPER_MODULE_ACCURACY} == PAPER_MODULE_ACCURACY
    assert by_name["query"]["num_missing"] == summary("query")["num_missing"]
    assert all(row["label"] == f"{row['role']}: {row['predictor']}" for row in rows)
    table = text_table(rows, MAIN_COLUMNS, "role: predictor")
    assert "vs longest of 4 (cap 512)" in table and f"vs greedy (cap {ORDER_CAP})" in table
    assert "priority" not in table  # the retired head stays in the lab notes


def test_the_recorded_table_ends_with_the_anchors_and_states_its_target():
    evaluation = json.loads(DEFAULT_RECORDED_EVAL.read_text())
    rows = recorded_rows()
    assert [row["name"] for row in rows[:len(evaluation["sources"])]] == list(
        evaluation["sources"])
    anchors = rows[len(evaluation["sources"]):]
    assert ([row["kendall_tau_vs_recorded"] for row in anchors]
            == list(RECORDED_RANKER_ANCHORS.values()))
    assert all(row.get("error_vs_recorded") is None for row in anchors)
    assert "vs recorded length" in text_table(rows, RECORDED_COLUMNS)
    claims = recorded_summary()
    head = evaluation["sources"]["recorded-head"]
    assert claims["tau"] == head["kendall_tau_vs_recorded"]
    assert claims["gap"] == pytest.approx(TARGETS["kendall_tau_vs_recorded"] - claims["tau"])
    assert claims["num_test"] == len(evaluation["ids"])
    assert claims["prompt_length_tau"] == evaluation["sources"]["prompt-length"][
        "kendall_tau_vs_recorded"]


def test_the_ceiling_is_the_models_best_sampled_answer():
    rows, ceiling = order_ceiling(DEFAULT_LENGTHS)
    sampled = sampled_answer_order(DEFAULT_LENGTHS, cap=ORDER_CAP)
    assert ceiling["ceiling"] == max(s["kendall_tau"] for s in sampled.values())
    assert sampled[ceiling["temperature"]]["kendall_tau"] == ceiling["ceiling"]
    assert rows[0]["kendall_tau"] == ceiling["rank_head"]
    assert ceiling["share"] == pytest.approx(ceiling["rank_head"] / ceiling["ceiling"])
    assert len(rows) == 3 + len(sampled)


def curve(shares: list[tuple[float, float, float, float]]) -> list[dict]:
    """Rows of a quality curve: (tau, static, bins, order); tau 1 is the oracle (sigma 0)."""
    return [{"target_tau": tau, "kendall_tau": tau, "sigma": 0.0 if tau == 1 else 1 - tau,
             "static_sort_share": static, "vbs_fcr_share": bins, "order_gain": order}
            for tau, static, bins, order in shares]


CURVES = {"w": curve([(0.3, 0.1, 0.1, 0.4), (0.5, 0.2, 0.2, 0.6), (0.9, 0.6, 0.3, 0.9),
                      (1.0, 1.0, 1.0, 1.0)])}


def test_half_the_gain_is_read_off_the_noisy_rows_only():
    taus = half_gain_taus(CURVES)["w"]
    assert taus["continuous order"] == pytest.approx(0.4)
    assert taus["static sort"] == pytest.approx(0.5 + 0.4 * 0.75)
    assert taus["bin + VBS + FCR"] is None  # only the oracle's own row reaches it
    assert curve_title(CURVES) == ("Half the oracle's gain needs tau 0.40 in a continuous "
                                   "order, 0.80 in a static sort, above 0.90 with bins + VBS + "
                                   "FCR (w)")


def test_the_curve_table_sets_the_workloads_side_by_side():
    curves = CURVES | {"v": curve([(0.5, 0.3, 0.4, 0.7), (1.0, 1.0, 1.0, 1.0)])}
    rows = curve_rows(curves)
    assert [row["label"] for row in rows] == ["tau 0.30", "tau 0.50", "tau 0.90", "tau 1.00"]
    assert rows[1]["v|order_gain"] == 0.7 and "v|order_gain" not in rows[0]
    table = text_table(rows, curve_columns(curves)).splitlines()
    assert table[0].index("w") < table[0].index("v")
    assert table[2].split()[-3:] == ["-", "-", "-"]  # v has no row at tau 0.3
