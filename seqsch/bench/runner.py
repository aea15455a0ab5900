"""The benchmark: vanilla vs sequence scheduling vs continuous batching, on the real model.

`run_sweep(SweepConfig(...))` runs several specs back to back on the same prompts, so ratios
come from one process; each finished spec is appended to a JSONL record (config, versions,
device, results) and a rerun with the same settings, prompts and predictor files resumes after
the last finished spec. `repeats` runs the sweep in rounds, its specs in turn each round, and
reports each ratio against first come as the median of the rounds' own, with their range: a
shared machine drifts by more than a length-aware order gains, but slowly. Beside each static
measurement the record holds what the simulator predicts with a cost model fitted to the
vanilla run's own step times.

    rounds = run_sweep(SweepConfig(specs=("vanilla", "oracle+vbs+fcr", "continuous"), num_data=128))
    python -m seqsch.bench sweep --specs vanilla oracle+vbs+fcr continuous --num-data 128
    .venv-vllm/bin/python -m seqsch.bench sweep --specs vllm vllm+rank-head --data sharegpt \
        --repeats 3
"""
from __future__ import annotations

import json
from dataclasses import asdict

from seqsch.bench.calibration import (
    calibration_records,
    cost_model_of,
    fit_from_runs,
    simulated_summary,
)
from seqsch.bench.provenance import hashed_sources, predictor_sha256, run_config
from seqsch.bench.records import finished_specs
from seqsch.bench.replay import replay_workload
from seqsch.bench.report import environment
from seqsch.bench.specs import RunSpec, SweepConfig
from seqsch.bench.workload import load_workload
from seqsch.core.decoding import DECODING_PRESETS, DecodingConfig
from seqsch.core.device import dtype_name
from seqsch.core.models import load_model
from seqsch.core.requests import encode_prompts
from seqsch.engines.continuous import generate_continuous
from seqsch.engines.scheduled import run_scheduled
from seqsch.engines.vllm_engine import VllmEngine
from seqsch.engines.warm_up import warm_up_engines, warm_up_vllm
from seqsch.perception.evaluation import fill_missing
from seqsch.perception.query import remove_length_adapter
from seqsch.perception.registry import make_predictor
from seqsch.scheduling.scheduler import PAPER_VBS_TABLE, order_for_priority

SUMMARY_KEYS = ("samples_per_s", "tokens_per_s", "avg_length", "effective_token_ratio",
                "failure_ratio", "mean_completion_s")


def predict(spec: RunSpec, requests, model, tokenizer, known_lengths: dict, config,
            replayed: dict | None = None):
    """Predicted lengths for `requests` and the seconds spent predicting them (`replayed`: a
    replay's own predictions, {source: ({id: prediction}, seconds)})."""
    if spec.source == "vanilla":
        return None, 0.0
    if replayed is not None and spec.source in replayed:
        by_id, seconds = replayed[spec.source]
        return [by_id[r.id] for r in requests], seconds
    if spec.source == "standin":
        raise ValueError("the 'standin' source exists in trace replay only (--replay paper-val)")
    if spec.source == "oracle":
        missing = [r.id for r in requests if r.id not in known_lengths]
        if missing:
            raise ValueError(
                f"no oracle length for {len(missing)} requests (e.g. {missing[:3]}): run "
                "'vanilla' first in the sweep, or use prompts from the length file (--data val)"
            )
        return [known_lengths[r.id] for r in requests], 0.0

    predictor = make_predictor(spec.source, model, tokenizer, lengths=config.lengths,
                               lora_decode=config.lora_decode, probe=config.probe)
    try:
        predicted = predictor.predict(requests)
    finally:
        if spec.source == "lora":  # the timed generation must run on the plain model
            remove_length_adapter(model)
    return fill_missing(predicted), predictor.last_predict_s


def run_spec(spec: RunSpec, model, tokenizer, requests, prompts, decoding, known, config,
             replayed: dict | None = None):
    predicted, prediction_s = predict(spec, requests, model, tokenizer, known, config, replayed)
    if spec.engine == "vllm":
        run = shared_vllm_engine(model, prompts, decoding, config).generate(
            requests, decoding, priorities=predicted, prompts=prompts, quiet=config.quiet)
        _add_prediction_time(run, prediction_s)
        return run, predicted
    if spec.engine == "continuous":
        order = order_for_priority(predicted) if predicted is not None else None
        run = generate_continuous(model, tokenizer, requests, decoding, order=order,
                                  prompts=prompts, max_requests=config.batch_size,
                                  quiet=config.quiet)
        _add_prediction_time(run, prediction_s)
        return run, predicted

    scheduler = spec.scheduler(config.batch_size, decoding.max_new_tokens, config.bin_size,
                               config.group_size)
    run = run_scheduled(model, tokenizer, requests, predicted, scheduler, decoding,
                        prediction_s=prediction_s, quiet=config.quiet, prompts=prompts)
    return run, predicted


def _add_prediction_time(run, prediction_s: float) -> None:
    """Predicting runs before any request is served: it delays every completion."""
    run.wall_s += prediction_s
    for result in run.results:
        result.completion_s += prediction_s
    run.extra["prediction_s"] = prediction_s


_VLLM_ENGINES: dict = {}  # settings -> engine: starting one compiles for minutes


def shared_vllm_engine(model, prompts, decoding: DecodingConfig,
                       config: SweepConfig) -> VllmEngine:
    """The process's vLLM engine for these settings (rebuilt when they change), in the HF
    model's dtype; in float32 its greedy answers match the other engines' token for token."""

    max_model_len = max(len(p) for p in prompts) + decoding.max_new_tokens
    settings = (config.model, dtype_name(model.dtype), config.batch_size, max_model_len,
                config.seed, config.vllm_eager, config.tensor_parallel_size,
                config.pipeline_parallel_size)
    if settings not in _VLLM_ENGINES:
        _VLLM_ENGINES.clear()  # one engine at a time: each holds the model and a KV cache
        engine = VllmEngine(
            config.model, dtype=settings[1], max_num_seqs=config.batch_size,
            max_model_len=max_model_len, seed=config.seed, compile=not config.vllm_eager,
            tensor_parallel_size=config.tensor_parallel_size,
            pipeline_parallel_size=config.pipeline_parallel_size)
        warm_up_vllm(engine, decoding)
        _VLLM_ENGINES[settings] = engine
    return _VLLM_ENGINES[settings]


def run_sweep(config: SweepConfig) -> list[dict]:
    """Measure `config.specs` back to back, `config.repeats` rounds, appending one record per
    finished spec to `config.out` and resuming after the last finished one. Returns the rounds:
    [{spec name: record}, ...] (`seqsch.bench.report` tabulates them)."""

    specs = config.run_specs
    predictor_hashes = {source: predictor_sha256(source, config.probe) for source in
                        hashed_sources({spec.source for spec in specs}, bool(config.replay))}
    model, tokenizer = load_model(config.model, device=config.device, dtype=config.dtype)
    decoding = DECODING_PRESETS[config.decoding].with_(
        max_new_tokens=config.max_new_tokens, temperature=config.temperature, seed=config.seed)
    replayed = None
    if config.replay:
        workload = replay_workload(config.replay, config.num_data, len(tokenizer),
                                   config.replay_prompt_tokens, config.max_new_tokens, config.seed)
        requests, prompts = workload.requests, workload.prompts
        known = {r.id: n for r, n in zip(requests, workload.oracle)}
        replayed = workload.predictions_by_source()
    else:
        requests, known = load_workload(config, tokenizer)
        prompts = encode_prompts(tokenizer, requests)
    record_config = run_config(config, [r.id for r in requests])
    done = finished_specs(config.out, record_config,
                          [s.name for s in specs] if config.repeats > 1 else None,
                          predictor_hashes)
    # Warm-up, excluded from timing; then step timings at a few batch sizes for the fit.
    warm_up_engines(model, tokenizer, requests, prompts, decoding)
    is_calibrated = ("vanilla", 0) in done or RunSpec() not in specs  # the fit needs static vanilla
    # VBS batches reach the VBS table's largest size: calibrate up to it (a fit extrapolated
    # from batches of 32 to 256 rows would misprice them)
    batch_sizes = {2, config.batch_size, 2 * config.batch_size}
    if any(spec.vbs for spec in specs):  # none larger than a group of this workload
        largest = min(config.group_size or len(requests), len(requests))
        batch_sizes |= {size for _, size in PAPER_VBS_TABLE if size <= largest}
    calibration = ([], []) if is_calibrated else calibration_records(model, prompts,
                                                                     sorted(batch_sizes))

    rounds, cost_model, oracle_by_engine = [], None, {}
    for repeat in range(config.repeats):
        records = {}
        for spec in specs:
            key = (spec.name, repeat)
            if key in done:
                record = done[key]
                print(f"{spec.name}{_round_label(repeat, config)}: already measured in "
                      f"{config.out}, skipped")
            else:
                print(f"== {spec.name}{_round_label(repeat, config)} ==", flush=True)
                oracle = known or oracle_by_engine.get(spec.engine) or next(
                    iter(oracle_by_engine.values()), {})  # another engine's: same tokens in fp32
                run, predicted = run_spec(spec, model, tokenizer, requests, prompts, decoding,
                                          oracle, config, replayed)
                record = {"spec": spec.name, "config": record_config,
                          "environment": environment(run), "summary": run.summary(),
                          "extra": run.extra, "predicted_lengths": predicted,
                          "actual_lengths": [r.num_output_tokens for r in run.results]}
                if spec.source in predictor_hashes:  # its content, not only its folder
                    record["predictor_sha256"] = predictor_hashes[spec.source]
                if config.repeats > 1:
                    record["repeat"] = repeat
                if spec.name == "vanilla" and repeat == 0:  # with the calibration steps
                    record["cost_model"] = asdict(fit_from_runs([run], "benchmark-fit",
                                                                *calibration))
                record["simulated"] = simulated_summary(
                    spec, record, predicted, cost_model or cost_model_of(record), config, prompts)
                config.out.parent.mkdir(parents=True, exist_ok=True)
                with config.out.open("a") as fh:
                    fh.write(json.dumps(record) + "\n")
            if spec.name == "vanilla" and cost_model is None:
                cost_model = cost_model_of(record)
            if spec.source == "vanilla":  # same prompts, decoding and engine: the oracle
                oracle_by_engine.setdefault(
                    spec.engine, dict(zip((r.id for r in requests), record["actual_lengths"])))
            records[spec.name] = record
        rounds.append(records)
    return rounds


def _round_label(repeat: int, config: SweepConfig) -> str:
    return f" (round {repeat + 1} of {config.repeats})" if config.repeats > 1 else ""
