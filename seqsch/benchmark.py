"""The benchmark: vanilla vs sequence scheduling vs continuous batching, on the real model.

Each run spec names a length source and options: `vanilla`, `gt+vbs+fcr`, `seqsch+vbs+fcr`,
`probe+vbs+fcr`, `po`, `continuous` (FIFO) or `continuous+gt` (shortest predicted first). A sweep
runs several specs back to back on the same prompts, so ratios come from one run; each finished
spec is appended to a JSONL record (config, versions, device, results) and a rerun with the same
settings resumes after the last finished spec. Beside each measurement it prints what the
simulator predicts with a cost model fitted to this run's own step times.

    python -m seqsch.benchmark --strategy gt --vbs --fcr --num-data 64
    python -m seqsch.benchmark --sweep vanilla gt+vbs+fcr seqsch+vbs+fcr continuous --num-data 128
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from seqsch.cost_model import fit_cost_model
from seqsch.decoding import DECODING_PRESETS
from seqsch.paths import BUILD_DIR, DEFAULT_ADAPTER, DEFAULT_LENGTHS, DEFAULT_PROBE
from seqsch.scheduler import SchedulerConfig, order_for_priority
from seqsch.simulate import simulate

SOURCES = ("vanilla", "gt", "seqsch", "probe", "po", "constant")
ENGINES = ("static", "continuous", "vllm")
SUMMARY_KEYS = ("samples_per_s", "tokens_per_s", "avg_length", "effective_token_ratio",
                "failure_ratio", "mean_completion_s")


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
        if self.source == "vanilla" and (self.vbs or self.fcr):
            raise ValueError("vanilla has no predictions: --vbs/--fcr need a length source")

    @classmethod
    def parse(cls, text: str) -> RunSpec:
        """`gt+vbs+fcr`, `continuous`, `continuous+gt`, `vllm+seqsch`: parts in any order."""
        parts = text.lower().split("+")
        engine = next((p for p in parts if p in ENGINES), "static")
        source = next((p for p in parts if p in SOURCES), "vanilla")
        unknown = set(parts) - set(SOURCES) - set(ENGINES) - {"vbs", "fcr"}
        if unknown:
            raise ValueError(f"cannot read run spec {text!r}: unknown part(s) {sorted(unknown)}")
        return cls(source, "vbs" in parts, "fcr" in parts, engine)

    @property
    def name(self) -> str:
        parts = [self.engine] * (self.engine != "static") + [self.source]
        return "+".join(parts + ["vbs"] * self.vbs + ["fcr"] * self.fcr)

    def scheduler(self, batch_size: int, max_new_tokens: int, bin_size: int) -> SchedulerConfig:
        strategy = "vanilla" if self.source == "vanilla" else "bin"
        return SchedulerConfig(strategy, batch_size=batch_size, max_new_tokens=max_new_tokens,
                               bin_size=bin_size, vbs=self.vbs, fcr=self.fcr)


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
    from seqsch.predictors import make_predictor

    name = {"seqsch": "lora", "po": "pia"}.get(spec.source, spec.source)
    predictor = make_predictor(name, model, tokenizer, lengths=args.lengths)
    predicted = predictor.predict(requests)
    fallback = sorted(p for p in predicted if p is not None)
    fallback = fallback[len(fallback) // 2] if fallback else args.max_new_tokens
    return [fallback if p is None else p for p in predicted], predictor.last_predict_s


def run_spec(spec: RunSpec, model, tokenizer, requests, prompts, decoding, known, args):
    predicted, prediction_s = predict(spec, requests, model, tokenizer, known, args)
    if spec.engine == "continuous":
        from seqsch.continuous import generate_continuous

        order = order_for_priority(predicted) if predicted is not None else None
        run = generate_continuous(model, tokenizer, requests, decoding, order=order,
                                  prompts=prompts, max_requests=args.batch_size,
                                  quiet=args.quiet)
        run.wall_s += prediction_s
        for result in run.results:
            result.completion_s += prediction_s
        return run, predicted
    if spec.engine == "vllm":
        from seqsch.vllm_engine import generate_vllm

        return generate_vllm(model, tokenizer, requests, decoding, predicted, prediction_s), \
            predicted
    from seqsch.pipeline import run_scheduled

    scheduler = spec.scheduler(args.batch_size, decoding.max_new_tokens, args.bin_size)
    run = run_scheduled(model, tokenizer, requests, predicted, scheduler, decoding,
                        prediction_s=prediction_s, quiet=args.quiet, prompts=prompts)
    return run, predicted


def available_specs(specs: list[str]) -> list[str]:
    """The specs that can run here; prints why the others are skipped (a missing trained
    predictor, an engine that is not installed)."""
    import importlib.util

    needs = {"seqsch": DEFAULT_ADAPTER, "probe": DEFAULT_PROBE}
    kept = []
    for text in specs:
        spec = RunSpec.parse(text)
        if spec.source in needs and not needs[spec.source].exists():
            print(f"skipping {text}: {needs[spec.source]} is missing (python -m seqsch.perception "
                  f"train --predictor {'lora' if spec.source == 'seqsch' else 'probe'})")
        elif spec.engine == "vllm" and importlib.util.find_spec("vllm") is None:
            print(f"skipping {text}: vLLM is not installed (see the README)")
        else:
            kept.append(text)
    return kept


def fit_from_run(run, name: str):
    """A cost model fitted to a static run's own step and prefill timings."""
    steps, prefills = [], []
    for batch in run.batches:
        prefills.append((batch.num_rows, batch.num_prompt_tokens, batch.prefill_s))
        for k, step_s in enumerate(batch.step_s, start=1):
            steps.append((batch.num_rows, batch.num_prompt_tokens + k, step_s))
    return fit_cost_model(steps, prefills, name, run.device)


def simulated_summary(spec, run, predicted, cost_model, args, prompts) -> dict | None:
    """What the simulator predicts for this spec, from the lengths this sweep measured."""
    if spec.engine != "static" or cost_model is None:
        return None
    true_lengths = [r.num_output_tokens for r in run.results]
    scheduler = spec.scheduler(args.batch_size, args.max_new_tokens, args.bin_size)
    sim = simulate(true_lengths, predicted or [None] * len(true_lengths), scheduler,
                   cost_model, [len(p) for p in prompts],
                   prediction_s=run.extra.get("prediction_s", 0.0))
    return sim.summary


def main(argv=None) -> dict:
    from seqsch.data import requests_by_id, sharegpt_workload
    from seqsch.generate import encode_prompts, generate
    from seqsch.length_records import read_length_file
    from seqsch.models import DEFAULT, load_model
    from seqsch.report import environment, print_table

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
                        help="val: validation prompts of the length file; sharegpt: a sample")
    parser.add_argument("--lengths", type=Path, default=DEFAULT_LENGTHS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "benchmark.jsonl",
                        help="JSONL record, one line per finished run spec (resumable)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    specs = [RunSpec.parse(s) for s in args.sweep] if args.sweep else [
        RunSpec(args.strategy, args.vbs, args.fcr, args.engine)]

    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    decoding = DECODING_PRESETS[args.decoding].with_(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed)
    known: dict[str, int] = {}
    if args.data == "val":
        records = [r for r in read_length_file(args.lengths) if r.split == "val"]
        if len(records) < args.num_data:
            raise ValueError(f"{args.lengths} has {len(records)} validation prompts; lower "
                             "--num-data or use --data sharegpt")
        records = records[: args.num_data]
        requests = requests_by_id([r.id for r in records])
        known = {r.id: r.max_length for r in records}
    else:
        requests = sharegpt_workload(tokenizer, args.num_data, args.seed)
    prompts = encode_prompts(tokenizer, requests)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "quiet")}
    config = json.loads(json.dumps(config, default=str))
    done = _finished_specs(args.out, config)
    # Warm-up, excluded from timing.
    generate(model, tokenizer, requests[:2], decoding.with_(max_new_tokens=4), quiet=True,
             prompts=prompts[:2])

    summaries, cost_model = {}, None
    for spec in specs:
        if spec.name in done:
            record = done[spec.name]
            print(f"{spec.name}: already measured in {args.out}, skipped")
        else:
            print(f"== {spec.name} ==", flush=True)
            run, predicted = run_spec(spec, model, tokenizer, requests, prompts, decoding,
                                      known, args)
            if spec.source == "vanilla" and spec.engine == "static":
                cost_model = fit_from_run(run, "benchmark-fit")
                known = known or {r.id: r.num_output_tokens for r in run.results}
            record = {"spec": spec.name, "config": config, "environment": environment(run),
                      "summary": run.summary(), "extra": run.extra,
                      "simulated": simulated_summary(spec, run, predicted, cost_model, args,
                                                     prompts),
                      "predicted_lengths": predicted,
                      "actual_lengths": [r.num_output_tokens for r in run.results]}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a") as fh:
                fh.write(json.dumps(record) + "\n")
        summaries[spec.name] = record
    print_table(summaries)
    final = {name: {k: rec["summary"].get(k) for k in SUMMARY_KEYS}
             for name, rec in summaries.items()}
    print(json.dumps(final))
    return final


def _finished_specs(path: Path, config: dict) -> dict:
    if not path.exists():
        return {}
    done = {}
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption
        if record.get("config") == config:
            done[record["spec"]] = record
    return done


if __name__ == "__main__":
    main()
