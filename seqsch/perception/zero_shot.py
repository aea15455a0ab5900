"""Zero-shot length answers scored like with like: beside a constant guess on the same answers,
and with only the accuracies that the cap leaves informative.

A capped answer has 1 to `cap` tokens, so a constant guess of the middle is within
(cap - 1) / 2 tokens of every answer: Acc-t with t >= (cap - 1) / 2 is then 100% for a guess
that knows nothing about the prompt (at a cap of 96 tokens, Acc-50 and Acc-100 both; at the
paper's 512, neither). The error is compared with a constant guess's on the same answers (the
median answer length, known in hindsight: the best any constant can do), not with a number
measured on another model's answers at another cap.

    scores = score_with_constant({"query": predictions}, actual_lengths)
    informative_accuracies(96)   # []: a constant guess scores 100% on both at this cap
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from seqsch.perception.evaluation import evaluate_predictions

ACCURACIES = {"acc50": 50, "acc100": 100}  # the paper's accuracies: metric -> tolerance
LABELS = {"acc50": "Acc-50", "acc100": "Acc-100"}  # as the paper writes them
CONSTANT = "constant"  # the name of the constant guess in `score_with_constant`


def trivial_tolerance(max_new_tokens: int) -> float:
    """Within this many tokens of every answer capped at `max_new_tokens` lies a constant
    guess of the middle: an accuracy with this tolerance or more says nothing at that cap."""
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    return (max_new_tokens - 1) / 2


def informative_accuracies(max_new_tokens: int) -> list[str]:
    """The accuracies of ACCURACIES that a constant guess cannot reach 100% on at this cap."""
    return [name for name, tolerance in ACCURACIES.items()
            if tolerance < trivial_tolerance(max_new_tokens)]


def accuracy_note(max_new_tokens: int) -> str:
    """One sentence: which accuracies this cap leaves informative, and why the others are not."""
    trivial = [name for name in ACCURACIES if name not in informative_accuracies(max_new_tokens)]
    if not trivial:
        return f"At a cap of {max_new_tokens} tokens every accuracy is informative."
    middle = (max_new_tokens + 1) // 2
    return (f"At a cap of {max_new_tokens} tokens a constant guess of {middle} is within "
            f"{trivial_tolerance(max_new_tokens):.0f} tokens of every answer, so it would score "
            f"100% on {' and '.join(LABELS[name] for name in trivial)}: "
            f"{'they are' if len(trivial) > 1 else 'it is'} not reported at this cap.")


def hindsight_constant(actual: Sequence[int]) -> int:
    """The median answer length: the constant with the least mean error on these answers."""
    if not actual:
        raise ValueError("need at least one answer length")
    return round(statistics.median(actual))


def score_with_constant(predictions: Mapping[str, Sequence[int | None]],
                        actual: Sequence[int]) -> dict[str, dict]:
    """`evaluate_predictions` of each set of predictions, and of the hindsight constant (under
    CONSTANT) on the same answers: {name: metrics}."""
    scores = {name: evaluate_predictions(list(predicted), list(actual))
              for name, predicted in predictions.items()}
    scores[CONSTANT] = evaluate_predictions([hindsight_constant(actual)] * len(actual), actual)
    return scores
