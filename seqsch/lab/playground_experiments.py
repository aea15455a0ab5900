"""The playground's "Try this" experiments without a browser: one panel per choice, read back.

The playground tells the learner what to expect when they move its controls, then runs the same
experiments in a cell and prints the numbers; `tests/lab/test_playground.py` holds the panel to
those words. Both build each experiment with these functions, so the printed numbers and the
tested ones come from the same code:

- `scheduled`: a fresh `shipped_panel` on the given choices, and its scheduled summary;
- `share_in_top_bin`: how many predictions land in the bin that holds the cap (scheduling by
  them is then close to vanilla);
- `share_at_cap`: how many of a predictor's lengths sit at the cap (e.g. `oracle-max4`, the
  longest of four answers, the target the learned predictors were trained on);
- `fcr_line`, `vbs_line`, `paper_line`: the printed line of each of the three experiments.

    panel, summary = scheduled(predictor="lora", fcr=True)
    print(panel.speedup, summary["failure_ratio"], share_in_top_bin(panel, "lora"))
"""

from __future__ import annotations

from seqsch.lab.widgets import SchedulingPanel, shipped_panel
from seqsch.scheduling.scheduler import bucket_upper_bound


def scheduled(**choices) -> tuple[SchedulingPanel, dict]:
    """A panel on shipped data with `choices` (any `shipped_panel` argument) and the summary of
    its scheduled strategy (`failure_ratio`, `effective_token_ratio`, `samples_per_s`, ...)."""
    panel = shipped_panel(**choices)
    return panel, panel.summaries["scheduled"]


def share_in_top_bin(panel: SchedulingPanel, predictor: str) -> float:
    """Share of `predictor`'s predictions in the bin that holds the cap (or above it), at the
    panel's bin size: the requests a sort by these predictions cannot tell apart."""
    cap = panel.data.max_new_tokens
    predicted = panel.data.predicted(predictor)
    if not predicted:
        raise ValueError(f"{predictor} has no predictions on {panel.data.name}")
    return sum(bucket_upper_bound(x, panel.bin_size.value) >= cap for x in predicted) / len(
        predicted)


def share_at_cap(panel: SchedulingPanel, predictor: str = "oracle-max4") -> float:
    """Share of `predictor`'s lengths at the panel workload's cap or above: for `oracle-max4`,
    how often the target the learned predictors learned was censored by the cap."""
    predicted = panel.data.predicted(predictor)
    if not predicted:
        raise ValueError(f"{predictor} has no predictions on {panel.data.name}")
    return sum(x >= panel.data.max_new_tokens for x in predicted) / len(predicted)


def fcr_line(predictor: str) -> str:
    """Experiment 1 (SmolLM2's validation prompts, CPU model): FCR off -> on for `predictor`,
    in failures, ETR and speed-up, and its share of predictions in the top bin."""
    (p_off, off), (p_on, on) = scheduled(predictor=predictor), scheduled(predictor=predictor,
                                                                         fcr=True)
    return (f"   {predictor:18s} failure ratio {off['failure_ratio']:.0%} -> "
            f"{on['failure_ratio']:.0%}, ETR {off['effective_token_ratio']:.1%} -> "
            f"{on['effective_token_ratio']:.1%}, speed-up {p_off.speedup:.2f}x -> "
            f"{p_on.speedup:.2f}x; {share_in_top_bin(p_on, predictor):.0%} of predictions in the "
            "top bin")


def vbs_line(cost_model: str) -> str:
    """Experiment 2 (the oracle, batch 16): the speed-up without and with VBS on `cost_model`,
    VBS's biggest batch, and whether the panel warns of extrapolation."""
    plain, (vbs, _) = scheduled(cost_model=cost_model)[0], scheduled(cost_model=cost_model,
                                                                     vbs=True)
    return (f"   {cost_model:20s} {plain.speedup:.2f}x / {vbs.speedup:.2f}x, biggest batch "
            f"{vbs.biggest_batch} rows, warning: {vbs.warning.value != ''}")


def paper_line(predictor: str) -> str:
    """Experiment 3 (the paper's workload, A100 model, groups of 256): the speed-up with VBS +
    FCR and with neither for `predictor`, and FCR's failures."""
    paper = {"workload": "paper-vicuna", "cost_model": "a100-80gb-vicuna7b", "group_size": 256,
             "predictor": predictor}
    (both, summary), (neither, _) = scheduled(vbs=True, fcr=True, **paper), scheduled(**paper)
    return (f"   {predictor:16s} {both.speedup:.2f}x / {neither.speedup:.2f}x; failures "
            f"{summary['failure_ratio']:.1%}")
