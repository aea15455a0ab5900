"""Simulate scheduled batch inference from known response lengths, without a model.

Given each request's true output length (generated with the full cap) and a predicted
length, the simulator builds the schedule, counts the steps every batch runs, the FCR
failures and recomputations, and prices the batches with a cost model. Run::

    python -m seqsch.scheduling --lengths data/paper/alpaca-val-10k-length.json \
        --num-data 1024 --strategies vanilla sort bin --vbs --fcr

The last line of output is a one-line JSON summary. `SimulationConfig` holds that command
line's settings (its fields are the options).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from seqsch.core.cli import non_negative_int, positive_int
from seqsch.core.config_args import arg
from seqsch.core.length_records import PAPER_SAMPLE_SIZE, LengthRecord
from seqsch.core.paper import PAPER_ROWS
from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.metrics import BatchStats, summarize
from seqsch.scheduling.scheduler import (
    STRATEGIES,
    Batch,
    SchedulerConfig,
    recompute_batches,
    schedule_groups,
)

# Measured by the paper (Vicuna-7B, one A100, 1,024 Alpaca val prompts, batch 16, max 512),
# under the CLI's labels: reference values for its output, not inputs of the simulation.
PAPER_TABLE: dict[str, dict[str, float]] = {
    "vanilla": PAPER_ROWS["vanilla"], "scheduled (VBS+FCR)": PAPER_ROWS["standin+vbs+fcr"],
    "oracle": PAPER_ROWS["oracle+vbs+fcr"]}

SIMULATED_PREDICTORS = ("oracle-max4", "oracle-greedy", "noisy-max4")


@dataclass
class SimulationConfig:
    """A simulation of a length file: `python -m seqsch.scheduling`'s options. Each strategy is
    simulated with the same scheduler settings (`scheduler`): VBS applies to "bin" only, FCR to
    the strategies with predictions."""

    lengths: Path = field(metadata=arg("length file, paper JSON or JSONL"))
    strategies: tuple[str, ...] = field(default=("vanilla", "sort", "bin"), metadata=arg(
        "the schedules simulated (seqsch.scheduling.scheduler)", choices=sorted(STRATEGIES)))
    predictor: str = field(default="oracle-max4", metadata=arg(
        "the predicted lengths: the longest sampled answer (the paper's gt), the greedy "
        "answer, or the longest plus Gaussian noise", choices=SIMULATED_PREDICTORS))
    noise_std: float = field(default=60.0, metadata=arg("tokens, for noisy-max4"))
    seed: int = field(default=0, metadata=arg("noisy-max4's seed"))
    vbs: bool = field(default=False, metadata=arg("variable batch size (bin only)"))
    fcr: bool = field(default=False, metadata=arg("failure collection (sort, bin)"))
    batch_size: int = field(default=SchedulerConfig.batch_size, metadata=arg(
        "rows per batch", type=positive_int))
    num_data: int | None = field(default=None, metadata=arg("first N prompts",
                                                            type=positive_int))
    max_new_tokens: int = field(default=SchedulerConfig.max_new_tokens, metadata=arg(
        "answers' cap", type=positive_int))
    bin_size: int = field(default=SchedulerConfig.bin_size, metadata=arg(
        "bucket width in tokens", type=positive_int))
    group_size: int | None = field(default=None, metadata=arg(
        "schedule consecutive groups of this many prompts apart, each group's failures "
        "recomputed before the next (the paper: 256)", type=positive_int))
    vbs_token_budget: int | None = field(default=None, metadata=arg(
        "VBS: a bucket's batch size is this budget // its upper bound (default: the paper's "
        "table)", type=positive_int))
    max_vbs_batch_size: int = field(default=SchedulerConfig.max_vbs_batch_size, metadata=arg(
        "VBS: the largest batch a token budget gives", type=positive_int))
    paper_sample: bool = field(default=False, metadata=arg(
        f"first draw the paper's {PAPER_SAMPLE_SIZE:,}-prompt benchmark sample (seed 42; "
        "--num-data then takes its first N)"))
    cost_model: str | None = field(default=None, metadata=arg(
        "name or JSON path; paper files default to a100-80gb-vicuna7b-hf"))
    prompt_tokens: int = field(default=0, metadata=arg(
        "each prompt's length where the file has none", type=non_negative_int))
    split: str | None = field(default=None, metadata=arg("keep records of this split"))

    def __post_init__(self) -> None:
        self.lengths, self.strategies = Path(self.lengths), tuple(self.strategies)
        if not self.strategies:
            raise ValueError("strategies must name at least one strategy")
        if self.predictor not in SIMULATED_PREDICTORS:
            raise ValueError(f"unknown predictor {self.predictor!r}; choose one of "
                             f"{', '.join(SIMULATED_PREDICTORS)}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")
        if self.num_data is not None and self.num_data < 1:
            raise ValueError(f"num_data must be >= 1 or None, got {self.num_data}")
        if self.prompt_tokens < 0:
            raise ValueError(f"prompt_tokens must be >= 0, got {self.prompt_tokens}")
        for strategy in self.strategies:
            self.scheduler(strategy)  # a bad strategy, size or cap: its ValueError

    def scheduler(self, strategy: str) -> SchedulerConfig:
        """The scheduler of one strategy (VBS for "bin" only, FCR where there are predictions)."""
        return SchedulerConfig(strategy, batch_size=self.batch_size,
                               max_new_tokens=self.max_new_tokens, bin_size=self.bin_size,
                               vbs=self.vbs and strategy == "bin",
                               fcr=self.fcr and strategy != "vanilla",
                               vbs_token_budget=self.vbs_token_budget,
                               max_vbs_batch_size=self.max_vbs_batch_size,
                               group_size=self.group_size)


@dataclass
class SimResult:
    plan: list[Batch]  # scheduled batches, then recompute batches
    batches: list[BatchStats]  # one per entry of plan
    summary: dict  # metrics.summarize keys
    num_steps_total: int
    failed_indices: list[int]
    completion_s: list[float] | None  # per request, when a cost model is given


def simulate(
    true_lengths: Sequence[int],
    predicted_lengths: Sequence[float | None],
    config: SchedulerConfig,
    cost_model: CostModel | None = None,
    prompt_lengths: Sequence[int] | None = None,
    prediction_s: float = 0.0,
) -> SimResult:
    """Run the schedule on known lengths; a true length >= max_new_tokens is a capped answer."""
    num_requests = len(true_lengths)
    if num_requests == 0 or len(predicted_lengths) != num_requests:
        raise ValueError(
            f"need one predicted length per request: {num_requests} true lengths, "
            f"{len(predicted_lengths)} predictions"
        )
    if prompt_lengths is not None and len(prompt_lengths) != num_requests:
        raise ValueError("prompt_lengths must have one entry per request")
    if min(true_lengths) < 1:
        raise ValueError("true lengths count the EOS token, so each must be >= 1")
    produced = [min(length, config.max_new_tokens) for length in true_lengths]
    elapsed_s = prediction_s
    completion_s = [0.0] * num_requests
    plan, stats, failed = [], [], []

    def run(batch: Batch) -> None:
        nonlocal elapsed_s
        cap = batch.max_new_tokens
        lengths = [produced[i] for i in batch.indices]
        num_steps = min(cap, max(lengths))
        failed_here = [i for i, length in zip(batch.indices, lengths, strict=True) if length > cap]
        if cost_model is not None:
            prompt_len = max(prompt_lengths[i] for i in batch.indices) if prompt_lengths else 0
            elapsed_s += cost_model.batch_time_s(len(lengths), num_steps, prompt_len)
            for i in batch.indices:
                completion_s[i] = elapsed_s
        failed.extend(failed_here)
        stats.append(
            BatchStats(
                num_rows=len(lengths),
                num_steps=num_steps,
                num_output_tokens=sum(length for length in lengths if length <= cap),
                num_failed=len(failed_here),
                is_recompute=batch.is_recompute,
            )
        )

    for group in schedule_groups(predicted_lengths, config):
        num_failed_before = len(failed)
        for batch in group:
            run(batch)
        group_failed = failed[num_failed_before:]
        recompute = recompute_batches(group_failed, config) if group_failed else []
        for batch in recompute:
            run(batch)
        if len(failed) != num_failed_before + len(group_failed):
            raise RuntimeError("a recompute batch failed although it runs with the full cap")
        plan += group + recompute
    has_time = cost_model is not None
    return SimResult(
        plan=plan,
        batches=stats,
        summary=summarize(stats, num_requests, elapsed_s if has_time else None),
        num_steps_total=sum(s.num_steps for s in stats),
        failed_indices=failed,
        completion_s=completion_s if has_time else None,
    )


def calibrate_fixed_cost(
    cost_model: CostModel,
    true_lengths: Sequence[int],
    config: SchedulerConfig,
    target_samples_per_s: float,
    prompt_lengths: Sequence[int] | None = None,
    predicted_lengths: Sequence[float | None] | None = None,
) -> CostModel:
    """`cost_model` with the fixed cost of a step (and of a prefill) set so that simulating this
    schedule gives `target_samples_per_s`: e.g. an analytic GPU model calibrated on a measured
    vanilla row. The run's time is linear in the fixed cost, so two simulations solve it."""
    predicted = predicted_lengths or [None] * len(true_lengths)

    def wall_s(fixed_s: float) -> float:
        model = replace(cost_model, step_fixed_s=fixed_s, prefill_fixed_s=fixed_s)
        return simulate(true_lengths, predicted, config, model, prompt_lengths).summary["wall_s"]

    at_zero, slope = wall_s(0.0), wall_s(1.0) - wall_s(0.0)
    fixed_s = (len(true_lengths) / target_samples_per_s - at_zero) / slope
    if fixed_s < 0:
        raise ValueError(f"{target_samples_per_s} samples/s is faster than this cost model allows "
                         f"with no fixed cost at all: calibrate another model")
    return replace(cost_model, name=f"{cost_model.name}-calibrated", step_fixed_s=fixed_s,
                   prefill_fixed_s=fixed_s,
                   source=f"{cost_model.source}; fixed cost per step calibrated to "
                          f"{target_samples_per_s} samples/s on {len(true_lengths)} prompts")


def predict_lengths(
    records: Sequence[LengthRecord], predictor: str, noise_std: float = 60.0, seed: int = 0
) -> list[int]:
    """oracle-max4: the longest of the sampled answers (the paper's gt); oracle-greedy: the
    greedy answer's length; noisy-max4: oracle-max4 + N(0, std)."""
    if predictor == "oracle-max4":
        return [r.max_length for r in records]
    if predictor == "oracle-greedy":
        return [r.greedy_length for r in records]
    if predictor == "noisy-max4":
        rng = random.Random(seed)
        return [max(0, round(r.max_length + rng.gauss(0.0, noise_std))) for r in records]
    raise ValueError(f"unknown predictor {predictor!r}; choose one of "
                     f"{', '.join(SIMULATED_PREDICTORS)}")
