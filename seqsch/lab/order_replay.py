"""Notebook 06's replay: what each shipped predictor's order is worth to a continuous batch.

Every shipped evaluation (`data/perception-eval-<name>.json`) holds a prediction per validation
prompt. Ordering the queue by those predictions and replaying it through a continuous batch's
slots on the step clock (`seqsch.scheduling.priority`) gives what the order is worth without a
model: its mean completion against first come's, the share of the oracle's cut it recovers
(the order gain) and its Kendall's tau. The oracle's row (the true lengths) comes first, as the
floor the others are read against:

    replay = predictor_replay(val_records, ["lora", "rank-head"], num_slots=16, cap=256)
    print(replay_text(replay))
    best = best_order(replay)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from seqsch.core.length_records import LengthRecord
from seqsch.core.paths import DATA_DIR
from seqsch.perception.evaluation import fill_missing, kendall_tau
from seqsch.scheduling.priority import mean_completion_steps, order_gain

ORACLE_LABEL = "oracle (true lengths)"


def replay_row(label: str, predicted: Sequence[float], true: Sequence[int], num_slots: int,
               predict_s: float = 0.0) -> dict:
    """One order's replay: mean completion over first come's (`relative`), `order_gain`,
    `kendall_tau` against the true lengths, and the prediction's cost (`predict_ms` a prompt)."""
    first_come = mean_completion_steps(true, None, num_slots)
    return {"label": label,
            "relative": mean_completion_steps(true, predicted, num_slots) / first_come,
            "order_gain": order_gain(predicted, true, num_slots),
            "kendall_tau": kendall_tau(predicted, true), "predict_ms": 1000 * predict_s}


def shipped_order(name: str, records: Sequence[LengthRecord],
                  data_dir: Path = DATA_DIR) -> tuple[list[float], float]:
    """(the predictions of perception-eval-<name>.json in the order of `records`, missing ones
    filled by `fill_missing`; its prediction seconds a prompt, 0 where unrecorded). A
    ValueError when the file lacks one of the records' prompts."""
    shipped = json.loads((data_dir / f"perception-eval-{name}.json").read_text())
    by_id = {p["id"]: p["pred"] for p in shipped["predictions"]}
    missing = [r.id for r in records if r.id not in by_id]
    if missing:
        raise ValueError(f"perception-eval-{name}.json lacks {len(missing)} validation prompts "
                         f"(e.g. {missing[:3]})")
    return fill_missing([by_id[r.id] for r in records]), shipped["summary"].get("predict_s", 0.0)


def predictor_replay(records: Sequence[LengthRecord], predictors: Sequence[str], num_slots: int,
                     cap: int, data_dir: Path = DATA_DIR) -> dict:
    """The replay of the records' greedy lengths censored at `cap` through `num_slots` slots,
    ordered by the oracle, then by each shipped predictor: {rows, num_prompts, num_at_cap,
    num_slots, cap}."""
    true = [min(r.greedy_length, cap) for r in records]
    rows = [replay_row(ORACLE_LABEL, true, true, num_slots)]
    for name in predictors:
        predicted, predict_s = shipped_order(name, records, data_dir)
        rows.append(replay_row(name, predicted, true, num_slots, predict_s))
    return {"rows": rows, "num_prompts": len(true), "num_at_cap": sum(t >= cap for t in true),
            "num_slots": num_slots, "cap": cap}


def replay_text(replay: dict) -> str:
    """The replay's setting, then one line per order."""
    lines = [f"{replay['num_prompts']} validation prompts, greedy lengths censored at "
             f"{replay['cap']} ({replay['num_at_cap']} at the cap), {replay['num_slots']} slots",
             f"{'order':>22}  {'done x first come':>17}  {'order gain':>10}  {'tau':>5}  "
             f"{'predict ms/prompt (CPU)':>23}"]
    lines += [f"{row['label']:>22}  {row['relative']:17.2f}  {row['order_gain']:10.2f}  "
              f"{row['kendall_tau']:5.2f}  {row['predict_ms']:23.1f}" for row in replay["rows"]]
    return "\n".join(lines)


def best_order(replay: dict) -> dict:
    """The predictor's row (not the oracle's) of the highest order gain."""
    return max(replay["rows"][1:], key=lambda row: row["order_gain"])


def replay_title(replay: dict) -> str:
    """The replay figure's conclusion: the oracle's cut and the best predictor's share of it."""
    oracle, best = replay["rows"][0], best_order(replay)
    return (f"Replay, {replay['num_prompts']} prompts x {replay['num_slots']} slots: the oracle's "
            f"order cuts mean completion to {oracle['relative']:.2f}x; {best['label']} recovers "
            f"{best['order_gain']:.0%} of it")


def replay_line(replay: dict) -> str:
    """The replay in the takeaway's words."""
    oracle, best = replay["rows"][0], best_order(replay)
    return (f"Replay ({replay['num_prompts']} prompts, {replay['num_slots']} slots): the oracle's "
            f"order cuts mean completion to {oracle['relative']:.2f}x first come's; the best "
            f"predictor, {best['label']}, recovers {best['order_gain']:.0%} of that cut")
