"""Notebook 03's notes on the heads: the depth sweep read for its best depth, the retired head
beside the rank head, and the doublings a learning curve asks for."""

import json

import pytest

from seqsch.core.paths import DEFAULT_LENGTHS
from seqsch.lab.perception_heads import (
    depth_sweep,
    depth_text,
    depth_title,
    doublings_line,
    rank_selection_text,
    recorded_curve_text,
    retired_head_text,
)


def test_the_depth_that_orders_best_is_priced_against_the_full_prefill(tmp_path):
    rows = [{"num_layers": n, "kendall_tau": tau, "error": 100.0, "predict_s": s}
            for n, tau, s in ((0, 0.2, 0.0), (4, 0.5, 0.02), (8, 0.4, 0.08))]
    (tmp_path / "probe-depth.json").write_text(json.dumps({"depths": rows, "num_val": 50}))
    sweep = depth_sweep(tmp_path)
    assert sweep["top"]["num_layers"] == 4 and sweep["cost_share"] == pytest.approx(0.25)
    assert depth_title(sweep) == ("Layer 4 orders best (tau 0.50) at 25% of the full prefill's "
                                  "cost (50 prompts, tau vs longest of 4)")
    assert depth_text(sweep).splitlines()[1] == (
        "layers  4: tau vs longest of 4 0.50, error 100 tokens, 20 ms/prompt")


def test_the_shipped_sweep_and_the_retired_head():
    sweep = depth_sweep()
    assert sweep["top"] == max(sweep["depths"], key=lambda row: row["kendall_tau"])
    rank = {"tau_greedy_cap": 0.46, "order_gain_cap": 0.64, "ms": 125.0}
    text = retired_head_text(DEFAULT_LENGTHS, rank)
    assert text.startswith("\nretired layer-4 priority head, vs the greedy answer (cap 256)")
    assert text.endswith("(the rank head: 0.46, 0.64, 125 ms/prompt)")


def test_doublings_extrapolate_the_curve_or_say_it_does_not_rise():
    curve = [{"num_train": 100, "cv_kendall_tau": 0.3}, {"num_train": 200, "cv_kendall_tau": 0.4}]
    more, line = doublings_line(curve, 0.6, "tau 0.6")
    assert more == pytest.approx(2.0)
    assert line == ("at the curve's slope, tau 0.6 would need 2 more doublings of the train "
                    "prompts (about 0)")  # 800 rounds to the nearest 10,000
    flat = [{"num_train": 100, "cv_kendall_tau": 0.4}, {"num_train": 200, "cv_kendall_tau": 0.3}]
    assert doublings_line(flat, 0.6, "tau 0.6") == (
        None, "at the curve's slope, tau 0.6 is never reached: the curve does not rise")


def test_the_shipped_selections_print_their_extrapolations():
    text = rank_selection_text({"ceiling": 0.55})
    assert text.startswith("5-fold cross-validation on 800 train prompts")
    assert text.endswith("past the ceiling above (0.55): the line cannot hold that far")
    assert "past the ceiling" not in rank_selection_text({"ceiling": 0.9})
    recorded = recorded_curve_text({"target_tau": 0.52})
    assert "the published ranker's tau 0.52 would need" in recorded
    assert recorded.endswith(" per fold)")
