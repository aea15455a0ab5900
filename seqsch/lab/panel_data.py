"""What the scheduling panel can be set to: workloads, their predictors and cost models.

A workload is a list of true answer lengths (greedy, at the workload's cap) and, per predictor,
one predicted length per request. Two are shipped:

* ``smollm2-val``: the embedded SmolLM2-135M on the 200 ShareGPT validation prompts of
  data/lengths-smollm2-sharegpt.jsonl, paired by prompt id with every shipped predictor's
  validation predictions (data/perception-eval-*.json);
* ``paper-vicuna``: Vicuna-7B on the paper's 1,024-prompt sample of
  data/paper/alpaca-val-10k-length.json (`seqsch.bench.replay`), with the stand-in for the
  paper's module (its weights are not published, so no learned predictor of ours applies).

Nothing here imports torch: the panel stays a pure simulator. Example::

    from seqsch.lab.panel_data import load_workload, calibration_note
    workload = load_workload("smollm2-val")
    workload.predicted("lora")[:3], workload.true_lengths[:3]   # menu: predictor_labels()
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from seqsch.bench.replay import (
    PAPER_MAX_NEW_TOKENS,
    PAPER_NUM_DATA,
    PAPER_PROMPT_TOKENS,
    PAPER_SEED,
    PAPER_VAL_LENGTHS,
    paper_sample,
    standin_predictions,
)
from seqsch.core.length_records import LengthRecord, read_length_file
from seqsch.core.paths import DATA_DIR, portable
from seqsch.core.sources import SOURCES, evaluation_files
from seqsch.perception.evaluation import fill_missing
from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.simulate import predict_lengths

SMOLLM2_LENGTHS = DATA_DIR / "lengths-smollm2-sharegpt.jsonl"
WORKLOADS = {
    "smollm2-val": "SmolLM2-135M, 200 ShareGPT validation prompts",
    "paper-vicuna": "Vicuna-7B, the paper's 1,024 Alpaca validation prompts",
}
# The panel's own predictors: the truth and ways to blur it (the length sources, and their
# labels, come from the registry, seqsch.core.sources).
PANEL_PREDICTORS = {
    "oracle": "the true (greedy) length: a perfect predictor",
    "given": "the predictions given to custom_workload",
    "oracle-max4": "longest of the 4 sampled answers (the paper's gt)",
    "noisy-max4": "oracle-max4 blurred by Gaussian noise",
}
# Evaluations beside a source's own file: another decoding, a retired head, the train mean.
EVAL_VARIANTS = {
    "lora-generate": ("perception-eval-lora-generate.json",
                      "LoRA length module (generated number)"),
    "priority-head-l4": ("perception-eval-priority-head-l4.json",
                         "layer-4 priority head (retired: trained censored at 256)"),
}
CONSTANTS = {"constant": "constant: median of the training prompts' longest answers",
             "constant-mean": "constant: mean of the training prompts' longest answers"}


def predictor_labels() -> dict[str, str]:
    """Every predictor the panel knows, in menu order: {name: what it is}."""
    labels = dict(PANEL_PREDICTORS)
    labels.update({name: row.label for name, row in SOURCES.items()
                   if name not in ("vanilla", "oracle", "constant")})
    labels.update({name: label for name, (_, label) in EVAL_VARIANTS.items()})
    return {**labels, **CONSTANTS}


def perception_evals(lengths=SMOLLM2_LENGTHS) -> dict[str, object]:
    """{predictor: evaluation file} of every source scored on the prompts of `lengths` (the
    registry's evaluation files that name it), and the variants of EVAL_VARIANTS."""
    found = {name: path for name, path in evaluation_files(lengths).items()
             if name not in CONSTANTS}
    for name, (file, _) in EVAL_VARIANTS.items():
        path = DATA_DIR / file
        if path.is_file() and json.loads(path.read_text(encoding="utf-8")).get(
                "lengths") == portable(lengths):
            found[name] = path
    return {name: path for name, path in found.items()
            if json.loads(path.read_text(encoding="utf-8")).get("predictions")}


COST_MODELS = {
    "cpu-smollm2-135m": "fitted: SmolLM2-135M on 2 CPU cores",
    "a100-80gb-vicuna7b": "analytic: Vicuna-7B on an A100 80GB",
    "h100-vicuna7b": "analytic: Vicuna-7B on an H100",
}


def check_choice(kind: str, value: str, allowed) -> str:
    """`value` if it is one of `allowed`, else a ValueError listing the choices."""
    if value not in allowed:
        raise ValueError(f"unknown {kind} {value!r}; choose one of {', '.join(allowed)}")
    return value


@dataclass
class Workload:
    name: str
    records: list[LengthRecord]  # the requests, in arrival order
    max_new_tokens: int
    prompt_lengths: list[int]
    fixed: dict[str, list[int]]  # predictor -> one prediction per request (not noisy-max4)
    notes: dict[str, str] = field(default_factory=dict)  # predictor -> what to know about it

    @property
    def true_lengths(self) -> list[int]:
        return [max(1, r.greedy_length) for r in self.records]

    @property
    def predictors(self) -> list[str]:
        """The predictors this workload has predictions for, in `predictor_labels` order."""
        return [p for p in predictor_labels() if p in self.fixed or p == "noisy-max4"]

    def predicted(self, predictor: str, noise_std: float = 60.0, seed: int = 0) -> list[int]:
        """One predicted length per request; a clear error for a predictor it lacks."""
        check_choice("predictor", predictor, predictor_labels())
        if predictor == "noisy-max4":
            return predict_lengths(self.records, "noisy-max4", noise_std=noise_std, seed=seed)
        if predictor not in self.fixed:
            raise ValueError(f"predictor {predictor!r} has no predictions for workload "
                             f"{self.name!r}; choose one of {', '.join(self.predictors)}")
        return self.fixed[predictor]


def _constants(train: list[LengthRecord], where: str) -> tuple[dict, dict]:
    targets = [r.max_length for r in train]
    median, mean = round(statistics.median(targets)), round(statistics.fmean(targets))
    fixed = {"constant": median, "constant-mean": mean}
    notes = {name: f"{value} tokens for every prompt ({where})" for name, value in fixed.items()}
    return fixed, notes


def _perception_predictions(path, records: list[LengthRecord]) -> tuple[list[int], str]:
    """A perception-eval file's predictions in `records` order (paired by prompt id)."""
    items = {p["id"]: p for p in json.loads(path.read_text(encoding="utf-8"))["predictions"]}
    missing = [r.id for r in records if r.id not in items]
    if missing:
        raise ValueError(f"{path.name}: no prediction for {len(missing)} validation prompts "
                         f"(first {missing[0]!r}); was it evaluated on another length file?")
    for r in records:
        if items[r.id]["max_length"] != r.max_length:
            raise ValueError(f"{path.name}: prompt {r.id!r} has target {items[r.id]['max_length']}"
                             f" but the length file says {r.max_length}: files out of step")
    raw = [items[r.id]["pred"] for r in records]
    num_missing = sum(p is None for p in raw)
    note = (f"{num_missing} of {len(raw)} answers held no number: filled with the mean of the "
            f"others, as the evaluation scores them" if num_missing else "")
    return fill_missing(raw), note


def _first(records: list[LengthRecord], num: int | None) -> list[LengthRecord]:
    if num is not None and num > len(records):
        raise ValueError(f"num_requests={num}, but the workload has {len(records)} requests")
    return records[:num]


def _smollm2_val(num_requests: int | None) -> Workload:
    records = read_length_file(SMOLLM2_LENGTHS)
    val = _first([r for r in records if r.split == "val"], num_requests)
    fixed = {"oracle": [max(1, r.greedy_length) for r in val],
             "oracle-max4": [r.max_length for r in val]}
    constants, notes = _constants([r for r in records if r.split == "train"],
                                  "the 800 training prompts")
    fixed.update({name: [value] * len(val) for name, value in constants.items()})
    for name, path in perception_evals().items():
        fixed[name], note = _perception_predictions(path, val)
        if note:
            notes[name] = note
    caps = {r.max_new_tokens for r in val}
    if len(caps) != 1 or None in caps:
        raise ValueError(f"{SMOLLM2_LENGTHS}: validation prompts need one cap, found {caps}")
    return Workload("smollm2-val", val, caps.pop(), [r.num_prompt_tokens or 0 for r in val],
                    fixed, notes)


def _paper_vicuna(num_requests: int | None) -> Workload:
    records = read_length_file(PAPER_VAL_LENGTHS)
    sample = paper_sample(records, PAPER_NUM_DATA, PAPER_SEED)  # as paper_workload draws it
    oracle = [r.max_length for r in sample]
    standin = standin_predictions(oracle)  # drawn over the whole sample, as paper_workload
    in_sample = {r.id for r in sample}
    constants, notes = _constants([r for r in records if r.id not in in_sample],
                                  f"the {len(records) - len(sample):,} prompts outside the sample")
    sample = _first(sample, num_requests)
    n = len(sample)
    fixed = {"oracle": [max(1, r.greedy_length) for r in sample], "oracle-max4": oracle[:n],
             "standin": standin[:n]}
    fixed.update({name: [value] * n for name, value in constants.items()})
    notes["standin"] = "drawn to the paper module's error and Acc-50/100, not a predictor"
    return Workload("paper-vicuna", sample, PAPER_MAX_NEW_TOKENS, [PAPER_PROMPT_TOKENS] * n,
                    fixed, notes)


def custom_workload(true_lengths: Sequence[int], predicted_lengths: Sequence[float],
                    max_new_tokens: int = 512, prompt_lengths: Sequence[int] | None = None,
                    name: str = "custom") -> Workload:
    """Your own lengths as a workload: predictors "oracle" (the true lengths), "given" (yours)
    and "noisy-max4" (the true lengths blurred)."""
    if len(true_lengths) != len(predicted_lengths) or not true_lengths:
        raise ValueError(f"need one prediction per request: {len(true_lengths)} true lengths, "
                         f"{len(predicted_lengths)} predictions")
    records = [LengthRecord(str(i), {0.0: int(t)}, {0.0: t >= max_new_tokens})
               for i, t in enumerate(true_lengths)]
    fixed = {"oracle": [max(1, int(t)) for t in true_lengths], "given": list(predicted_lengths)}
    return Workload(name, records, max_new_tokens,
                    list(prompt_lengths) if prompt_lengths else [0] * len(records), fixed)


@lru_cache(maxsize=8)
def load_workload(name: str, num_requests: int | None = None) -> Workload:
    """A shipped workload (the first `num_requests` of it), read once per process."""
    check_choice("workload", name, WORKLOADS)
    if num_requests is not None and num_requests < 1:
        raise ValueError(f"num_requests must be positive or None, got {num_requests}")
    return _smollm2_val(num_requests) if name == "smollm2-val" else _paper_vicuna(num_requests)


_BATCH_SIZES = re.compile(r"batch sizes ((?:\d+\s*[/,-]\s*)+\d+)")


def calibrated_batch_sizes(model: CostModel) -> tuple[int, int] | None:
    """Smallest and largest batch a fitted model was timed at, as its `source` records them
    ("... fitted from batch sizes 8/32/64 ..."); None for an analytic model or none recorded."""
    match = _BATCH_SIZES.search(model.source)
    if model.source.startswith("analytic") or not match:
        return None
    sizes = [int(s) for s in re.split(r"[/,-]", match.group(1))]
    return min(sizes), max(sizes)


def calibration_note(model: CostModel, biggest_batch: int) -> tuple[str, str]:
    """(what the model is, a warning or "") for a schedule whose biggest batch has
    `biggest_batch` rows."""
    if model.source.startswith("analytic"):
        return (f"{model.name}: analytic memory-bandwidth model of {model.device}, not timed; "
                f"every batch size is its estimate", "")
    sizes = calibrated_batch_sizes(model)
    if sizes is None:
        return (f"{model.name}: fitted model, calibration range not recorded",
                f"{model.name} does not record the batch sizes it was fitted on: treat "
                f"its times as extrapolated")
    low, high = sizes
    info = f"{model.name}: fitted on batches of {low}-{high} rows ({model.device})"
    if biggest_batch > high:
        return info, (f"Extrapolation: the biggest batch here has {biggest_batch} rows, past the "
                      f"{high} rows {model.name} was calibrated on; its times are a guess")
    return info, ""
