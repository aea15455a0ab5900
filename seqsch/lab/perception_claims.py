"""Notebook 03's claims in words: each table with the sentences that read it, and the takeaway.

Every sentence the notebook prints reads one number against one named target. Writing them
here, from the rows of `seqsch.lab.perception_tables` and `seqsch.lab.perception_targets`,
keeps the notebook to calls and pictures, and lets a test check that each claim names the
number it rests on (the best length predictor is the one of lowest error, the ceiling's share
is the rank head's tau over it, and so on):

    main = {row["name"]: row for row in main_rows()}
    print(main_table_text(main))
    print(recorded_text(recorded_summary()))
    print(takeaway_text(main, targets, collapse, recorded, ceiling, half, placed))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from seqsch.core.paths import DATA_DIR
from seqsch.lab.perception_tables import (
    LEARNED,
    MAIN_COLUMNS,
    NOISE_FLOOR_NOTE,
    ORDER_COLUMNS,
    PLACED_COLUMNS,
    RECORDED_COLUMNS,
    curve_columns,
    curve_rows,
    recorded_rows,
    text_table,
)
from seqsch.lab.recorded_results import PAPER_CURVE, RECORDED_CURVE
from seqsch.lab.result_files import ORDER_CAP
from seqsch.lab.scorecard import verdict


def main_table_text(main: Mapping[str, dict]) -> str:
    """The main table (one predictor per role), its noise-floor note, and how many answers the
    zero-shot query left without a number (`main`: `main_rows` by name)."""
    query = main["query"]
    return (f"{text_table(list(main.values()), MAIN_COLUMNS, 'role: predictor')}\n"
            f"{NOISE_FLOOR_NOTE}\n"
            f"(the zero-shot query gave no number in {query['num_missing']} of "
            f"{query['num_prompts']} answers; a missing prediction counts as the mean of the "
            "others)")


def recorded_text(recorded: dict, data_dir: Path = DATA_DIR) -> str:
    """The recorded-lengths table, what cross-validation chose on the train split, and the
    recorded head's tau on the test split against the published ranker's (met or missed)."""
    chosen = recorded["chosen"]
    return (f"{text_table(recorded_rows(data_dir), RECORDED_COLUMNS, 'source (test split)')}\n"
            f"\nchosen on the {recorded['num_train']:,} train prompts ({recorded['rule']}): layer "
            f"{chosen['depth']}, {chosen['target']} loss, text weight {chosen['text_weight']}, "
            f"cross-validated tau {chosen['cv_kendall_tau']:.3f}\n"
            f"on {recorded['num_test']:,} test prompts: tau {recorded['tau']:.3f} against the "
            f"published ranker's {recorded['target_tau']} "
            f"({verdict(recorded['tau'], recorded['target_tau'])}), prompt-length order "
            f"{recorded['prompt_length_tau']:.3f}; {recorded['ms']:.0f} ms per prompt here, "
            f"{recorded['flops_share']:.2%} of a 7B request's FLOPs")


def ceiling_text(rows: Sequence[dict], ceiling: dict, num_prompts: int) -> str:
    """`seqsch.lab.perception_tables.order_ceiling`'s table and its ceiling in one sentence."""
    return (f"{text_table(rows, ORDER_COLUMNS, f'order of the {num_prompts} greedy answers by')}\n"
            f"\nthe ceiling: the answer sampled at temperature {ceiling['temperature']}, tau "
            f"{ceiling['ceiling']:.2f}; the rank head reaches {ceiling['share']:.0%} of it from "
            f"the prompt alone (tau {ceiling['rank_head']:.2f})")


def curves_text(curves: dict[str, list[dict]], placed: Mapping[str, dict]) -> str:
    """The quality curves side by side, then the real predictors placed at their measured tau
    (`seqsch.lab.recorded_results.recorded_curves`)."""
    return (f"{text_table(curve_rows(curves), curve_columns(curves), 'noise drawn to')}\n\n"
            + text_table([{"label": name, **p} for name, p in placed.items()], PLACED_COLUMNS,
                         "real predictions (recorded test)"))


def best_learned(main: Mapping[str, dict]) -> tuple[dict, dict]:
    """The learned predictors' rows of lowest error against the longest of four (the length
    role) and of highest tau against the greedy answer at ORDER_CAP (the order role)."""
    length = main[min(LEARNED, key=lambda name: main[name]["error"])]
    order = main[max(LEARNED, key=lambda name: main[name]["tau_greedy_cap"])]
    return length, order


def takeaway_text(main: Mapping[str, dict], targets: dict, collapse: dict, recorded: dict,
                  ceiling: dict, half: Mapping[str, dict], placed: Mapping[str, dict]) -> str:
    """The takeaway's five numbered claims, each from the section that measured it: censoring
    (`targets`, `collapse`), the main table's roles (`main`), the recorded lengths
    (`recorded`), the ceiling (`ceiling`), and what a tau buys (`half`: the half-gain taus of
    `half_gain_taus`; `placed`: the real predictors on the quality curve)."""
    lora, constant, paper = main["lora"], main["constant"], main["paper"]
    length, order = best_learned(main)
    generate = collapse["generate"]
    ours, paper_curve = half[RECORDED_CURVE], half[PAPER_CURVE]
    head = placed["recorded head"]
    return "\n".join((
        f"1. Censoring: {targets['cap_share']:.0%} of the paper's tuning targets are the cap's "
        f"bucket; read greedily, the module answers >= {collapse['top']} tokens for "
        f"{collapse['share_top_generate']:.0%} of the validation prompts, with the constant's "
        f"error ({generate['error']:.0f} vs {constant['error']:.0f} tokens) and tau "
        f"{generate['kendall_tau']:.2f}.",
        f"2. Against the longest of 4, the {length['predictor']} predicts best: error "
        f"{length['error']:.0f} tokens, Acc-100 {length['acc100']:.0%} (the paper's module here: "
        f"{lora['error']:.0f}, {lora['acc100']:.0%}; on Vicuna-7B: {paper['error']:.0f}, "
        f"{paper['acc100']:.0%}), for {length['ms']:.0f} against {lora['ms']:.0f} ms per prompt. "
        f"Ordering the greedy answers at cap {ORDER_CAP}, the {order['predictor']} leads: tau "
        f"{order['tau_greedy_cap']:.2f}, order gain {order['order_gain_cap']:.2f}.",
        f"3. On ShareGPT's recorded lengths the frozen model's recorded head orders "
        f"{recorded['num_test']:,} test prompts at tau {recorded['tau']:.2f} (the published 125M "
        f"ranker: {recorded['target_tau']:.2f}; prompt-length order: "
        f"{recorded['prompt_length_tau']:.2f}), order gain {recorded['order_gain']:.2f}, "
        f"{recorded['ms']:.0f} ms per prompt.",
        f"4. On the embedded model's own lengths the ceiling is low: its answer sampled at "
        f"temperature {ceiling['temperature']} orders its greedy answers at tau "
        f"{ceiling['ceiling']:.2f}; the rank head's {ceiling['rank_head']:.2f} from the prompt "
        f"alone is {ceiling['share']:.0%} of it.",
        f"5. Half the oracle's gain needs tau {ours['continuous order']:.2f} in a continuous "
        f"order but {ours['static sort']:.2f} in a static sort on the recorded lengths "
        f"({paper_curve['continuous order']:.2f} and {paper_curve['static sort']:.2f} on the "
        f"paper's); the recorded head's real predictions keep {head['static_sort_share']:.0%} of "
        f"the static sort's gain and {head['vbs_fcr_share']:+.0%} with bins + VBS + FCR (FCR "
        f"recomputes {head['vbs_fcr_failure_ratio']:.0%} of the answers), but "
        f"{head['order_gain']:.2f} of a continuous order's.",
    ))
