"""The benchmark: vanilla vs sequence scheduling vs continuous batching, on the real model.

Each run spec names a length source and options: `vanilla`, `gt+vbs+fcr`, `seqsch+vbs+fcr`,
`probe+vbs+fcr`, `po`, `continuous` (first come, first served), `continuous+gt` (shortest
predicted first), or `vllm` / `vllm+gt` / `vllm+seqsch` / `vllm+probe` (vLLM, first come or with
predicted lengths as priorities; needs `bash scripts/setup_vllm.sh`). A sweep runs several specs
back to back on the same prompts, so ratios come from one run; each finished spec is appended to
a JSONL record (config, versions, device, results) and a rerun with the same settings, prompts
and predictor files (hashed in each record: a head retrained in place is measured again)
resumes after the last finished spec. `--repeats N` runs the sweep N rounds, its specs in
turn each round, and reports each ratio against first come as the median of the rounds' own,
with their range: a shared machine drifts by more than a length-aware order gains, but slowly.
A rerun resumes after the last whole round.
Beside each static measurement it prints what the simulator predicts with a cost model fitted to
the vanilla run's own step times.

    python -m seqsch.benchmark --strategy gt --vbs --fcr --num-data 64
    python -m seqsch.benchmark --sweep vanilla gt+vbs+fcr seqsch+vbs+fcr continuous --num-data 128
    .venv-vllm/bin/python -m seqsch.benchmark --engine vllm --strategy gt --data sharegpt
    .venv-vllm/bin/python -m seqsch.benchmark --sweep vllm vllm+probe --data sharegpt --repeats 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seqsch.cost_model import CostModel, fit_cost_model
from seqsch.decoding import DECODING_PRESETS, DecodingConfig
from seqsch.evaluation import fill_missing
from seqsch.models import DEFAULT as DEFAULT_MODEL
from seqsch.paths import BUILD_DIR, DEFAULT_ADAPTER, DEFAULT_LENGTHS, DEFAULT_PROBE
from seqsch.predictors import DEFAULT_LORA_DECODE, QUERY_DECODES
from seqsch.replay import PAPER_PROMPT_TOKENS, REPLAYS, paper_workload
from seqsch.scheduler import PAPER_VBS_TABLE, SchedulerConfig, order_for_priority
from seqsch.simulate import simulate

if TYPE_CHECKING:
    from seqsch.vllm_engine import VllmEngine

SOURCES = ("vanilla", "gt", "seqsch", "probe", "po", "constant", "standin")
# Trace replay (`--replay`): prompts are token ids, so only the oracle and the stand-in for the
# paper's tuned module (predictions of its reported accuracy, seqsch.replay) can order them.
REPLAY_SOURCES = ("vanilla", "gt", "standin")
ENGINES = ("static", "continuous", "vllm")
VLLM_SOURCES = ("vanilla", "gt", "seqsch", "probe")  # vanilla = first come, first served
SUMMARY_KEYS = ("samples_per_s", "tokens_per_s", "avg_length", "effective_token_ratio",
                "failure_ratio", "mean_completion_s")
# The files a trained predictor is loaded from (a folder alone may hold an interrupted
# training). Each record of a learned source holds their hash: a predictor retrained in place
# is measured again, never matched to a record of its former self.
PREDICTOR_FILES = {"seqsch": ("adapter_model.safetensors", "adapter_config.json"),
                   "probe": ("head.safetensors", "probe_config.json")}


@dataclass(frozen=True)
class RunSpec:
    """One benchmark run: a length source, scheduler options and an engine."""

    source: str = "vanilla"
    vbs: bool = False
    fcr: bool = False
    engine: str = "static"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown length source {self.source!r}; choose one of {SOURCES}")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose one of {ENGINES}")
        if (self.source == "vanilla" or self.engine != "static") and (self.vbs or self.fcr):
            raise ValueError("--vbs/--fcr need a length source and static batches")
        if self.engine == "vllm" and self.source not in VLLM_SOURCES:
            raise ValueError(f"the vllm engine takes priorities from {VLLM_SOURCES}, "
                             f"not {self.source!r}")

    @classmethod
    def parse(cls, text: str) -> RunSpec:
        """`gt+vbs+fcr`, `continuous`, `continuous+gt`: parts in any order."""
        parts = text.lower().split("+")
        unknown = set(parts) - set(SOURCES) - set(ENGINES) - {"vbs", "fcr"}
        if unknown:
            raise ValueError(f"cannot read run spec {text!r}: unknown part(s) {sorted(unknown)}")
        engine = next((p for p in parts if p in ENGINES), "static")
        source = next((p for p in parts if p in SOURCES), "vanilla")
        return cls(source, "vbs" in parts, "fcr" in parts, engine)

    @property
    def name(self) -> str:
        parts = [self.engine] * (self.engine != "static")
        parts += [self.source] * (self.source != "vanilla" or not parts)
        return "+".join(parts + ["vbs"] * self.vbs + ["fcr"] * self.fcr)

    def scheduler(self, batch_size: int, max_new_tokens: int, bin_size: int,
                  group_size: int | None = None) -> SchedulerConfig:
        """The paper's schedules: binned with VBS, else sorted into fixed batches (FCR caps a
        sorted batch at its longest prediction)."""
        strategy = "vanilla" if self.source == "vanilla" else "bin" if self.vbs else "sort"
        return SchedulerConfig(strategy, batch_size=batch_size, max_new_tokens=max_new_tokens,
                               bin_size=bin_size, vbs=self.vbs, fcr=self.fcr,
                               group_size=group_size)


def order_specs(specs: list[RunSpec]) -> list[RunSpec]:
    """By engine (static runs first, vLLM last: it sets the process's threads), and each
    engine's first-come run before its others: on `--data sharegpt` it is their oracle."""
    return sorted(specs, key=lambda s: (ENGINES.index(s.engine), s.source != "vanilla"))


def predictor_dir(source: str, probe_dir: str | Path = DEFAULT_PROBE) -> Path:
    """The folder the `seqsch` (LoRA module) or `probe` length source is loaded from."""
    return DEFAULT_ADAPTER if source == "seqsch" else Path(probe_dir)


def missing_predictor(source: str, probe_dir: str | Path = DEFAULT_PROBE) -> str | None:
    """Why `source`'s trained predictor cannot be loaded, or None when its files are there."""
    folder = predictor_dir(source, probe_dir)
    missing = [name for name in PREDICTOR_FILES.get(source, ()) if not (folder / name).is_file()]
    if not missing:
        return None
    command = "lora" if source == "seqsch" else "probe"
    return (f"{folder / missing[0]} is missing (train it with python -m seqsch.perception "
            f"train --predictor {command})")


def predictor_sha256(source: str, probe_dir: str | Path = DEFAULT_PROBE) -> str:
    """A hash of the files `source`'s predictor is loaded from (weights and settings)."""
    reason = missing_predictor(source, probe_dir)
    if reason:
        raise FileNotFoundError(reason)
    digest, folder = hashlib.sha256(), predictor_dir(source, probe_dir)
    for name in PREDICTOR_FILES[source]:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return digest.hexdigest()


def available_specs(specs: list[str], probe_dir: str | Path = DEFAULT_PROBE) -> list[str]:
    """The specs that can run here (the probe source read from `probe_dir`); prints why the
    others are skipped."""
    from seqsch.vllm_engine import VLLM_INSTALL, is_vllm_available

    kept = []
    for text in specs:
        spec = RunSpec.parse(text)
        reason = missing_predictor(spec.source, probe_dir)
        if spec.engine == "vllm" and not is_vllm_available():
            print(f"skipping {text}: vLLM is not installed here (set it up with {VLLM_INSTALL})")
        elif reason:
            print(f"skipping {text}: {reason}")
        else:
            kept.append(text)
    return kept


def predict(spec: RunSpec, requests, model, tokenizer, known_lengths: dict, args,
            standin: dict | None = None):
    """Predicted lengths for `requests` and the seconds spent predicting them (`standin`: the
    replay's stand-in predictions by id)."""
    if spec.source == "vanilla":
        return None, 0.0
    if spec.source == "standin":
        if standin is None:
            raise ValueError("the 'standin' source exists in trace replay only (--replay)")
        return [standin[r.id] for r in requests], 0.0
    if spec.source == "gt":
        missing = [r.id for r in requests if r.id not in known_lengths]
        if missing:
            raise ValueError(
                f"no oracle length for {len(missing)} requests (e.g. {missing[:3]}): run "
                "'vanilla' first in the sweep, or use prompts from the length file (--data val)"
            )
        return [known_lengths[r.id] for r in requests], 0.0
    from seqsch.predictors import make_predictor, remove_length_adapter

    name = {"seqsch": "lora", "po": "pia"}.get(spec.source, spec.source)
    options = ({"lora_decode": args.lora_decode} if name == "lora" else
               {"probe": args.probe} if name == "probe" else {})
    predictor = make_predictor(name, model, tokenizer, lengths=args.lengths, **options)
    try:
        predicted = predictor.predict(requests)
    finally:
        if name == "lora":  # the timed generation must run on the plain model
            remove_length_adapter(model)
    return fill_missing(predicted), predictor.last_predict_s


def run_spec(spec: RunSpec, model, tokenizer, requests, prompts, decoding, known, args,
             standin: dict | None = None):
    predicted, prediction_s = predict(spec, requests, model, tokenizer, known, args, standin)
    if spec.engine == "vllm":
        run = shared_vllm_engine(model, prompts, decoding, args).generate(
            requests, decoding, priorities=predicted, prompts=prompts, quiet=args.quiet)
        _add_prediction_time(run, prediction_s)
        return run, predicted
    if spec.engine == "continuous":
        from seqsch.continuous import generate_continuous

        order = order_for_priority(predicted) if predicted is not None else None
        run = generate_continuous(model, tokenizer, requests, decoding, order=order,
                                  prompts=prompts, max_requests=args.batch_size,
                                  quiet=args.quiet)
        _add_prediction_time(run, prediction_s)
        return run, predicted
    from seqsch.pipeline import run_scheduled

    scheduler = spec.scheduler(args.batch_size, decoding.max_new_tokens, args.bin_size,
                               args.group_size)
    run = run_scheduled(model, tokenizer, requests, predicted, scheduler, decoding,
                        prediction_s=prediction_s, quiet=args.quiet, prompts=prompts)
    return run, predicted


def _add_prediction_time(run, prediction_s: float) -> None:
    """Predicting runs before any request is served: it delays every completion."""
    run.wall_s += prediction_s
    for result in run.results:
        result.completion_s += prediction_s
    run.extra["prediction_s"] = prediction_s


_VLLM_ENGINES: dict = {}  # settings -> engine: starting one compiles for minutes


def shared_vllm_engine(model, prompts, decoding: DecodingConfig,
                       args: argparse.Namespace) -> VllmEngine:
    """The process's vLLM engine for these settings (rebuilt when they change), in the HF
    model's dtype; in float32 its greedy answers match the other engines' token for token."""
    from seqsch.data import Request
    from seqsch.device import dtype_name
    from seqsch.vllm_engine import VllmEngine

    max_model_len = max(len(p) for p in prompts) + decoding.max_new_tokens
    settings = (args.model, dtype_name(model.dtype), args.batch_size, max_model_len, args.seed,
                args.vllm_eager, args.tensor_parallel_size, args.pipeline_parallel_size)
    if settings not in _VLLM_ENGINES:
        _VLLM_ENGINES.clear()  # one engine at a time: each holds the model and a KV cache
        engine = VllmEngine(
            args.model, dtype=settings[1], max_num_seqs=args.batch_size,
            max_model_len=max_model_len, seed=args.seed, compile=not args.vllm_eager,
            tensor_parallel_size=args.tensor_parallel_size,
            pipeline_parallel_size=args.pipeline_parallel_size)
        warm_up = [Request(f"warm-up-{i}", "Hello") for i in range(2)]  # excluded from timing
        engine.generate(warm_up, decoding.with_(max_new_tokens=4), quiet=True)
        _VLLM_ENGINES[settings] = engine
    return _VLLM_ENGINES[settings]


def calibration_records(model, prompts, batch_sizes=(2, 8, 32),
                        num_steps: int = 6) -> tuple[list, list]:
    """Step and prefill timings at several batch sizes (a vanilla run has one), so that the
    fit can tell the per-row cost from the fixed cost of a step and of a prefill: two lists of
    (rows, context or prompt width, seconds) tuples."""
    from seqsch.decoding import DecodingConfig
    from seqsch.generate import generate_batch

    steps, prefills = [], []
    for num_rows in batch_sizes:
        rows = [prompts[i % len(prompts)] for i in range(num_rows)]
        width = max(len(p) for p in rows)
        _, _, timing = generate_batch(model, rows, num_steps, DecodingConfig(num_steps),
                                      pad_id=0, stop_ids=[])
        steps += [(num_rows, width + k, s) for k, s in enumerate(timing["step_s"], start=1)]
        prefills.append((num_rows, width, timing["prefill_s"]))
    return steps, prefills


def step_cost_curve(model, prompts, batch_sizes=(1, 4, 16, 64), num_steps: int = 6) -> dict:
    """Median seconds of one decoding step at each batch size (the median keeps a slow first
    step out): the curve that decides whether bigger batches of short answers (VBS) are nearly free
    (a GPU reading its weights once per step) or cost per row (a CPU computing every row)."""
    import statistics

    steps, _ = calibration_records(model, prompts, batch_sizes, num_steps)
    return {rows: statistics.median(s for r, _, s in steps if r == rows)
            for rows in batch_sizes}


def fit_from_runs(runs, name: str, extra_steps: list | None = None,
                  extra_prefills: list | None = None) -> CostModel:
    """A cost model fitted to static runs' own step and prefill timings (plus `extra_steps` and
    `extra_prefills`, e.g. from `calibration_records`); runs at several batch sizes identify the
    per-row costs."""
    steps, prefills = list(extra_steps or []), list(extra_prefills or [])
    for batch in (b for run in runs for b in run.batches):
        prefills.append((batch.num_rows, batch.num_prompt_tokens, batch.prefill_s))
        for k, step_s in enumerate(batch.step_s, start=1):
            steps.append((batch.num_rows, batch.num_prompt_tokens + k, step_s))
    return fit_cost_model(steps, prefills, name, runs[0].device)


def simulated_summary(spec, record, predicted, cost_model, args, prompts) -> dict | None:
    """What the simulator predicts for this spec, from the lengths this sweep measured."""
    if spec.engine != "static" or cost_model is None:
        return None
    scheduler = spec.scheduler(args.batch_size, args.max_new_tokens, args.bin_size,
                               args.group_size)
    sim = simulate(record["actual_lengths"], predicted or [None] * len(prompts), scheduler,
                   cost_model, [len(p) for p in prompts],
                   prediction_s=record["extra"].get("prediction_s", 0.0))
    return sim.summary


# Engines whose float32 greedy answers have the same lengths: vLLM (fp32, with seqsch's penalty
# as a logits processor), the seqsch static generator and transformers' continuous batching gave
# the same greedy length on every prompt compared (data/README.md: 128 of 128; README.md's
# benchmark: all 128). In another dtype the engines' kernels round differently, so only the same
# engine in the same dtype reproduces a file's lengths.
FP32_SAME_LENGTH_ENGINES = frozenset(ENGINES)
LENGTH_FILE_ENGINES = {"transformers": "static"}  # seqsch.lengths' name for the static generator


def oracle_mismatch(settings: dict | None, dtype: str, engines: Iterable[str]) -> str | None:
    """Why a length file made with `settings` (its `{"settings": ...}` line: "dtype", "engine")
    cannot be the oracle of a run in `dtype` on `engines`, or None when it can: same dtype, and
    the same engine, or any of static/continuous/vllm in float32 (their greedy lengths agree)."""
    settings = settings or {}
    file_dtype, file_engine = settings.get("dtype"), settings.get("engine", "transformers")
    file_engine = LENGTH_FILE_ENGINES.get(file_engine, file_engine)
    if file_dtype is None:
        return "the file records no dtype"
    if file_dtype != dtype:
        return (f"the file was made in {file_dtype}, this run is {dtype} (answer lengths differ "
                "between dtypes)")
    others = sorted(set(engines) - {file_engine})
    if others and not (dtype == "float32" and {file_engine, *others} <= FP32_SAME_LENGTH_ENGINES):
        return (f"the file was made by {file_engine}, this run uses {', '.join(others)} in "
                f"{dtype} (engines agree on the lengths in float32 only)")
    return None


def _run_dtype(args) -> str:
    """The dtype `load_model` gives this run's model (`--dtype`, `--device`)."""
    from seqsch.device import dtype_name, resolve_device, resolve_dtype

    return dtype_name(resolve_dtype(args.dtype, resolve_device(args.device)))


def load_workload(args: SweepConfig, tokenizer, dtype: str | None = None):
    """The benchmark's requests and their oracle lengths (by id), as `--data` asks.

    On `--data val` the oracle is the length file's longest sampled answer, when the file was
    made in this run's dtype (`dtype`, default: what `--dtype` resolves to) by a compatible
    engine (`oracle_mismatch`); otherwise no oracle is returned and `gt` takes the run's own
    first-come (vanilla) lengths, as on `--data sharegpt`. It prints which oracle is used."""
    from seqsch.data import requests_by_id, sharegpt_workload
    from seqsch.length_records import load_length_file, read_length_file

    records = read_length_file(args.lengths, allow_empty=True) if Path(
        args.lengths).exists() else []
    if args.data == "val":
        records = [r for r in records if r.split == "val"]
        if not records:
            raise ValueError(f"{args.lengths} holds no validation prompts; use --data sharegpt")
        if len(records) < args.num_data:
            print(f"note: {args.lengths} holds {len(records)} validation prompts; using all of "
                  f"them instead of --num-data {args.num_data}")
        records = records[: args.num_data]
        requests = requests_by_id([r.id for r in records])
        specs = args.run_specs
        dtype = dtype or _run_dtype(args)
        headers = load_length_file(args.lengths).settings  # [{"settings": {...}}], or []
        settings = headers[0]["settings"] if headers else None
        reason = oracle_mismatch(settings, dtype, {s.engine for s in specs})
        if reason is None:
            print(f"oracle (gt): the longest sampled answer in {args.lengths} (made in "
                  f"{dtype} by {settings.get('engine', 'transformers')}: the same lengths as "
                  f"this {dtype} run)")
            return requests, {r.id: r.max_length for r in records}
        if any(s.source == "gt" for s in specs) and not any(
                s.source == "vanilla" for s in specs):
            raise ValueError(
                f"{args.lengths} cannot be the oracle of this run: {reason}. Add 'vanilla' to "
                "--sweep (its own lengths become the oracle), or run in the file's dtype "
                f"(--dtype {(settings or {}).get('dtype', 'float32')})")
        print(f"oracle (gt): this run's own first-come (vanilla) lengths, not {args.lengths}: "
              f"{reason}")
        return requests, {}
    seen = {r.id for r in records}  # keep the predictors' training prompts out
    pool = sharegpt_workload(tokenizer, args.num_data + len(seen), args.seed)
    return [r for r in pool if r.id not in seen][: args.num_data], {}


@dataclass
class SweepConfig:
    """A benchmark sweep: run specs measured back to back on one workload in one process. The
    fields are the command line's options (`python -m seqsch.benchmark --help`); `run_sweep`
    takes it, the CLI and the notebooks alike."""

    specs: tuple[str, ...] = ("vanilla",)  # e.g. ("vanilla", "gt+vbs+fcr", "continuous")
    num_data: int = 64
    batch_size: int = 16
    bin_size: int = 50
    max_new_tokens: int = 512
    temperature: float = 0.0
    decoding: str | None = None  # a DECODING_PRESETS name; None: embedded (greedy in replay)
    model: str = DEFAULT_MODEL
    data: str = "val"  # val: the length file's validation prompts; sharegpt: unseen prompts
    lengths: Path = DEFAULT_LENGTHS
    replay: str | None = None  # trace replay (seqsch.replay): "paper-val"
    replay_prompt_tokens: int = PAPER_PROMPT_TOKENS
    group_size: int | None = None  # the paper schedules groups of 256 apart
    lora_decode: str = DEFAULT_LORA_DECODE
    probe: Path = DEFAULT_PROBE
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"
    out: Path = BUILD_DIR / "benchmark.jsonl"  # JSONL, one record per finished spec (resumable)
    vllm_eager: bool = False
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    repeats: int = 1
    quiet: bool = False

    def __post_init__(self) -> None:
        self.specs = tuple(self.specs)
        self.lengths, self.probe, self.out = Path(self.lengths), Path(self.probe), Path(self.out)
        if not self.specs:
            raise ValueError("give at least one run spec, e.g. specs=('vanilla',)")
        specs = [RunSpec.parse(text) for text in self.specs]  # raises on an unknown spec
        for name in ("num_data", "batch_size", "bin_size", "max_new_tokens", "repeats",
                     "replay_prompt_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.group_size is not None and self.group_size < 1:
            raise ValueError(f"group_size must be >= 1 or None, got {self.group_size}")
        if self.data not in ("val", "sharegpt"):
            raise ValueError(f"data must be 'val' or 'sharegpt', got {self.data!r}")
        if self.replay is not None and self.replay not in REPLAYS:
            raise ValueError(f"unknown replay {self.replay!r}; choose one of {REPLAYS}")
        self.decoding = self.decoding or ("greedy" if self.replay else "embedded")
        if self.decoding not in DECODING_PRESETS:
            raise ValueError(f"unknown decoding {self.decoding!r}; choose one of "
                             f"{sorted(DECODING_PRESETS)}")
        if self.replay and any(spec.source not in REPLAY_SOURCES for spec in specs):
            raise ValueError(f"in trace replay the prompts are token ids: order them by one of "
                             f"{REPLAY_SOURCES}, not {sorted({s.source for s in specs})}")
        if self.repeats > 1 and len({s.engine == "vllm" for s in specs}) > 1:
            raise ValueError("repeats run the specs in turn, but vLLM must run after the other "
                             "engines (it sets the process's threads): sweep the vllm specs apart")

    @property
    def run_specs(self) -> list[RunSpec]:
        return order_specs([RunSpec.parse(text) for text in self.specs])


def run_sweep(config: SweepConfig) -> list[dict]:
    """Measure `config.specs` back to back, `config.repeats` rounds, appending one record per
    finished spec to `config.out` and resuming after the last finished one. Returns the rounds:
    [{spec name: record}, ...] (`seqsch.report` tabulates them)."""
    from seqsch.generate import encode_prompts, generate
    from seqsch.models import load_model
    from seqsch.report import environment

    args, specs = config, config.run_specs
    predictor_hashes = {source: predictor_sha256(source, args.probe) for source in
                        sorted({spec.source for spec in specs} & set(PREDICTOR_FILES))}
    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    decoding = DECODING_PRESETS[args.decoding].with_(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed)
    standin = None
    if args.replay:
        workload = paper_workload(args.num_data, len(tokenizer), args.replay_prompt_tokens,
                                  standin_seed=args.seed)
        requests, prompts = workload.requests, workload.prompts
        known = {r.id: n for r, n in zip(requests, workload.oracle)}
        standin = {r.id: n for r, n in zip(requests, workload.standin)}
    else:
        requests, known = load_workload(args, tokenizer)
        prompts = encode_prompts(tokenizer, requests)
    record_config = run_config(args, [r.id for r in requests])
    done = _finished_specs(args.out, record_config,
                           [s.name for s in specs] if args.repeats > 1 else None, predictor_hashes)
    # Warm-up, excluded from timing; then step timings at a few batch sizes for the fit.
    generate(model, tokenizer, requests[:2], decoding.with_(max_new_tokens=4), quiet=True,
             prompts=prompts[:2])
    is_calibrated = ("vanilla", 0) in done or RunSpec() not in specs  # the fit needs static vanilla
    # VBS batches reach the VBS table's largest size: calibrate up to it (a fit extrapolated
    # from batches of 32 to 256 rows would misprice them)
    batch_sizes = {2, args.batch_size, 2 * args.batch_size}
    if any(spec.vbs for spec in specs):  # none larger than a group of this workload
        largest = min(args.group_size or len(requests), len(requests))
        batch_sizes |= {size for _, size in PAPER_VBS_TABLE if size <= largest}
    calibration = ([], []) if is_calibrated else calibration_records(model, prompts,
                                                                     sorted(batch_sizes))

    rounds, cost_model, oracle_by_engine = [], None, {}
    for repeat in range(args.repeats):
        records = {}
        for spec in specs:
            key = (spec.name, repeat)
            if key in done:
                record = done[key]
                print(f"{spec.name}{_round_label(repeat, args)}: already measured in "
                      f"{args.out}, skipped")
            else:
                print(f"== {spec.name}{_round_label(repeat, args)} ==", flush=True)
                oracle = known or oracle_by_engine.get(spec.engine) or next(
                    iter(oracle_by_engine.values()), {})  # another engine's: same tokens in fp32
                run, predicted = run_spec(spec, model, tokenizer, requests, prompts, decoding,
                                          oracle, args, standin)
                record = {"spec": spec.name, "config": record_config,
                          "environment": environment(run), "summary": run.summary(),
                          "extra": run.extra, "predicted_lengths": predicted,
                          "actual_lengths": [r.num_output_tokens for r in run.results]}
                if spec.source in predictor_hashes:  # its content, not only its folder
                    record["predictor_sha256"] = predictor_hashes[spec.source]
                if args.repeats > 1:
                    record["repeat"] = repeat
                if spec.name == "vanilla" and repeat == 0:  # with the calibration steps
                    record["cost_model"] = asdict(fit_from_runs([run], "benchmark-fit",
                                                                *calibration))
                record["simulated"] = simulated_summary(
                    spec, record, predicted, cost_model or _cost_model(record), args, prompts)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with args.out.open("a") as fh:
                    fh.write(json.dumps(record) + "\n")
            if spec.name == "vanilla" and cost_model is None:
                cost_model = _cost_model(record)
            if spec.source == "vanilla":  # same prompts, decoding and engine: the oracle
                oracle_by_engine.setdefault(
                    spec.engine, dict(zip((r.id for r in requests), record["actual_lengths"])))
            records[spec.name] = record
        rounds.append(records)
    return rounds


def main(argv=None) -> dict:
    from seqsch.report import median_summaries, print_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategy", choices=SOURCES, default="vanilla")
    parser.add_argument("--vbs", action="store_true")
    parser.add_argument("--fcr", action="store_true")
    parser.add_argument("--engine", choices=ENGINES, default="static")
    parser.add_argument("--sweep", nargs="+", metavar="SPEC",
                        help="run specs back to back, e.g. vanilla gt+vbs+fcr continuous")
    parser.add_argument("--num-data", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--bin-size", type=int, default=50)
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--decoding", choices=sorted(DECODING_PRESETS), default=None,
                        help="default: embedded (greedy in trace replay, where tokens are "
                             "never read)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--data", choices=["val", "sharegpt"], default="val",
                        help="val: validation prompts of the length file (oracle = its longest "
                        "sampled answer); sharegpt: other prompts (oracle = the vanilla run)")
    parser.add_argument("--lengths", type=Path, default=DEFAULT_LENGTHS)
    parser.add_argument("--replay", choices=REPLAYS, default=None,
                        help="trace replay: paper-val forces each answer to Vicuna-7B's greedy "
                             "length on the paper's 1,024-prompt sample (its first --num-data), "
                             "prompts of --replay-prompt-tokens random ids; sources vanilla, gt "
                             "(longest of four samples), standin (predictions of the paper's "
                             "module's accuracy). Any model, e.g. --model random:llama2-7b")
    parser.add_argument("--replay-prompt-tokens", type=int, default=PAPER_PROMPT_TOKENS,
                        help="the replay's assumed prompt length (the length file has none)")
    parser.add_argument("--group-size", type=int, default=None,
                        help="schedule consecutive groups of this many requests apart, each "
                             "group's failures recomputed before the next (the paper: 256)")
    parser.add_argument("--lora-decode", choices=QUERY_DECODES, default=DEFAULT_LORA_DECODE,
                        help="seqsch source: the median of the module's bucket distribution "
                             "(score) or its greedy answer (generate, the paper's)")
    parser.add_argument("--probe", type=Path, default=DEFAULT_PROBE,
                        help="probe source: the head's folder (e.g. data/probe-smollm2-priority, "
                             "trained on the greedy answer's length, for vLLM priorities)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "benchmark.jsonl",
                        help="JSONL record, one line per finished run spec (resumable)")
    parser.add_argument("--vllm-eager", action="store_true",
                        help="vllm engine without compilation (starts in seconds, decodes slower)")
    parser.add_argument("--tensor-parallel-size", type=int, default=1,
                        help="vllm engine: GPUs per model replica (layers split across them)")
    parser.add_argument("--pipeline-parallel-size", type=int, default=1,
                        help="vllm engine: pipeline stages (e.g. nodes, with a Ray cluster)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run the sweep this many rounds, its specs in turn each round: "
                             "ratios are taken within a round, so a machine that drifts "
                             "between rounds does not bias them (the report shows medians)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    options = {k: v for k, v in vars(args).items()
               if k not in ("strategy", "vbs", "fcr", "engine", "sweep")}
    specs = args.sweep or [RunSpec(args.strategy, args.vbs, args.fcr, args.engine).name]
    try:
        config = SweepConfig(specs=tuple(specs), **options)
        for source in sorted({s.source for s in config.run_specs} & set(PREDICTOR_FILES)):
            predictor_sha256(source, config.probe)  # a missing predictor stops here, not later
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    rounds = run_sweep(config)
    print_table(rounds)
    final = {name: {k: summary.get(k) for k in SUMMARY_KEYS}
             for name, summary in median_summaries(rounds).items()}
    print(json.dumps(final))
    return final


def _round_label(repeat: int, args: SweepConfig) -> str:
    return f" (round {repeat + 1} of {args.repeats})" if args.repeats > 1 else ""


def _cost_model(record: dict) -> CostModel | None:
    return CostModel(**record["cost_model"]) if record.get("cost_model") else None


PATH_SETTINGS = ("lengths", "probe")  # settings that name files: recorded repo-relative


def run_config(args: SweepConfig, request_ids: list[str]) -> dict:
    """The settings a record holds (and a rerun must match to resume): the sweep's options
    as JSON, files relative to the repository and the model by name (`seqsch.paths.portable`,
    so that no record holds a machine's path and another checkout resumes it), and a hash of
    the request ids. Options that are off (replay, groups, parallelism) are left out, and a
    one-spec sweep records its spec as the command line's --strategy/--vbs/--fcr/--engine
    (a sweep of several: their defaults), so that records measured before resume."""
    from seqsch.paths import portable, portable_model

    options = vars(args)
    is_replay = options.get("replay") is not None
    config = {k: v for k, v in options.items() if k not in ("out", "quiet", "specs", "repeats")
              and not (k.endswith("parallel_size") and v == 1)  # recorded when used
              and not (k in ("replay", "replay_prompt_tokens") and not is_replay)
              and not (k == "group_size" and v is None)}
    specs = options.get("specs") or ()
    spec = RunSpec.parse(specs[0]) if len(specs) == 1 else RunSpec()
    config.update(strategy=spec.source, vbs=spec.vbs, fcr=spec.fcr, engine=spec.engine)
    for key in PATH_SETTINGS:
        if config.get(key) is not None:
            config[key] = portable(config[key])
    if config.get("model") is not None:
        config["model"] = portable_model(config["model"])
    config = json.loads(json.dumps(config, default=str))
    config["request_ids"] = hashlib.sha256(" ".join(request_ids).encode()).hexdigest()
    return config


def _portable_config(config: dict) -> dict:
    """`config` with the absolute paths of an older record made portable, as `run_config`
    writes them now (a relative one already is: relative to the repository)."""
    from seqsch.paths import portable, portable_model

    config = dict(config)
    for key in (*PATH_SETTINGS, "model"):
        value = config.get(key)
        if isinstance(value, str) and Path(value).is_absolute():
            config[key] = portable_model(value) if key == "model" else portable(value)
    return config


def _finished_specs(path: Path, config: dict, round_specs: list[str] | None = None,
                    predictor_hashes: dict[str, str] | None = None) -> dict:
    """Records of `path` measured with the same settings, prompts and predictor files
    (`predictor_hashes`: {source: sha256}), by (spec, round). With `round_specs` (a sweep of
    several rounds) only whole rounds count: a round cut short, or one with a predictor since
    retrained, is measured again in full, so that its ratios never pair runs of two processes.
    Settings are compared in their portable form (`run_config`): a record made in another
    checkout, or before records were portable, in this one, matches."""
    predictor_hashes = predictor_hashes or {}
    if not path.exists():
        return {}
    config, done = _portable_config(config), {}
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption
        source = RunSpec.parse(record["spec"]).source
        if isinstance(record.get("config"), dict) and _portable_config(
                record["config"]) == config and record.get("predictor_sha256") == (
                predictor_hashes.get(source)):
            done[record["spec"], record.get("repeat", 0)] = record
    if round_specs is not None:
        rounds = {repeat for _, repeat in done}
        whole = {r for r in rounds if all((name, r) in done for name in round_specs)}
        done = {key: record for key, record in done.items() if key[1] in whole}
    return done


if __name__ == "__main__":
    main()
