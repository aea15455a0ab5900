"""Scores of a length source on the recorded-lengths workload, each named by its target.

Every metric here is scored against the recorded (reference) answer length of the
`sharegpt-recorded` workload (`seqsch.core.recorded`), and its key says so:

* `kendall_tau_vs_recorded`: agreement of the predicted order with the recorded lengths;
* `pair_accuracy_200_800`: on well-separated pairs (one answer under 200 tokens, one over 800),
  the share the predictor puts in the right order (a tie counts half): what separating the
  long tail needs;
* `order_gain_16_slots`: the share of the oracle's cut in mean completion time that serving
  shortest-predicted-first recovers in the 16-slot continuous replay
  (`seqsch.scheduling.priority.order_gain`);
* the paper's `error_vs_recorded`, `acc50_vs_recorded`, `acc100_vs_recorded` (tokens, shares);
* `flops_share_7b`: the predictor's share of a request's compute when it serves a 7B model.

    scores = score_recorded(predictions, recorded_lengths)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from seqsch.perception.evaluation import accuracy_within, kendall_tau, length_error
from seqsch.scheduling.priority import order_gain

SHORT_BELOW, LONG_ABOVE = 200, 800  # the well-separated pairs: under 200 against over 800
NUM_SLOTS = 16
SERVED_7B_PARAMS = 6.74e9  # Llama-2-7B / Vicuna-7B


def pair_accuracy(predicted: Sequence[float], true: Sequence[int],
                  short_below: int = SHORT_BELOW, long_above: int = LONG_ABOVE) -> float:
    """Share of (short, long) pairs (true length < short_below, > long_above) in which the
    short answer is predicted shorter; a tied prediction counts half."""
    if len(predicted) != len(true):
        raise ValueError(f"{len(predicted)} predictions for {len(true)} true lengths")
    shorts = sorted(p for p, t in zip(predicted, true) if t < short_below)
    longs = [p for p, t in zip(predicted, true) if t > long_above]
    if not shorts or not longs:
        raise ValueError(f"no pair of answers under {short_below} and over {long_above} tokens")
    num_right = sum(bisect_left(shorts, p) + 0.5 * (bisect_right(shorts, p) - bisect_left(
        shorts, p)) for p in longs)
    return num_right / (len(shorts) * len(longs))


def flops_share(predictor_flops: float, prompt_tokens: Sequence[int],
                output_tokens: Sequence[int], served_params: float = SERVED_7B_PARAMS) -> float:
    """The predictor's FLOPs over those of serving the same requests with a dense model of
    `served_params` (2 x params per prompt and output token; attention left out of both)."""
    served = 2 * served_params * (sum(prompt_tokens) + sum(output_tokens))
    return predictor_flops / served


def score_recorded(predicted: Sequence[float], true: Sequence[int],
                   num_slots: int = NUM_SLOTS) -> dict[str, float]:
    """Every order and length metric of `predicted` against the recorded lengths `true`."""
    return {
        "kendall_tau_vs_recorded": kendall_tau(predicted, true),
        "pair_accuracy_200_800": pair_accuracy(predicted, true),
        "order_gain_16_slots": order_gain(predicted, true, num_slots),
        "error_vs_recorded": length_error(predicted, true),
        "acc50_vs_recorded": accuracy_within(predicted, true, 50),
        "acc100_vs_recorded": accuracy_within(predicted, true, 100),
        "num_prompts": len(true),
    }
