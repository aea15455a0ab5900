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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seqsch.cost_model import CostModel, fit_cost_model
from seqsch.decoding import DECODING_PRESETS, DecodingConfig
from seqsch.evaluation import fill_missing
from seqsch.paths import BUILD_DIR, DEFAULT_ADAPTER, DEFAULT_LENGTHS, DEFAULT_PROBE
from seqsch.predictors import DEFAULT_LORA_DECODE, QUERY_DECODES
from seqsch.scheduler import SchedulerConfig, order_for_priority
from seqsch.simulate import simulate

if TYPE_CHECKING:
    from seqsch.vllm_engine import VllmEngine

SOURCES = ("vanilla", "gt", "seqsch", "probe", "po", "constant")
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

    def scheduler(self, batch_size: int, max_new_tokens: int, bin_size: int) -> SchedulerConfig:
        strategy = "vanilla" if self.source == "vanilla" else "bin"
        return SchedulerConfig(strategy, batch_size=batch_size, max_new_tokens=max_new_tokens,
                               bin_size=bin_size, vbs=self.vbs, fcr=self.fcr)


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


def predict(spec: RunSpec, requests, model, tokenizer, known_lengths: dict, args):
    """Predicted lengths for `requests` and the seconds spent predicting them."""
    if spec.source == "vanilla":
        return None, 0.0
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


def run_spec(spec: RunSpec, model, tokenizer, requests, prompts, decoding, known, args):
    predicted, prediction_s = predict(spec, requests, model, tokenizer, known, args)
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

    scheduler = spec.scheduler(args.batch_size, decoding.max_new_tokens, args.bin_size)
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


def calibration_records(model, prompts, batch_sizes=(2, 8, 32), num_steps: int = 6) -> list:
    """Step timings at several batch sizes (a vanilla run has one), so that the fit can tell
    the per-row cost from the fixed cost of a step: (rows, context, seconds) tuples."""
    from seqsch.decoding import DecodingConfig
    from seqsch.generate import generate_batch

    records = []
    for num_rows in batch_sizes:
        rows = [prompts[i % len(prompts)] for i in range(num_rows)]
        width = max(len(p) for p in rows)
        _, _, timing = generate_batch(model, rows, num_steps, DecodingConfig(num_steps),
                                      pad_id=0, stop_ids=[])
        records += [(num_rows, width + k, s) for k, s in enumerate(timing["step_s"], start=1)]
    return records


def fit_from_runs(runs, name: str, extra_steps: list | None = None) -> CostModel:
    """A cost model fitted to static runs' own step and prefill timings (plus `extra_steps`,
    e.g. from `calibration_records`); runs at several batch sizes identify the per-row cost."""
    steps, prefills = list(extra_steps or []), []
    for batch in (b for run in runs for b in run.batches):
        prefills.append((batch.num_rows, batch.num_prompt_tokens, batch.prefill_s))
        for k, step_s in enumerate(batch.step_s, start=1):
            steps.append((batch.num_rows, batch.num_prompt_tokens + k, step_s))
    return fit_cost_model(steps, prefills, name, runs[0].device)


def simulated_summary(spec, record, predicted, cost_model, args, prompts) -> dict | None:
    """What the simulator predicts for this spec, from the lengths this sweep measured."""
    if spec.engine != "static" or cost_model is None:
        return None
    scheduler = spec.scheduler(args.batch_size, args.max_new_tokens, args.bin_size)
    sim = simulate(record["actual_lengths"], predicted or [None] * len(prompts), scheduler,
                   cost_model, [len(p) for p in prompts],
                   prediction_s=record["extra"].get("prediction_s", 0.0))
    return sim.summary


def load_workload(args, tokenizer):
    """The benchmark's requests and their oracle lengths (by id), as `--data` asks."""
    from seqsch.data import requests_by_id, sharegpt_workload
    from seqsch.length_records import read_length_file

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
        return requests_by_id([r.id for r in records]), {r.id: r.max_length for r in records}
    seen = {r.id for r in records}  # keep the predictors' training prompts out
    pool = sharegpt_workload(tokenizer, args.num_data + len(seen), args.seed)
    return [r for r in pool if r.id not in seen][: args.num_data], {}


def main(argv=None) -> dict:
    from seqsch.generate import encode_prompts, generate
    from seqsch.models import DEFAULT, load_model
    from seqsch.report import environment, median_summaries, print_table

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
    parser.add_argument("--decoding", choices=sorted(DECODING_PRESETS), default="embedded")
    parser.add_argument("--model", default=DEFAULT)
    parser.add_argument("--data", choices=["val", "sharegpt"], default="val",
                        help="val: validation prompts of the length file (oracle = its longest "
                        "sampled answer); sharegpt: other prompts (oracle = the vanilla run)")
    parser.add_argument("--lengths", type=Path, default=DEFAULT_LENGTHS)
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
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    specs = [RunSpec.parse(s) for s in args.sweep] if args.sweep else [
        RunSpec(args.strategy, args.vbs, args.fcr, args.engine)]
    specs = order_specs(specs)
    if args.repeats > 1 and len({s.engine == "vllm" for s in specs}) > 1:
        parser.error("--repeats runs the specs in turn, but vLLM must run after the other "
                     "engines (it sets the process's threads): sweep the vllm specs apart")

    try:
        predictor_hashes = {source: predictor_sha256(source, args.probe) for source in
                            sorted({spec.source for spec in specs} & set(PREDICTOR_FILES))}
    except FileNotFoundError as error:
        parser.error(str(error))

    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    decoding = DECODING_PRESETS[args.decoding].with_(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed)
    requests, known = load_workload(args, tokenizer)
    prompts = encode_prompts(tokenizer, requests)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "quiet", "sweep", "repeats")
              and not (k.endswith("parallel_size") and v == 1)}  # recorded when used
    config = json.loads(json.dumps(config, default=str))
    config["request_ids"] = hashlib.sha256(" ".join(r.id for r in requests).encode()).hexdigest()
    done = _finished_specs(args.out, config, [s.name for s in specs] if args.repeats > 1 else None,
                           predictor_hashes)
    # Warm-up, excluded from timing; then step timings at a few batch sizes for the fit.
    generate(model, tokenizer, requests[:2], decoding.with_(max_new_tokens=4), quiet=True,
             prompts=prompts[:2])
    is_calibrated = ("vanilla", 0) in done or RunSpec() not in specs  # the fit needs static vanilla
    calibration = [] if is_calibrated else calibration_records(
        model, prompts, (2, args.batch_size, 2 * args.batch_size))

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
                                          oracle, args)
                record = {"spec": spec.name, "config": config, "environment": environment(run),
                          "summary": run.summary(), "extra": run.extra,
                          "predicted_lengths": predicted,
                          "actual_lengths": [r.num_output_tokens for r in run.results]}
                if spec.source in predictor_hashes:  # its content, not only its folder
                    record["predictor_sha256"] = predictor_hashes[spec.source]
                if args.repeats > 1:
                    record["repeat"] = repeat
                if spec.name == "vanilla" and repeat == 0:  # with the calibration steps
                    record["cost_model"] = asdict(fit_from_runs([run], "benchmark-fit",
                                                                calibration))
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
    print_table(rounds)
    final = {name: {k: summary.get(k) for k in SUMMARY_KEYS}
             for name, summary in median_summaries(rounds).items()}
    print(json.dumps(final))
    return final


def _round_label(repeat: int, args: argparse.Namespace) -> str:
    return f" (round {repeat + 1} of {args.repeats})" if args.repeats > 1 else ""


def _cost_model(record: dict) -> CostModel | None:
    return CostModel(**record["cost_model"]) if record.get("cost_model") else None


def _finished_specs(path: Path, config: dict, round_specs: list[str] | None = None,
                    predictor_hashes: dict[str, str] | None = None) -> dict:
    """Records of `path` measured with the same settings, prompts and predictor files
    (`predictor_hashes`: {source: sha256}), by (spec, round). With `round_specs` (a sweep of
    several rounds) only whole rounds count: a round cut short, or one with a predictor since
    retrained, is measured again in full, so that its ratios never pair runs of two processes."""
    predictor_hashes = predictor_hashes or {}
    if not path.exists():
        return {}
    done = {}
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption
        source = RunSpec.parse(record["spec"]).source
        if record.get("config") == config and record.get("predictor_sha256") == (
                predictor_hashes.get(source)):
            done[record["spec"], record.get("repeat", 0)] = record
    if round_specs is not None:
        rounds = {repeat for _, repeat in done}
        whole = {r for r in rounds if all((name, r) in done for name in round_specs)}
        done = {key: record for key, record in done.items() if key[1] in whole}
    return done


if __name__ == "__main__":
    main()
