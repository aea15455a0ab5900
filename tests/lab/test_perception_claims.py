"""Notebook 03's claims name the numbers they rest on: the best predictor of each role, the
recorded head's verdict, the ceiling, and the takeaway's five claims."""

import pytest

from seqsch.lab.perception_claims import (
    best_learned,
    ceiling_text,
    curves_text,
    main_table_text,
    recorded_text,
    takeaway_text,
)
from seqsch.lab.perception_tables import main_rows, recorded_summary
from seqsch.lab.recorded_results import PAPER_CURVE, RECORDED_CURVE


@pytest.fixture(scope="module")
def main():
    return {row["name"]: row for row in main_rows()}


def test_the_main_table_says_how_many_query_answers_held_no_number(main):
    text = main_table_text(main)
    assert text.splitlines()[1].startswith("role: predictor")
    assert text.endswith(f"gave no number in {main['query']['num_missing']} of "
                         f"{main['query']['num_prompts']} answers; a missing prediction counts "
                         "as the mean of the others)")


def test_each_role_goes_to_the_learned_predictor_that_fills_it_best(main):
    length, order = best_learned(main)
    assert length["name"] == "length-head" and order["name"] == "rank-head"  # the shipped files
    fake = {"lora": {"error": 50, "tau_greedy_cap": 0.9}, "length-head": {"error": 60,
            "tau_greedy_cap": 0.1}, "rank-head": {"error": 70, "tau_greedy_cap": 0.2}}
    assert best_learned(fake) == (fake["lora"], fake["lora"])


def test_the_recorded_claim_reads_its_verdict_from_the_gap():
    recorded = recorded_summary()
    text = recorded_text(recorded)
    gap = recorded["target_tau"] - recorded["tau"]
    assert (f"({'met' if gap <= 0 else f'missed by {gap:.2f}'})") in text
    assert f"on {recorded['num_test']:,} test prompts: tau {recorded['tau']:.3f}" in text


def test_the_ceiling_sentence_and_the_curves():
    rows = [{"label": "a", "kendall_tau": 0.4, "order_gain": 0.5}]
    ceiling = {"temperature": 0.3, "ceiling": 0.5, "rank_head": 0.4, "share": 0.8}
    text = ceiling_text(rows, ceiling, 200)
    assert "order of the 200 greedy answers by" in text
    assert text.endswith("tau 0.50; the rank head reaches 80% of it from the prompt alone "
                         "(tau 0.40)")
    curves = {"w": [{"target_tau": 0.5, "static_sort_share": 0.1, "vbs_fcr_share": -0.2,
                     "order_gain": 0.6}]}
    placed = {"head": {"kendall_tau": 0.5, "static_sort_share": 0.2, "vbs_fcr_share": 0.1,
                       "vbs_fcr_failure_ratio": 0.3, "order_gain": 0.7}}
    text = curves_text(curves, placed)
    assert "noise drawn to" in text and "real predictions (recorded test)" in text
    assert "\n\n" in text and "0.70" in text.splitlines()[-1]


def test_the_takeaway_reads_each_claim_from_its_section(main):
    targets = {"cap_share": 0.56}
    collapse = {"top": 500, "share_top_generate": 1.0,
                "generate": {"error": 139.3, "kendall_tau": 0.0}}
    recorded = {"num_test": 1293, "tau": 0.501, "target_tau": 0.52, "prompt_length_tau": 0.136,
                "order_gain": 0.68, "ms": 43.9}
    ceiling = {"temperature": 0.3, "ceiling": 0.55, "rank_head": 0.46, "share": 0.85}
    half = {RECORDED_CURVE: {"continuous order": 0.2, "static sort": 0.8},
            PAPER_CURVE: {"continuous order": 0.25, "static sort": 0.9}}
    placed = {"recorded head": {"static_sort_share": 0.3, "vbs_fcr_share": -0.4,
                                "vbs_fcr_failure_ratio": 0.5, "order_gain": 0.68}}
    lines = takeaway_text(main, targets, collapse, recorded, ceiling, half, placed).splitlines()
    assert [line[:2] for line in lines] == ["1.", "2.", "3.", "4.", "5."]
    assert "56% of the paper's tuning targets" in lines[0] and ">= 500 tokens for 100%" in lines[0]
    assert "the length head (layer 15) predicts best" in lines[1]
    assert "the rank head (layer 25) leads" in lines[1]
    assert "orders 1,293 test prompts at tau 0.50" in lines[2]
    assert "is 85% of it" in lines[3]
    assert "needs tau 0.20 in a continuous order but 0.80 in a static sort" in lines[4]
    assert "and -40% with bins + VBS + FCR" in lines[4]
