"""A live slice that can show its mechanism: its schedules checked before it runs, its ratios
set beside a committed measurement after.

A notebook's live benchmark is short. When it holds a single static batch, or when a schedule
sorts its requests back into vanilla's batches, every run decodes the same batches and the
slice can only measure noise. `slice_plans` builds every spec's batches from a trace replay's
lengths with the simulator (the scheduler the engine runs, without a model: instant);
`slice_problems` names each spec that cannot differ from vanilla; `verdicts` says, per headline
ratio, whether the live run moved the same way as the committed measurement.

    from seqsch.bench.live_slice import check_slice, slice_plans, verdict_lines, verdicts
    config = SweepConfig(replay="paper-val", model="random:tiny", num_data=256,
                         specs=("vanilla", "oracle", "oracle+vbs+fcr"), group_size=256)
    check_slice(slice_plans(config))  # ValueError naming the spec and what to change
    rows = verdicts(live_summaries, committed_summaries)
    print("\\n".join(verdict_lines(rows)))

`run_live_slice` does all three: check, run (`seqsch.bench.runner.run_sweep`), compare;
`run_paper_slice` is the notebooks' call of it on the paper's lengths (02, 05 and 07 each run
one), a fresh measurement each time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from seqsch.bench.records import load_records
from seqsch.bench.replay import replay_workload
from seqsch.bench.report import RATIO_BAND, RATIO_METRICS, against_base
from seqsch.bench.runner import predict, run_sweep
from seqsch.bench.specs import RunSpec, SweepConfig
from seqsch.core.paper import PAPER_BATCH_SIZE, PAPER_GROUP_SIZE
from seqsch.core.paths import BUILD_DIR
from seqsch.core.verdicts import direction
from seqsch.scheduling.simulate import SimResult, simulate

METRIC_LABELS = {"throughput": "throughput", "completion": "mean completion", "etr": "ETR"}


def _workload(config: SweepConfig):
    if config.replay is None:
        raise ValueError("a live slice needs a trace replay (SweepConfig.replay): only a replay "
                         "knows every answer's length before it runs")
    return replay_workload(config.replay, config.num_data, 32000,  # lengths only: any vocab
                           config.replay_prompt_tokens, config.max_new_tokens, config.seed)


def slice_plans(config: SweepConfig) -> dict[str, SimResult]:
    """{spec: the simulator's run of it}, for a trace replay's specs: the batches (recompute
    batches included) the engine will run, their rows, steps and ETR, with no model loaded."""
    workload = _workload(config)
    replayed = workload.predictions_by_source()
    known = {r.id: n for r, n in zip(workload.requests, workload.oracle, strict=True)}
    plans = {}
    for text in config.specs:
        spec = RunSpec.parse(text)
        if spec.engine != "static":
            raise ValueError(f"{text}: a live slice plans static batches, not the {spec.engine} "
                             "engine")
        if spec.source not in ("vanilla", "oracle", *replayed):
            raise ValueError(f"{text}: the {config.replay} replay has no {spec.source!r} "
                             f"predictions; use one of vanilla, oracle, {', '.join(replayed)}")
        # the runner's own predictions (no model needed for these sources): the same the run uses
        predicted, _ = predict(spec, workload.requests, None, None, known, config, replayed)
        predicted = predicted or [None] * len(workload.requests)
        scheduler = spec.scheduler(config.batch_size, config.max_new_tokens, config.bin_size,
                                   config.group_size)
        plans[spec.name] = simulate(workload.true_lengths, predicted, scheduler)
    return plans


def _batches(plan: SimResult) -> list[tuple]:
    return [(b.indices, b.max_new_tokens, b.is_recompute) for b in plan.plan]


def _row_steps(plan: SimResult) -> int:
    return sum(b.num_slots for b in plan.batches)


def slice_problems(plans: dict[str, SimResult], reference: str = "vanilla") -> list[str]:
    """Why the slice cannot show its mechanism, one line per spec (empty: it can): a spec that
    runs a single batch, whose batches are the reference's, or that computes as many row-steps
    (rows x steps) as the reference."""
    if reference not in plans:
        raise ValueError(f"the slice needs its reference {reference!r} among {sorted(plans)}")
    problems = []
    for name, plan in plans.items():
        if len(plan.plan) < 2:
            problems.append(f"{name} runs a single batch: every schedule is that batch (give "
                            "more prompts or a smaller batch size)")
        elif name != reference and _batches(plan) == _batches(plans[reference]):
            problems.append(f"{name} runs {reference}'s batches: its order changes nothing here "
                            "(give more prompts, or a cap the answers do not all reach)")
        elif name != reference and _row_steps(plan) == _row_steps(plans[reference]):
            problems.append(f"{name} computes as many row-steps as {reference}: every batch "
                            "runs to the same cap (give a cap the answers do not all reach)")
    return problems


def check_slice(plans: dict[str, SimResult], reference: str = "vanilla") -> None:
    """Raise ValueError listing `slice_problems`, if any."""
    problems = slice_problems(plans, reference)
    if problems:
        raise ValueError("this live slice cannot show its mechanism:\n  " + "\n  ".join(problems))


def verdicts(live: dict[str, dict], committed: dict[str, dict], reference: str = "vanilla",
             metrics: tuple[str, ...] = RATIO_METRICS) -> list[dict]:
    """One row per spec run in both and per metric: the live and committed ratios to the
    reference (summaries as in a record's `summary`) and whether they moved the same way."""
    rows = []
    for name in live:
        if name == reference or name not in committed:
            continue
        mine, theirs = against_base(live, name, reference), against_base(committed, name,
                                                                         reference)
        for metric in metrics:
            rows.append({"spec": name, "metric": metric, "live": mine[metric],
                         "committed": theirs[metric],
                         "is_same_direction": direction(mine[metric], RATIO_BAND)
                         == direction(theirs[metric], RATIO_BAND)})
    return rows


def verdict_lines(rows: list[dict]) -> list[str]:
    """Each verdict as a sentence, then a count: 'oracle+vbs+fcr, throughput: live 2.30x,
    committed 1.93x: agrees'."""
    lines = [f"{r['spec']}, {METRIC_LABELS.get(r['metric'], r['metric'])}: live {r['live']:.2f}x, "
             f"committed {r['committed']:.2f}x: "
             f"{'agrees' if r['is_same_direction'] else 'DISAGREES'}" for r in rows]
    num_agree = sum(r["is_same_direction"] for r in rows)
    return lines + [f"{num_agree} of {len(rows)} live ratios move the way the committed "
                    "measurement did"]


@contextlib.contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run the block on `num_threads` CPU threads (None: leave torch's setting), then restore."""
    before = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class LiveSlice:
    """A checked, measured live slice and its comparison with a committed run."""

    plans: dict[str, SimResult]  # the simulator's schedules, by spec
    records: dict[str, dict]  # the measured records, by spec
    true_lengths: list[int]  # the replayed answer lengths, in request order
    rows: list[dict]  # `verdicts` against the committed file ([] without one)

    @property
    def summaries(self) -> dict[str, dict]:
        return {name: record["summary"] for name, record in self.records.items()}

    @property
    def num_steps(self) -> dict[str, int]:
        """Decoding steps each spec's schedule runs (its batches side by side)."""
        return {name: plan.num_steps_total for name, plan in self.plans.items()}

    @property
    def num_agree(self) -> int:
        """How many of the `verdicts` rows moved the way the committed run did."""
        return sum(r["is_same_direction"] for r in self.rows)


def run_live_slice(config: SweepConfig, committed: Path | None = None,
                   num_threads: int | None = 1) -> LiveSlice:
    """Check that `config`'s slice can show its mechanism, run it, and set its ratios beside
    the committed record file `committed` (read when it exists).

    On a CPU the slice runs on `num_threads` threads (None: torch's setting), then restores it.
    A tiny model's step is mostly dispatch, which a second thread does not speed up, and on a
    busy machine two threads wait on each other: measured here under load, 64 replayed prompts
    ran at 26 samples/s on one thread and 1.2 on two, so one thread keeps the live ratios
    steady. The records state the threads they ran on."""
    plans = slice_plans(config)
    check_slice(plans)
    with torch_threads(num_threads):
        records = run_sweep(config)[-1]
    rows = []
    if committed is not None and Path(committed).exists():
        theirs = {name: r["summary"] for name, r in load_records(committed).items()}
        rows = verdicts({name: r["summary"] for name, r in records.items()}, theirs)
    return LiveSlice(plans, records, _workload(config).true_lengths, rows)


def run_paper_slice(name: str, model: str, specs: Sequence[str], num_data: int,
                    max_new_tokens: int, committed: Path | None = None,
                    batch_size: int = PAPER_BATCH_SIZE, group_size: int = PAPER_GROUP_SIZE,
                    device: str = "auto", dtype: str = "auto", seed: int = 0,
                    out_dir: Path = BUILD_DIR / "notebooks") -> LiveSlice:
    """`run_live_slice` of the paper's first `num_data` sampled prompts (trace replay of
    Vicuna-7B's lengths) on `model`, in the paper's groups and batches unless told otherwise.
    Its records go to `<out_dir>/<name>_<num_data>x<max_new_tokens>.jsonl`, replaced first:
    a notebook's live slice is a fresh measurement each run, never resumed."""
    out = Path(out_dir) / f"{name}_{num_data}x{max_new_tokens}.jsonl"
    out.unlink(missing_ok=True)
    config = SweepConfig(replay="paper-val", model=model, specs=tuple(specs), num_data=num_data,
                         max_new_tokens=max_new_tokens, batch_size=batch_size,
                         group_size=group_size, device=device, dtype=dtype, seed=seed, out=out,
                         quiet=True)
    return run_live_slice(config, committed=committed)
