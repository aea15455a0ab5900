"""Notebook 03's lab notes on the heads: how deep a head reads, how the rank head and the
recorded head were chosen, and what more train prompts would give.

The shipped files hold the sweeps (`probe-depth.json`, each head's `selection.json` and
`learning-curve.json`); these functions read them and say what they show, so that the notebook
only prints: the depth that orders best and its share of the full prefill's cost, the retired
layer-4 head beside the rank head that took its role, the cross-validation's best candidates,
and the doublings of the train prompts a learning curve's slope asks for to reach an aim
(`seqsch.lab.scorecard.doublings_to`; an extrapolation, not a measurement).

    sweep = depth_sweep()
    print(depth_text(sweep))
    print(rank_selection_text(ceiling))
    print(recorded_curve_text(recorded_summary()))
"""

from __future__ import annotations

import json
from pathlib import Path

from seqsch.core.paths import DATA_DIR
from seqsch.lab.result_files import ORDER_CAP, order_scores
from seqsch.lab.scorecard import TAU_AIM, doublings_to


def depth_sweep(data_dir: Path = DATA_DIR) -> dict:
    """`probe-depth.json` with its reading: the row that orders best (`top`, by tau against the
    longest of four) and its prefill cost over the deepest row's (`cost_share`)."""
    sweep = json.loads((data_dir / "probe-depth.json").read_text())
    rows = sweep["depths"]
    top = max(rows, key=lambda row: row["kendall_tau"])
    deepest = max(rows, key=lambda row: row["num_layers"])
    return {**sweep, "top": top, "cost_share": top["predict_s"] / deepest["predict_s"]}


def depth_title(sweep: dict) -> str:
    """The depth figure's conclusion: the layer that orders best, at what share of the cost."""
    top = sweep["top"]
    return (f"Layer {top['num_layers']} orders best (tau {top['kendall_tau']:.2f}) at "
            f"{sweep['cost_share']:.0%} of the full prefill's cost ({sweep['num_val']} prompts, "
            "tau vs longest of 4)")


def depth_text(sweep: dict) -> str:
    """One line per depth: its tau and error against the longest of four, its cost."""
    return "\n".join(f"layers {row['num_layers']:>2}: tau vs longest of 4 "
                     f"{row['kendall_tau']:.2f}, error {row['error']:.0f} tokens, "
                     f"{1000 * row['predict_s']:.0f} ms/prompt" for row in sweep["depths"])


def retired_head_text(lengths: Path, rank_head: dict, data_dir: Path = DATA_DIR) -> str:
    """The retired layer-4 priority head's order of the greedy answers at ORDER_CAP and its
    cost, beside the rank head's (`rank_head`: its row of the main table)."""
    retired = json.loads((data_dir / "perception-eval-priority-head-l4.json").read_text())
    scores = order_scores(retired["predictions"], lengths)
    return (f"\nretired layer-4 priority head, vs the greedy answer (cap {ORDER_CAP}): tau "
            f"{scores['tau_greedy_cap']:.2f}, order gain {scores['order_gain_cap']:.2f}, "
            f"{1000 * retired['summary']['predict_s']:.0f} ms/prompt (the rank head: "
            f"{rank_head['tau_greedy_cap']:.2f}, {rank_head['order_gain_cap']:.2f}, "
            f"{rank_head['ms']:.0f} ms/prompt)")


def doublings_line(curve: list[dict], aim: float, what: str, unit: str = "",
                   precision: int = 0) -> tuple[float | None, str]:
    """(doublings, a sentence): the doublings of the train prompts the curve's slope needs to
    reach `aim` (`what` names the aim), and about how many prompts that is."""
    more = doublings_to(curve, aim)
    if more is None:
        return None, f"at the curve's slope, {what} is never reached: the curve does not rise"
    num = round(curve[-1]["num_train"] * 2 ** more, -4)
    return more, (f"at the curve's slope, {what} would need {more:.{precision}f} more doublings "
                  f"of the train prompts (about {num:,.0f}{unit})")


def rank_selection_text(ceiling: dict, data_dir: Path = DATA_DIR, aim: float = TAU_AIM,
                        num_shown: int = 5) -> str:
    """The rank head's cross-validation, best candidates first, its learning curve, and the
    doublings to `aim`, flagged when the aim lies past the ceiling (`ceiling`: from
    `seqsch.lab.perception_tables.order_ceiling`)."""
    folder = data_dir / "probe-smollm2-rank"
    selection = json.loads((folder / "selection.json").read_text())
    lines = [f"5-fold cross-validation on {selection['num_train']} train prompts, best first (vs "
             f"greedy at cap {selection['config']['max_length']}):"]
    lines += [f"  layer {row['num_layers']}, {row['target']:>7} loss, {row['length_target']:>6} "
              f"label: tau {row['cv_kendall_tau']:.2f}, order gain {row['cv_order_gain']:.2f}"
              for row in selection["rows"][:num_shown]]
    curve = json.loads((folder / "learning-curve.json").read_text())["learning_curve"]
    lines += [f"rank head, {point['num_train']:>3} train prompts per fold: tau "
              f"{point['cv_kendall_tau']:.3f}" for point in curve]
    beyond = (f", past the ceiling above ({ceiling['ceiling']:.2f}): the line cannot hold that far"
              if aim > ceiling["ceiling"] else "")
    lines.append(doublings_line(curve, aim, f"tau {aim}")[1] + beyond)
    return "\n".join(lines)


def recorded_curve_text(recorded: dict, data_dir: Path = DATA_DIR) -> str:
    """The doublings of the train prompts the recorded head's learning curve needs to reach the
    published ranker's tau (`recorded`: `seqsch.lab.perception_tables.recorded_summary`)."""
    path = data_dir / "probe-sharegpt-recorded" / "learning-curve.json"
    curve = json.loads(path.read_text())["points"]
    return doublings_line(curve, recorded["target_tau"],
                          f"the published ranker's tau {recorded['target_tau']}", " per fold", 1)[1]
