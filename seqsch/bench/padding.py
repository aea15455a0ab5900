"""Padding waste in static batches against batch size, and what a decoding step costs per row.

Notebook 04's measurements, each put beside a committed one by a verdict:

- `static_etr`, `batches_at_cap`: the effective token ratio (answer tokens over rows x steps)
  of consecutive static batches, and the share of them whose longest answer reaches the cap,
  from known lengths. Both are exact: ETR counts tokens and row-steps, never time, so a
  committed run's lengths give its ETR at any batch size;
- `replay_vanilla`: trace replay (`seqsch.bench.replay`) of vanilla batching at several batch
  sizes, every answer forced to the paper's Vicuna-7B length, one sweep per size;
- `measure_step_costs`: decoding-step seconds against the rows of a batch, on prompts of one
  length (so that the rows change, not the padding), each size timed in interleaved rounds
  and kept at its fastest step (a shared machine's load only ever adds time);
- `fit_step_curve`, `model_steps`: the simulator's linear cost model through those steps, and any
  cost model's steps at the same batch sizes;
- `step_ratio`, `ratio_table`, `batch_throughput_ratio`: a step of more rows over one of fewer,
  and what it makes of a bigger batch's throughput (`seqsch.core.verdicts` puts each beside the
  committed one).

    waste = replay_vanilla([4, 16, 64], "random:tiny", 256, 512, BUILD_DIR / "notebooks")
    costs = measure_step_costs(model, [1, 8, 16, 64], len(tokenizer))
    step_ratio(costs.curve, 8, 16)
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from seqsch.bench.calibration import calibration_records
from seqsch.bench.live_slice import torch_threads
from seqsch.bench.replay import PAPER_VAL_LENGTHS, synthetic_prompts
from seqsch.bench.runner import run_sweep
from seqsch.bench.specs import SweepConfig
from seqsch.core.length_records import paper_sample, read_length_file
from seqsch.scheduling.cost_model import CostModel, fit_cost_model

# (fewer rows, more rows): the doubling the paper's batch of 16 makes over 8, a VBS bin of 64,
# and the VBS table's largest batch (256 rows for answers under 50 tokens)
ROW_PAIRS = ((8, 16), (16, 64), (16, 256))


def _batches(lengths: Sequence[int], batch_size: int) -> list[Sequence[int]]:
    if batch_size < 1 or not lengths:
        raise ValueError(f"need lengths and batch_size >= 1, got {len(lengths)} lengths, "
                         f"batch_size={batch_size}")
    return [lengths[i:i + batch_size] for i in range(0, len(lengths), batch_size)]


def static_etr(lengths: Sequence[int], batch_size: int) -> float:
    """ETR of consecutive static batches of `batch_size` (dataset order, the paper's vanilla):
    each batch runs as many steps as its longest answer, every row holding its slot."""
    batches = _batches(lengths, batch_size)
    return sum(map(sum, batches)) / sum(len(b) * max(b) for b in batches)


def batches_at_cap(lengths: Sequence[int], batch_size: int, max_new_tokens: int) -> float:
    """Share of consecutive static batches whose longest answer reaches the cap: such a batch
    runs the cap's steps whatever its other answers are."""
    batches = _batches(lengths, batch_size)
    return sum(max(b) >= max_new_tokens for b in batches) / len(batches)


def etr_by_batch_size(lengths: Sequence[int], batch_sizes: Sequence[int]) -> dict[int, float]:
    return {b: static_etr(lengths, b) for b in batch_sizes}


def sorted_etr(lengths: Sequence[int], batch_size: int) -> float:
    """ETR when the batches are formed by the true length (what a perfect predictor's sort
    gives, the scheduler's `sort` strategy fed the true lengths)."""
    return static_etr(sorted(lengths), batch_size)


def scale_workloads(lengths_path: Path, num_data: int, seed: int = 0,
                    paper_path: Path = PAPER_VAL_LENGTHS) -> dict[str, tuple[list[int], int]]:
    """{name: (greedy lengths, cap)} of two shipped length files at scale: SmolLM2-135M on
    ShareGPT (`lengths_path`, resampled with replacement to `num_data`) and the paper's
    Vicuna-7B on Alpaca (its benchmark's seeded sample, up to `num_data`)."""
    records = read_length_file(lengths_path)
    rng = random.Random(seed)
    smol = [rng.choice(records).greedy_length for _ in range(num_data)]
    paper = read_length_file(paper_path)
    vicuna = [max(1, r.greedy_length) for r in paper_sample(paper, min(num_data, len(paper)))]
    return {"SmolLM2-135M, ShareGPT": (smol, records[0].max_new_tokens or 512),
            "Vicuna-7B, Alpaca": (vicuna, paper[0].max_new_tokens or 512)}


def replay_vanilla(batch_sizes: Sequence[int], model: str, num_data: int, max_new_tokens: int,
                   out_dir: Path, seed: int = 0, device: str = "auto",
                   num_threads: int | None = 1) -> dict[int, dict]:
    """Vanilla static batching of the paper's first `num_data` sampled prompts, replayed at each
    batch size on `model` (e.g. `random:tiny`): {batch size: the sweep's record}. Each size is
    a fresh measurement, its file under `out_dir` replaced. On `num_threads` CPU threads, as a
    live slice runs (`seqsch.bench.live_slice.run_live_slice` says why)."""
    records = {}
    for batch_size in batch_sizes:
        out = Path(out_dir) / (f"04_trace_{model.replace(':', '-')}_{num_data}x"
                               f"{max_new_tokens}_b{batch_size}.jsonl")
        out.unlink(missing_ok=True)
        config = SweepConfig(replay="paper-val", model=model, specs=("vanilla",),
                             num_data=num_data, max_new_tokens=max_new_tokens,
                             batch_size=batch_size, device=device, seed=seed, out=out, quiet=True)
        with contextlib.redirect_stdout(io.StringIO()), torch_threads(num_threads):
            records[batch_size] = run_sweep(config)[-1]["vanilla"]  # quiet: no "== vanilla =="
    return records


@dataclass
class StepCosts:
    """Step timings against the rows of a batch."""

    curve: dict[int, float]  # rows -> seconds of one decoding step (the fastest timed)
    context: float  # median tokens in the KV cache during the timed steps
    steps: list[tuple[int, int, float]]  # (rows, context, seconds): for `fit_from_runs`
    prefills: list[tuple[int, int, float]]  # (rows, prompt width, seconds)


def measure_step_costs(model, rows: Sequence[int], vocab_size: int, prompt_tokens: int = 16,
                       num_steps: int = 6, rounds: int = 3, seed: int = 0) -> StepCosts:
    """Seconds of one decoding step at each batch size in `rows`, on seeded random prompts of
    `prompt_tokens` tokens (short: cheap prefills). The sizes are timed in turn, `rounds`
    times, `num_steps` - 1 steps each; each size keeps its fastest step, since a shared
    machine's load only ever adds time to a step."""
    if not rows or min(rows) < 1 or rounds < 1:
        raise ValueError(f"need rows >= 1 and rounds >= 1, got {list(rows)}, {rounds}")
    prompts = synthetic_prompts(max(rows), prompt_tokens, vocab_size, seed)
    steps: list[tuple[int, int, float]] = []
    prefills: list[tuple[int, int, float]] = []
    curve = {num_rows: math.inf for num_rows in rows}
    for _ in range(rounds):
        round_steps, round_prefills = calibration_records(model, prompts, sorted(rows),
                                                          num_steps)
        steps += round_steps
        prefills += round_prefills
        for num_rows in rows:
            fastest = min(s for r, _, s in round_steps if r == num_rows)
            curve[num_rows] = min(curve[num_rows], fastest)
    return StepCosts(curve, statistics.median(c for _, c, _ in steps), steps, prefills)


def fit_step_curve(costs: StepCosts, name: str, device: str) -> CostModel:
    """The simulator's linear cost model (fixed + per row) through the fastest step at each
    batch size of `costs`, and its prefills: the steps ran at one context, so no per-context
    term is fitted (its column would repeat the per-row one)."""
    steps = [(num_rows, 0, seconds) for num_rows, seconds in costs.curve.items()]
    return fit_cost_model(steps, costs.prefills, name, device)


def model_steps(cost_model: CostModel, rows: Sequence[int], context: float) -> dict[int, float]:
    """A cost model's seconds of one step at each batch size in `rows`, at `context` tokens."""
    return {num_rows: cost_model.step_s(num_rows, context) for num_rows in rows}


def step_ratio(curve: Mapping[int, float], fewer: int, more: int) -> float | None:
    """Seconds of a `more`-row step over a `fewer`-row one (None where the curve lacks one)."""
    if fewer not in curve or more not in curve:
        return None
    return curve[more] / curve[fewer]


def ratio_table(curves: Mapping[str, Mapping[int, float]],
                pairs: Sequence[tuple[int, int]] = ROW_PAIRS) -> dict[str, dict[tuple, float]]:
    """{curve: {(fewer, more): step ratio}} for every pair of ROW_PAIRS the curve has."""
    table = {}
    for name, curve in curves.items():
        ratios = {pair: step_ratio(curve, *pair) for pair in pairs}
        table[name] = {pair: r for pair, r in ratios.items() if r is not None}
    return table


def batch_throughput_ratio(etr_ratio: float, step_ratio: float, fewer: int, more: int) -> float:
    """Throughput of static batches of `more` rows over batches of `fewer`: the useful share's
    ratio (ETR) times the rows' ratio, over the step time's ratio. Above 1, the bigger batch is
    worth the padding it adds."""
    return etr_ratio * (more / fewer) / step_ratio
