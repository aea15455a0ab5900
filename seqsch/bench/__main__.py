"""The benchmark's command line: sweeps, their reports, the paper's table, length collection.

    python -m seqsch.bench sweep --sweep vanilla oracle+vbs+fcr continuous --num-data 128
    python -m seqsch.bench sweep --replay paper-val --sweep vanilla oracle --model random:tiny
    python -m seqsch.bench report data/bench-cpu-sharegpt.jsonl --figure 05_benchmark
    python -m seqsch.bench paper-table --replay data/replay-cpu-smollm2-135m.jsonl
    python -m seqsch.bench lengths collect --out build/lengths.jsonl --num-train 8 --num-val 4
    python -m seqsch.bench lengths summary data/lengths-smollm2-sharegpt.jsonl
    python -m seqsch.bench lengths recorded --out build/lengths-sharegpt-recorded.jsonl
    python -m seqsch.bench recorded-table --eval data/perception-eval-recorded.json
    python -m seqsch.bench serve --rates 1 4 inf --policies first-come oracle recorded-head@0.5

Each command's last line is a JSON summary. The library behind it: `seqsch.bench.runner`
(`run_sweep(SweepConfig(...))`), `seqsch.bench.report`, `seqsch.bench.paper_table`,
`seqsch.bench.lengths`.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from seqsch.bench.lengths import COLLECT_ENGINES, PAPER_TEMPERATURES, collect, summarize_lengths
from seqsch.bench.paper_table import (
    REPLAY_KEYS,
    REPLAY_SERIES,
    SIMULATED_KEYS,
    SIMULATED_SERIES,
    PaperTableConfig,
    markdown,
    replay_table,
    simulate_paper_table,
)
from seqsch.bench.provenance import hashed_sources, predictor_sha256
from seqsch.bench.recorded_table import DEFAULT_EVAL, recorded_table
from seqsch.bench.records import load_records, load_rounds
from seqsch.bench.replay import PAPER_PROMPT_TOKENS, REPLAYS
from seqsch.bench.report import markdown_table, median_summaries, print_table
from seqsch.bench.runner import SUMMARY_KEYS, run_sweep
from seqsch.bench.serving_bench import DEFAULT_MODEL as SERVING_MODEL
from seqsch.bench.serving_bench import ENGINES as SERVING_ENGINES
from seqsch.bench.serving_bench import POLICIES as SERVING_POLICIES
from seqsch.bench.serving_bench import (
    ServingBenchConfig,
    compare_with_simulation,
    run_serving_bench,
)
from seqsch.bench.serving_workloads import (
    SERVING_WORKLOADS,
    learned_predictors,
    serving_workload,
)
from seqsch.bench.specs import ENGINES, RunSpec, SweepConfig, run_sources
from seqsch.core.cli import non_negative_int, parse_args, positive_int, run
from seqsch.core.decoding import DECODING_PRESETS
from seqsch.core.length_records import load_length_file
from seqsch.core.models import DEFAULT as DEFAULT_MODEL
from seqsch.core.paths import BUILD_DIR, DEFAULT_LENGTHS
from seqsch.core.recorded import DEFAULT_RECORDED, build_recorded_file
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.lab.order_plots import throughput_and_completion
from seqsch.lab.plots import save_figure, speedup_chart
from seqsch.perception.query import DEFAULT_LORA_DECODE, QUERY_DECODES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seqsch.bench",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sweep", help="measure run specs back to back on one workload "
                       "(resumable JSONL record)")
    p.add_argument("--strategy", choices=run_sources(), default="vanilla",
                   help="the length source of a one-spec sweep (seqsch.core.sources)")
    p.add_argument("--vbs", action="store_true")
    p.add_argument("--fcr", action="store_true")
    p.add_argument("--engine", choices=ENGINES, default="static")
    p.add_argument("--sweep", nargs="+", metavar="SPEC",
                   help="run specs back to back, e.g. vanilla oracle+vbs+fcr continuous")
    p.add_argument("--num-data", type=positive_int, default=64)
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--bin-size", type=positive_int, default=50)
    p.add_argument("--max-new-tokens", type=positive_int, default=512)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--decoding", choices=sorted(DECODING_PRESETS), default=None,
                   help="default: embedded (greedy in trace replay, where tokens are "
                        "never read)")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--data", choices=["val", "sharegpt"], default="val",
                   help="val: validation prompts of the length file (oracle = its longest "
                   "sampled answer); sharegpt: other prompts (oracle = the vanilla run)")
    p.add_argument("--lengths", type=Path, default=DEFAULT_LENGTHS)
    p.add_argument("--replay", choices=REPLAYS, default=None,
                   help="trace replay (seqsch.bench.replay), any model, e.g. random:llama2-7b: "
                        "paper-val (Vicuna-7B's lengths; sources vanilla, oracle, standin) or "
                        "sharegpt-recorded (the recorded-lengths test split; sources vanilla, "
                        "oracle, recorded-head)")
    p.add_argument("--replay-prompt-tokens", type=positive_int, default=PAPER_PROMPT_TOKENS,
                   help="the replay's assumed prompt length (the length file has none)")
    p.add_argument("--group-size", type=positive_int, default=None,
                   help="schedule consecutive groups of this many requests apart, each "
                        "group's failures recomputed before the next (the paper: 256)")
    p.add_argument("--lora-decode", choices=QUERY_DECODES, default=DEFAULT_LORA_DECODE,
                   help="lora source: the median of the module's bucket distribution "
                        "(score) or its greedy answer (generate, the paper's)")
    p.add_argument("--probe", type=Path, default=None,
                   help="length-head / rank-head sources: a head folder other than the "
                        "source's own (seqsch.core.sources)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--out", type=Path, default=BUILD_DIR / "benchmark.jsonl",
                   help="JSONL record, one line per finished run spec (resumable)")
    p.add_argument("--vllm-eager", action="store_true",
                   help="vllm engine without compilation (starts in seconds, decodes slower)")
    p.add_argument("--tensor-parallel-size", type=positive_int, default=1,
                   help="vllm engine: GPUs per model replica (layers split across them)")
    p.add_argument("--pipeline-parallel-size", type=positive_int, default=1,
                   help="vllm engine: pipeline stages (e.g. nodes, with a Ray cluster)")
    p.add_argument("--repeats", type=positive_int, default=1,
                   help="run the sweep this many rounds, its specs in turn each round: "
                        "ratios are taken within a round, so a machine that drifts "
                        "between rounds does not bias them (the report shows medians)")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("report", help="tabulate a sweep's JSONL record")
    p.add_argument("path", type=Path)
    p.add_argument("--markdown", type=Path, help="also write a markdown table here")
    p.add_argument("--figure", help="also save a bar chart as figures/NAME.png")
    p.add_argument("--title", default="Benchmark", help="the figure's title")

    p = sub.add_parser("paper-table", help="the paper's table: simulated, or a replay beside it")
    p.add_argument("--replay", type=Path, help="a replay sweep's JSONL: measured rows")
    p.add_argument("--cost-model", default=PaperTableConfig.cost_model)
    p.add_argument("--markdown", type=Path, help="also write the table here")
    p.add_argument("--figure", help="also save the speed-ups as figures/NAME.png (or under "
                                    "$SEQSCH_FIGURES)")
    p.add_argument("--title", default=None, help="the figure's title")

    lengths = sub.add_parser("lengths", help="collect answer lengths, or summarize a length "
                             "file").add_subparsers(dest="lengths_command", required=True)
    c = lengths.add_parser("collect", help="answer prompts at several temperatures (resumable)")
    c.add_argument("--out", type=Path, default=BUILD_DIR / "lengths.jsonl",
                   help="the JSONL length file (resumable; data/... only when named here)")
    c.add_argument("--model", default="smollm2-135m-embedded")
    c.add_argument("--num-train", type=non_negative_int, default=800)
    c.add_argument("--num-val", type=non_negative_int, default=200)
    c.add_argument("--temperatures", type=float, nargs="+", default=list(PAPER_TEMPERATURES))
    c.add_argument("--max-new-tokens", type=positive_int, default=512)
    c.add_argument("--engine", choices=COLLECT_ENGINES, default="transformers",
                   help="vllm needs its own environment: bash scripts/setup_vllm.sh")
    c.add_argument("--batch-size", type=positive_int, default=32,
                   help="rows per static batch, or concurrent requests with --engine vllm")
    c.add_argument("--chunk-size", type=positive_int, default=64)
    c.add_argument("--keep-finished", action="store_true",
                   help="keep ended rows in their batch (static batching) instead of dropping them")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--max-prompt-tokens", type=positive_int, default=256)
    c.add_argument("--decoding", choices=sorted(DECODING_PRESETS), default="embedded")
    c.add_argument("--dtype", default="auto")
    s = lengths.add_parser("summary", help="print the length statistics of a length file")
    s.add_argument("path", type=Path)
    r = lengths.add_parser("recorded", help="the sharegpt-recorded workload: ShareGPT's "
                           "reference answer lengths, filtered and split as vLLM's benchmark")
    r.add_argument("--out", type=Path, default=BUILD_DIR / DEFAULT_RECORDED.name,
                   help="the JSONL length file (data/... only when named here)")
    r.add_argument("--model", default=DEFAULT_MODEL, help="whose tokenizer counts the tokens")

    p = sub.add_parser("serve", help="real engines under Poisson arrivals beside the serving "
                       "simulator (resumable JSONL: one line per rate and policy)")
    p.add_argument("--engine", choices=SERVING_ENGINES, default="continuous")
    p.add_argument("--model", default=SERVING_MODEL)
    p.add_argument("--workload", choices=SERVING_WORKLOADS, default="sharegpt-recorded",
                   help="seqsch.bench.serving_workloads")
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL,
                   help="sharegpt-recorded: the learned source's evaluation file")
    p.add_argument("--num-requests", type=positive_int, default=64)
    p.add_argument("--max-new-tokens", type=positive_int, default=512, help="answers' cap")
    p.add_argument("--rates", type=float, nargs="+", default=[1.0, 4.0, math.inf],
                   metavar="RATE", help="requests per second; inf is a burst")
    p.add_argument("--policies", nargs="+", metavar="POLICY[@AGING]",
                   default=["first-come", "oracle", RECORDED_HEAD_SOURCE, "prompt-length"],
                   help=f"{', '.join(SERVING_POLICIES)}; @0.5: aged 0.5 per second waited")
    p.add_argument("--predictor-s", type=float, default=None,
                   help="seconds slept per learned prediction (default: its measured time)")
    p.add_argument("--live-head", action="store_true", help="vllm: run the recorded head on "
                   "each request as it arrives, instead of sleeping its measured time")
    p.add_argument("--head-threads", type=positive_int, default=None,
                   help="with --live-head: the head's threads (default 1)")
    p.add_argument("--num-slots", type=positive_int, default=16)
    p.add_argument("--seed", type=non_negative_int, default=0, help="the arrivals' seed")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--vllm-compile", action="store_true", help="compile vLLM's model (minutes)")
    p.add_argument("--out", type=Path, default=BUILD_DIR / "serving-bench.jsonl")

    p = sub.add_parser("recorded-table", help="the paper's table on the recorded lengths' test "
                       "split, simulated on the A100 model with each source's predictions")
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL,
                   help="an evaluation file of python -m seqsch.perception recorded-eval")

    return parser


def headline(summaries: dict[str, dict]) -> dict[str, dict]:
    """The JSON line's numbers: each spec's summary keys of `SUMMARY_KEYS`."""
    return {name: {k: summary.get(k) for k in SUMMARY_KEYS} for name, summary in summaries.items()}


def sweep(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    options = {k: v for k, v in vars(args).items()
               if k not in ("command", "strategy", "vbs", "fcr", "engine", "sweep")}
    specs = args.sweep or [RunSpec(args.strategy, args.vbs, args.fcr, args.engine).name]
    try:
        config = SweepConfig(specs=tuple(specs), **options)
        for source in hashed_sources({s.source for s in config.run_specs},
                                     config.replay is not None):
            predictor_sha256(source, config.probe)  # a missing predictor stops here, not later
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    rounds = run_sweep(config)
    print_table(rounds)
    return headline(median_summaries(rounds))


def report(args: argparse.Namespace) -> dict:
    rounds = load_rounds(args.path)
    print_table(rounds)
    if args.markdown:
        args.markdown.write_text(markdown_table(rounds))
    summaries = median_summaries(rounds)
    if args.figure:
        reference = "vanilla" if "vanilla" in summaries else next(iter(summaries))
        fig = throughput_and_completion(summaries, reference, args.title)
        print(f"saved {save_figure(fig, args.figure)}")
    return headline(summaries)


def paper_table(args: argparse.Namespace) -> dict:
    if args.replay:
        rows, keys = replay_table(load_records(args.replay)), REPLAY_KEYS
        series = REPLAY_SERIES
    else:
        table = simulate_paper_table(PaperTableConfig(cost_model=args.cost_model))
        rows, keys, series = table["rows"], SIMULATED_KEYS, SIMULATED_SERIES
    text = markdown(rows, keys)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    if args.figure:
        title = args.title or "Sequence scheduling on the paper's workload: speed-up over vanilla"
        print(f"saved {save_figure(speedup_chart(rows, series, title), args.figure)}")
    return {row["spec"]: row["x_vanilla"] for row in rows}


def lengths(args: argparse.Namespace) -> dict:
    if args.lengths_command == "recorded":
        return build_recorded_file(args.out, args.model)
    if args.lengths_command == "collect":
        decoding = DECODING_PRESETS[args.decoding].with_(max_new_tokens=args.max_new_tokens)
        collect(args.out, args.model, args.num_train, args.num_val, decoding,
                args.temperatures, args.batch_size, args.chunk_size, args.seed,
                args.max_prompt_tokens, args.dtype, drop_finished=not args.keep_finished,
                engine=args.engine)
        args.path = args.out
    summary = summarize_lengths(load_length_file(args.path).records)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    try:
        config = ServingBenchConfig(
            engine=args.engine, model=args.model, num_requests=args.num_requests,
            request_rates=tuple(args.rates), policies=tuple(args.policies),
            num_slots=args.num_slots, seed=args.seed, dtype=args.dtype,
            vllm_eager=not args.vllm_compile, out=args.out)
        workload = serving_workload(args.workload, args.num_requests, args.model,
                                    args.max_new_tokens, args.eval)
        predictors = learned_predictors(workload, config, args.predictor_s, args.live_head,
                                        args.head_threads)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    rows = run_serving_bench(config, workload.requests, workload.learned, predictors,
                             prompts=workload.prompts)
    if (agreement := getattr(predictors.get(RECORDED_HEAD_SOURCE), "agreement", None)) is not None:
        print(f"live head: {agreement} of {args.num_requests} predictions equal the evaluation's")
    for cell in compare_with_simulation(rows):
        measured, simulated = cell["measured"], cell["simulated"]
        print(f"{cell['request_rate']:>8g}/s {cell['policy']:<16} mean latency "
              f"{measured['mean_latency_s']:7.3f} s (simulated {simulated['mean_latency_s']:7.3f},"
              f" gap {cell['mean_latency_gap']:+.1%}), p99 {measured['p99_latency_s']:7.3f} s")
    return {f"{row['request_rate']:g}/{row['policy']}": round(row["summary"]["mean_latency_s"], 4)
            for row in rows}


def recorded(args: argparse.Namespace) -> dict:
    table = recorded_table(args.eval)
    for row in table["rows"]:
        print(f"{row['label']:<34} {row['samples_per_s']:6.2f} samples/s  "
              f"{row['x_vanilla']:5.2f}x  ETR {row['effective_token_ratio']:.1%}")
    return {row["label"]: round(row["x_vanilla"], 4) for row in table["rows"]}


def main(argv=None) -> dict:
    parser = build_parser()
    args = parse_args(parser, argv)
    if args.command == "sweep":
        result = sweep(args, parser)
    elif args.command == "serve":
        result = serve(args, parser)
    else:
        result = {"report": report, "paper-table": paper_table, "lengths": lengths,
                  "recorded-table": recorded}[args.command](args)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    run(main)
