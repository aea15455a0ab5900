"""The benchmark's command line: sweeps, their reports, the paper's table, length collection.

    python -m seqsch.bench sweep --specs vanilla oracle+vbs+fcr continuous --num-data 128
    python -m seqsch.bench sweep --replay paper-val --specs vanilla oracle --model random:tiny
    python -m seqsch.bench report data/bench-cpu-sharegpt.jsonl --figure 05_benchmark
    python -m seqsch.bench paper-table --replay data/replay-cpu-smollm2-135m.jsonl
    python -m seqsch.bench lengths collect --out build/lengths.jsonl --num-train 8 --num-val 4
    python -m seqsch.bench lengths summary data/lengths-smollm2-sharegpt.jsonl
    python -m seqsch.bench lengths recorded --out build/lengths-sharegpt-recorded.jsonl
    python -m seqsch.bench recorded-table --eval data/perception-eval-recorded.json
    python -m seqsch.bench serve --request-rates 1 4 inf --policies first-come recorded-head@0.5

Each command's options are the fields of one library config (`CONFIGS`: their defaults and
help texts live there), plus the inputs and outputs of `NON_CONFIG_OPTIONS`. Each command's
last line is a JSON summary. The library behind it: `seqsch.bench.runner`
(`run_sweep(SweepConfig(...))`), `seqsch.bench.report`, `seqsch.bench.paper_table`,
`seqsch.bench.lengths`, `seqsch.bench.serving_bench`, `seqsch.bench.recorded_table`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqsch.bench.lengths import CollectConfig, collect_lengths, summarize_lengths
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
from seqsch.bench.recorded_table import DEFAULT_EVAL, RecordedTableConfig, recorded_table
from seqsch.bench.records import load_records, load_rounds
from seqsch.bench.report import markdown_table, median_summaries, print_table
from seqsch.bench.runner import SUMMARY_KEYS, run_sweep
from seqsch.bench.serving_bench import (
    ServingBenchConfig,
    compare_with_simulation,
    run_serving_bench,
)
from seqsch.bench.serving_workloads import learned_predictors, serving_workload
from seqsch.bench.specs import SweepConfig
from seqsch.core.cli import parse_args, run
from seqsch.core.config_args import add_config_arguments, config_from_args
from seqsch.core.length_records import load_length_file
from seqsch.core.models import DEFAULT as DEFAULT_MODEL
from seqsch.core.paths import BUILD_DIR
from seqsch.core.recorded import DEFAULT_RECORDED, RecordedConfig, build_recorded_file
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.lab.order_plots import throughput_and_completion
from seqsch.lab.plots import save_figure, speedup_chart

# each command's config (`lengths collect` is "collect"); report and lengths summary have none
CONFIGS = {"sweep": SweepConfig, "paper-table": PaperTableConfig, "collect": CollectConfig,
           "recorded": RecordedConfig, "serve": ServingBenchConfig,
           "recorded-table": RecordedTableConfig}
# the options that are no config's field: a command's inputs and extra outputs
NON_CONFIG_OPTIONS = {"report": ("path", "--markdown", "--figure", "--title"),
                      "paper-table": ("--replay", "--markdown", "--figure", "--title"),
                      "summary": ("path",), "recorded": ("--out", "--model"),
                      "recorded-table": ("--eval",)}


def command_of(args: argparse.Namespace) -> str:
    """The key of `CONFIGS` / `NON_CONFIG_OPTIONS`: the command, or the lengths command."""
    return args.lengths_command if args.command == "lengths" else args.command


Config = (SweepConfig | PaperTableConfig | CollectConfig | RecordedConfig | ServingBenchConfig
          | RecordedTableConfig)


def build_config(args: argparse.Namespace) -> Config | None:
    """The config of the command `args` parsed, from its options (None: report, summary)."""
    config_cls = CONFIGS.get(command_of(args))
    return None if config_cls is None else config_from_args(config_cls, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m seqsch.bench",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sweep", help="measure run specs back to back on one workload "
                       "(resumable JSONL record)")
    add_config_arguments(p, SweepConfig)

    p = sub.add_parser("report", help="tabulate a sweep's JSONL record")
    p.add_argument("path", type=Path)
    p.add_argument("--markdown", type=Path, help="also write a markdown table here")
    p.add_argument("--figure", help="also save a bar chart as figures/NAME.png")
    p.add_argument("--title", default="Benchmark", help="the figure's title")

    p = sub.add_parser("paper-table", help="the paper's table: simulated, or a replay beside it")
    p.add_argument("--replay", type=Path, help="a replay sweep's JSONL: measured rows (the "
                   "other options but --markdown, --figure, --title: the simulated table)")
    add_config_arguments(p, PaperTableConfig)
    p.add_argument("--markdown", type=Path, help="also write the table here")
    p.add_argument("--figure", help="also save the speed-ups as figures/NAME.png (or under "
                                    "$SEQSCH_FIGURES)")
    p.add_argument("--title", default=None, help="the figure's title")

    lengths = sub.add_parser("lengths", help="collect answer lengths, or summarize a length "
                             "file").add_subparsers(dest="lengths_command", required=True)
    c = lengths.add_parser("collect", help="answer prompts at several temperatures (resumable)")
    add_config_arguments(c, CollectConfig)
    s = lengths.add_parser("summary", help="print the length statistics of a length file")
    s.add_argument("path", type=Path)
    r = lengths.add_parser("recorded", help="the sharegpt-recorded workload: ShareGPT's "
                           "reference answer lengths, filtered and split as vLLM's benchmark")
    r.add_argument("--out", type=Path, default=BUILD_DIR / DEFAULT_RECORDED.name,
                   help="the JSONL length file (data/... only when named here)")
    r.add_argument("--model", default=DEFAULT_MODEL, help="whose tokenizer counts the tokens")
    add_config_arguments(r, RecordedConfig)

    p = sub.add_parser("serve", help="real engines under Poisson arrivals beside the serving "
                       "simulator (resumable JSONL: one line per rate and policy)")
    add_config_arguments(p, ServingBenchConfig)

    p = sub.add_parser("recorded-table", help="the paper's table on the recorded lengths' test "
                       "split, simulated on the A100 model with each source's predictions")
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL,
                   help="an evaluation file of python -m seqsch.perception recorded-eval")
    add_config_arguments(p, RecordedTableConfig)

    return parser


def headline(summaries: dict[str, dict]) -> dict[str, dict]:
    """The JSON line's numbers: each spec's summary keys of `SUMMARY_KEYS`."""
    return {name: {k: summary.get(k) for k in SUMMARY_KEYS} for name, summary in summaries.items()}


def sweep(config: SweepConfig, parser: argparse.ArgumentParser) -> dict:
    try:
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


def paper_table(args: argparse.Namespace, config: PaperTableConfig) -> dict:
    if args.replay:
        rows, keys = replay_table(load_records(args.replay)), REPLAY_KEYS
        series = REPLAY_SERIES
    else:
        table = simulate_paper_table(config)
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


def lengths(args: argparse.Namespace, config: CollectConfig | RecordedConfig | None) -> dict:
    if args.lengths_command == "recorded":
        return build_recorded_file(args.out, args.model, config)
    path = collect_lengths(config) if args.lengths_command == "collect" else args.path
    summary = summarize_lengths(load_length_file(path).records)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}


def serve(config: ServingBenchConfig, parser: argparse.ArgumentParser) -> dict:
    try:
        workload = serving_workload(config.workload, config.num_requests, config.model,
                                    config.max_new_tokens, config.eval_path)
        predictors = learned_predictors(workload, config, config.predictor_s, config.live_head,
                                        config.head_threads)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    rows = run_serving_bench(config, workload.requests, workload.learned, predictors,
                             prompts=workload.prompts)
    if (agreement := getattr(predictors.get(RECORDED_HEAD_SOURCE), "agreement", None)) is not None:
        print(f"live head: {agreement} of {config.num_requests} predictions equal the "
              "evaluation's")
    for cell in compare_with_simulation(rows):
        measured, simulated = cell["measured"], cell["simulated"]
        print(f"{cell['request_rate']:>8g}/s {cell['policy']:<16} mean latency "
              f"{measured['mean_latency_s']:7.3f} s (simulated {simulated['mean_latency_s']:7.3f},"
              f" gap {cell['mean_latency_gap']:+.1%}), p99 {measured['p99_latency_s']:7.3f} s")
    return {f"{row['request_rate']:g}/{row['policy']}": round(row["summary"]["mean_latency_s"], 4)
            for row in rows}


def recorded(args: argparse.Namespace, config: RecordedTableConfig) -> dict:
    table = recorded_table(args.eval, config=config)
    for row in table["rows"]:
        print(f"{row['label']:<34} {row['samples_per_s']:6.2f} samples/s  "
              f"{row['x_vanilla']:5.2f}x  ETR {row['effective_token_ratio']:.1%}")
    return {row["label"]: round(row["x_vanilla"], 4) for row in table["rows"]}


def main(argv=None) -> dict:
    parser = build_parser()
    args = parse_args(parser, argv)
    try:
        config = build_config(args)
    except ValueError as error:  # a config's own check: one line, as the parser's
        parser.error(str(error))
    if args.command in ("sweep", "serve"):
        result = {"sweep": sweep, "serve": serve}[args.command](config, parser)
    elif args.command == "report":
        result = report(args)
    else:
        result = {"paper-table": paper_table, "lengths": lengths,
                  "recorded-table": recorded}[args.command](args, config)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    run(main)
