"""The paper's table on the recorded-lengths workload, with a real learned predictor.

The paper's learned rows came from its tuned module on Vicuna-7B's own answers. Here the rows
come from predictors of ShareGPT's recorded answer lengths (`seqsch.perception.recorded_*`),
scored once on the test split: each learned source's predictions are read from the committed
evaluation file, and the schedules the paper compares (vanilla, sorted by the prediction,
binned with VBS + FCR, the same two with the true lengths) are simulated with the analytic A100
model of Vicuna-7B, its fixed step cost calibrated on the paper's own measured vanilla row
(`seqsch.bench.paper_table.paper_cost_model`). Answers longer than the cap are cut there, as
the paper's cap cuts them. The predictor's compute, a small share of a 7B request's, is
reported beside its rows (`flops_share_7b` in the evaluation file), not added to them.

    python -m seqsch.bench recorded-table --eval data/perception-eval-recorded.json
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seqsch.bench.paper_table import PaperTableConfig, paper_cost_model
from seqsch.bench.replay import paper_workload
from seqsch.core.cli import positive_int
from seqsch.core.config_args import arg
from seqsch.core.paths import DEFAULT_RECORDED_EVAL
from seqsch.core.recorded import read_evaluation
from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.scheduler import SchedulerConfig
from seqsch.scheduling.simulate import simulate

DEFAULT_EVAL = DEFAULT_RECORDED_EVAL


@dataclass(frozen=True)
class RecordedTableConfig:
    """The schedules' settings (the paper's by default); `python -m seqsch.bench recorded-table`'s
    options."""

    batch_size: int = field(default=16, metadata=arg("rows per batch", type=positive_int))
    max_new_tokens: int = field(default=512, metadata=arg("answers' cap (longer ones are cut)",
                                                          type=positive_int))
    bin_size: int = field(default=50, metadata=arg("VBS bucket width in tokens",
                                                   type=positive_int))
    group_size: int | None = field(default=256, metadata=arg(
        "schedule consecutive groups of this many requests apart", type=positive_int))

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_new_tokens", "bin_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.group_size is not None and self.group_size < 1:
            raise ValueError(f"group_size must be >= 1 or None, got {self.group_size}")

    def scheduler(self, strategy: str, vbs_fcr: bool = False) -> SchedulerConfig:
        return SchedulerConfig(strategy, batch_size=self.batch_size,
                               max_new_tokens=self.max_new_tokens, bin_size=self.bin_size,
                               vbs=vbs_fcr, fcr=vbs_fcr, group_size=self.group_size)


def a100_cost_model() -> CostModel:
    """The analytic A100 model of Vicuna-7B, calibrated on the paper's measured vanilla row."""
    config = PaperTableConfig()
    return paper_cost_model(paper_workload(config.num_data), config)


def simulate_recorded_table(true_lengths: list[int], prompt_lengths: list[int],
                            learned: dict[str, list[float]], cost_model: CostModel,
                            config: RecordedTableConfig | None = None) -> list[dict]:
    """One row per schedule: vanilla, each learned source sorted and with VBS + FCR, then the
    oracle's two (the true lengths, cut at the cap, as predictions)."""
    config = config or RecordedTableConfig()
    if not true_lengths or len(prompt_lengths) != len(true_lengths):
        raise ValueError("need one prompt length per recorded length, and at least one")
    runs = [("vanilla", "vanilla", [None] * len(true_lengths), False)]
    for source, predicted in learned.items():
        if len(predicted) != len(true_lengths):
            raise ValueError(f"{source}: {len(predicted)} predictions for "
                             f"{len(true_lengths)} requests")
        runs += [(f"{source} sort", "sort", predicted, False),
                 (f"{source} + VBS + FCR", "bin", predicted, True)]
    oracle = [min(n, config.max_new_tokens) for n in true_lengths]
    runs += [("oracle + VBS + FCR", "bin", oracle, True), ("oracle sort", "sort", oracle, False)]
    rows, base = [], None
    for label, strategy, predicted, vbs_fcr in runs:
        summary = simulate(true_lengths, predicted, config.scheduler(strategy, vbs_fcr),
                           cost_model, prompt_lengths).summary
        base = base or summary["samples_per_s"]
        rows.append({"label": label, "samples_per_s": summary["samples_per_s"],
                     "x_vanilla": summary["samples_per_s"] / base,
                     "effective_token_ratio": summary["effective_token_ratio"],
                     "failure_ratio": summary["failure_ratio"]})
    return rows


def recorded_table(eval_path: str | Path = DEFAULT_EVAL, sources: tuple[str, ...] | None = None,
                   config: RecordedTableConfig | None = None) -> dict:
    """The simulated A100 table on the split an evaluation file scored (its predictions)."""
    evaluation, prompt_lengths = read_evaluation(eval_path)
    names = sources or tuple(evaluation["sources"])
    unknown = set(names) - set(evaluation["sources"])
    if unknown:
        raise ValueError(f"{eval_path} has no source {sorted(unknown)}; it has "
                         f"{sorted(evaluation['sources'])}")
    learned = {n: evaluation["sources"][n]["predictions"] for n in names}
    cost_model = a100_cost_model()
    rows = simulate_recorded_table(evaluation["recorded_lengths"], prompt_lengths, learned,
                                   cost_model, config)
    return {"split": evaluation["split"], "num_requests": len(prompt_lengths),
            "cost_model": cost_model.name, "rows": rows}
