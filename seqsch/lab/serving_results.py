"""The results page's sections on serving under load: simulated at 7B scale on the A100 model
(section 8), and measured under vLLM on this CPU (section 9).

Section 8 is computed from the committed recorded-lengths evaluation
(`data/perception-eval-recorded.json`) by `seqsch.bench.serving_projection`: first come, the
oracle, the recorded head and the prompt's length as shortest-first priorities, at rates from
half the engine's capacity to twice it, and what aging (a waiting request's priority improving
with its wait) trades between mean and tail. Section 9 reads the measured sweep
(`data/serving-vllm-cpu.jsonl`, `seqsch.bench.serving_measured`), each cell beside the
simulator fitted to the run, and its targets met or missed.

    title, what, data, command, tables = serving_section()
    title, what, data, command, tables = measured_serving_section()
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from seqsch.bench.serving_bench import parse_policy
from seqsch.bench.serving_compare import fit_serving_cost_model
from seqsch.bench.serving_measured import (
    REFERENCE,
    measured_rows,
    serving_capacity,
    simulated_aging,
)
from seqsch.bench.serving_projection import MIN_GAIN, project_serving, tail_setting
from seqsch.core.files import read_jsonl
from seqsch.core.paths import DATA_DIR, DEFAULT_RECORDED, DEFAULT_RECORDED_EVAL, SERVING_CPU
from seqsch.core.random_weights import num_parameters, read_config
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.lab.serving_plots import break_even_phrase

POLICIES = ("oracle", RECORDED_HEAD_SOURCE, "prompt-length")
POLICY_LABELS = {"oracle": "oracle", RECORDED_HEAD_SOURCE: "recorded head",
                 "prompt-length": "prompt length"}
MAX_P99_X = 1.25  # the tail a starvation guard should hold, against first come's p99


def rate_table(rows: list[dict]) -> str:
    """Per rate: first come's mean and p99 latency, each policy's ratios to them (no aging)."""
    header = ["rate x capacity", "first come: mean s", "p99 s"]
    header += [f"{POLICY_LABELS[p]}: mean x, p99 x" for p in POLICIES]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rate in sorted({r["rate_x_capacity"] for r in rows}):
        at = {r["policy"]: r for r in rows if r["rate_x_capacity"] == rate
              and r["aging_per_s"] == 0.0}
        base = at["first-come"]
        cells = [f"{rate:.1f}", f"{base['mean_latency_s']:.1f}", f"{base['p99_latency_s']:.1f}"]
        cells += [f"{at[p]['mean_latency_x_first_come']:.2f}, "
                  f"{at[p]['p99_latency_x_first_come']:.2f}" for p in POLICIES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def aging_table(rows: list[dict], policy: str = RECORDED_HEAD_SOURCE,
                rate_key: str = "rate_x_capacity", rate_label=None, what: str = "") -> str:
    """`policy`'s mean and p99 latency against first come's for every aging (a line each) and
    rate (a column each, by `rate_key`, headed by `rate_label(row)`; default "1.2x capacity")."""
    rate_label = rate_label or (lambda row: f"{row['rate_x_capacity']:.1f}x capacity")
    rates = sorted({r[rate_key] for r in rows})
    labels = {rate: rate_label(next(r for r in rows if r[rate_key] == rate)) for rate in rates}
    lines = [f"| {POLICY_LABELS[policy]}{what}: aging (tokens per s waited) | "
             + " | ".join(labels[rate] for rate in rates) + " |",
             "|" + "---|" * (len(rates) + 1)]
    for aging in sorted({r["aging_per_s"] for r in rows if r["policy"] == policy}):
        own = {r[rate_key]: r for r in rows
               if r["policy"] == policy and r["aging_per_s"] == aging}
        lines.append(f"| {aging:g} | " + " | ".join(
            f"{own[rate]['mean_latency_x_first_come']:.2f}, "
            f"{own[rate]['p99_latency_x_first_come']:.2f}" for rate in rates) + " |")
    return "\n".join(lines) + "\n"


def serving_section(data_dir: Path = DATA_DIR) -> tuple[str, str, str, str, str]:
    """The results page's section 8: (title, what, data, command, tables)."""
    projection = project_serving(data_dir / DEFAULT_RECORDED_EVAL.name)
    rows, break_even = projection["rows"], projection["break_even_x_capacity"]
    top = max(r["rate_x_capacity"] for r in rows)
    learned_top = next(r for r in rows if r["policy"] == RECORDED_HEAD_SOURCE
                       and r["aging_per_s"] == 0 and r["rate_x_capacity"] == top)
    guard = tail_setting(rows, RECORDED_HEAD_SOURCE, MAX_P99_X)
    pays = ", ".join(f"{POLICY_LABELS[p]} from {break_even[p]:.2f}x" if break_even[p] else
                     f"{POLICY_LABELS[p]} never" for p in POLICIES)
    guard_text = (f"aging {guard['aging_per_s']:g} holds it, at "
                  f"{guard['best_mean_x_first_come']:.2f}-{guard['worst_mean_x_first_come']:.2f}x"
                  " first come's mean" if guard else "no aging of the sweep holds it")
    what = (
        f"The {projection['num_requests']:,} recorded-length test prompts arriving as a Poisson "
        f"stream (seed {projection['config']['seed']}), each answer at its recorded length, "
        f"through {projection['config']['num_slots']} continuous-batch slots priced by the "
        "analytic A100 model of Vicuna-7B calibrated on the paper's vanilla row; capacity "
        f"{projection['capacity_requests_per_s']:.2f} requests/s. The recorded head runs in the "
        f"request path: {1000 * projection['predictor_s_per_request']:.1f} ms per request (its "
        "measured share of a 7B request's FLOPs, taken as its share of the machine's time per "
        "request). A policy pays "
        f"from the rate where it cuts first come's mean latency by {MIN_GAIN:.0%}: {pays} of "
        f"capacity. At {top:.1f}x capacity the recorded head gives "
        f"{learned_top['mean_latency_x_first_come']:.2f}x first come's mean latency and "
        f"{learned_top['p99_latency_x_first_come']:.2f}x its p99; holding p99 within "
        f"{MAX_P99_X}x first come's at every rate: {guard_text}. Section 9 measures the same "
        "policies under vLLM on this CPU.")
    command = ("python -c \"from seqsch.bench.serving_projection import project_serving; "
               "print(project_serving())\"   # instant, from the evaluation file")
    tables = rate_table(rows) + "\n" + aging_table(rows)
    return ("8. Serving under load, simulated at 7B scale", what,
            f"`data/{DEFAULT_RECORDED_EVAL.name}`, `data/{DEFAULT_RECORDED.name}`", command,
            tables)


AGING_RANGE = (0.0, 3.0, 7.0, 14.0, 30.0, 60.0)  # tokens per second waited, simulated
MAX_SIMULATOR_GAP = 0.15  # the simulator's target against every measured mean latency
MAX_TOP_RATE_X = 0.75  # the learned order's target at the highest rate, x first come's mean
MAX_LIGHT_RATE_X = 1.05  # ... and at the lightest rate


def _rate_label(row: dict) -> str:
    if math.isinf(row["request_rate"]):
        return "burst"
    return f"{row['request_rate']:g} ({row['rate_x_capacity']:.2f}x)"


def _policy_label(row: dict) -> str:
    label = POLICY_LABELS[row["policy"]]
    return label if not row["aging_per_s"] else f"{label}, aging {row['aging_per_s']:g}"


def measured_table(rows: list[dict]) -> str:
    """Per rate: first come's mean and p99, each other cell's ratios to them (the mean also
    on the step clock, which the machine's drifting speed does not move), and the simulator's
    largest mean-latency gap at that rate."""
    labels = list(dict.fromkeys(_policy_label(r) for r in rows if not r["is_reference"]))
    header = ["rate, req/s (x capacity)", "first come: mean s, p99 s"]
    header += [f"{label}: mean x (steps x), p99 x" for label in labels]
    header += ["simulator: largest gap (own steps)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rate in sorted({r["request_rate"] for r in rows}):
        at = [r for r in rows if r["request_rate"] == rate]
        base = next(r for r in at if r["is_reference"])
        by_label = {_policy_label(r): r for r in at if not r["is_reference"]}
        cells = [_rate_label(base), f"{base['mean_latency_s']:.1f}, {base['p99_latency_s']:.1f}"]
        cells += [f"{by_label[k]['mean_latency_x_first_come']:.2f} "
                  f"({by_label[k]['mean_latency_steps_x_first_come']:.2f}), "
                  f"{by_label[k]['p99_latency_x_first_come']:.2f}" if k in by_label else "-"
                  for k in labels]
        worst = max(at, key=lambda r: abs(r["mean_latency_gap"]))
        own = max(at, key=lambda r: abs(r["mean_latency_gap_own_steps"]))
        cells.append(f"{worst['mean_latency_gap']:+.1%} "
                     f"({own['mean_latency_gap_own_steps']:+.1%})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(rows: list[dict], policy: str, rate: float) -> dict:
    """The unaged row of `policy` at `rate`; a clear error when the sweep lacks it."""
    row = next((r for r in rows if r["policy"] == policy and r["aging_per_s"] == 0
                and r["request_rate"] == rate), None)
    if row is None:
        raise ValueError(f"the serving records have no {policy!r} cell at rate {rate:g} "
                         f"(section 9 reads {policy} at every rate)")
    return row


def measured_verdicts(rows: list[dict], aging_rows: list[dict]) -> list[str]:
    """The section's targets, each met or missed by how much, read on the measured rows (and,
    for the aging range, on the simulation fitted to them)."""
    finite = sorted({r["request_rate"] for r in rows if math.isfinite(r["request_rate"])})
    if not finite:
        raise ValueError("the serving records hold no finite request rate (only a burst)")
    top, light = (_cell(rows, RECORDED_HEAD_SOURCE, rate) for rate in (finite[-1], finite[0]))

    def verdict(value: float, limit: float) -> str:
        return "met" if value <= limit else f"missed by {value - limit:.2f}"

    queued = [r["request_rate"] for r in rows if r["is_reference"] and r["rate_x_capacity"] >= 1]
    beats = [rate for rate in queued if _cell(rows, RECORDED_HEAD_SOURCE, rate)["mean_latency_s"]
             < _cell(rows, "prompt-length", rate)["mean_latency_s"]]
    where = ", ".join(_rate_label(_cell(rows, REFERENCE, rate)) for rate in queued)
    worst_gap = abs(max(rows, key=lambda r: abs(r["mean_latency_gap"]))["mean_latency_gap"])
    worst_own = max(abs(r["mean_latency_gap_own_steps"]) for r in rows)
    steps_ms = [1000 * r["mean_step_s"] for r in rows]
    guard = tail_setting(aging_rows, RECORDED_HEAD_SOURCE, MAX_P99_X)
    return [
        f"At the highest rate ({_rate_label(top)}) the recorded head gives "
        f"{top['mean_latency_x_first_come']:.2f}x first come's mean latency, its prediction "
        f"included ({top['mean_latency_steps_x_first_come']:.2f}x on the step clock; target <= "
        f"{MAX_TOP_RATE_X}: "
        f"{verdict(top['mean_latency_x_first_come'], MAX_TOP_RATE_X)}).",
        f"At the lightest rate ({_rate_label(light)}): {light['mean_latency_x_first_come']:.2f}x "
        f"({light['mean_latency_steps_x_first_come']:.2f}x on the step clock; target <= "
        f"{MAX_LIGHT_RATE_X}: "
        f"{verdict(light['mean_latency_x_first_come'], MAX_LIGHT_RATE_X)}). There its engine "
        f"steps took {1000 * light['mean_step_s']:.0f} ms on average against first come's "
        f"{1000 * _cell(rows, REFERENCE, light['request_rate'])['mean_step_s']:.0f} ms, and "
        f"each request waited {light['predictor_s_per_request']:.2f} s for its prediction.",
        (f"Where a queue forms (at or above capacity: {where}) the recorded head beats prompt-"
         f"length order in mean latency at {len(beats)} of {len(queued)}." if queued else
         "No rate of the sweep reaches capacity, so no queue forms."),
        f"The simulator, on one cost model fitted to all the run's steps, lands within "
        f"{worst_gap:.1%} of every measured mean latency (target {MAX_SIMULATOR_GAP:.0%}: "
        f"{'met' if worst_gap <= MAX_SIMULATOR_GAP else 'missed'}); priced by each cell's own "
        f"steps, within {worst_own:.1%}. The cells' mean step ranged from {min(steps_ms):.0f} to "
        f"{max(steps_ms):.0f} ms: the engine's steps slow while the live head runs beside it "
        "(in the same process, on the same memory), and the machine's speed drifts between "
        "cells; the step clock sees neither.",
        (f"Holding p99 within {MAX_P99_X}x first come's at every rate: aging "
         f"{guard['aging_per_s']:g} tokens per s waited (simulated on the fitted cost model), "
         f"at {guard['best_mean_x_first_come']:.2f}-{guard['worst_mean_x_first_come']:.2f}x "
         "first come's mean." if guard else
         f"No simulated aging up to {max(AGING_RANGE):g} holds p99 within {MAX_P99_X}x first "
         "come's at every rate.")]


def measured_serving_section(data_dir: Path = DATA_DIR) -> tuple[str, str, str, str, str]:
    """The results page's section 9: (title, what, data, command, tables)."""
    records = read_jsonl(data_dir / SERVING_CPU.name)
    cost_model = fit_serving_cost_model(records)
    rows = measured_rows(records, cost_model)
    aging_rows = simulated_aging(records, RECORDED_HEAD_SOURCE, AGING_RANGE, cost_model)
    verdicts = measured_verdicts(rows, aging_rows)  # first: it names a missing cell
    config, environment = records[0]["config"], records[0]["environment"]
    engine = (f"vLLM {environment['vllm']}" if environment["engine"] == "vllm"
              else "transformers' continuous batching")
    head_records = [r for r in records if parse_policy(r["policy"])[0] == RECORDED_HEAD_SOURCE]
    is_live = all(r["predictor"]["mode"] == "callable" for r in head_records)
    predict_s = statistics.fmean(s for r in head_records for s in r["requests"]["predict_s"])
    agreements = {r.get("predictor_agreement") for r in head_records} - {None}
    cap = max(records[0]["requests"]["num_output_tokens"])
    served, predictor = (num_parameters(read_config(name)) / 1e6
                         for name in (config["model"], "smollm2-135m"))
    head_text = (
        "The recorded head runs live on each request as it arrives, one at a time on a worker "
        "thread beside the engine" if is_live else
        "The recorded head's measured time is slept in each request's path")
    check = (f"; {min(agreements)} of {config['num_requests']} of its predictions equal the "
             "evaluation's" if agreements else "")
    what = (
        f"{engine} on this machine's CPU ({environment['num_threads']} threads, "
        f"{environment['dtype']}, {config['num_slots']} slots, waiting requests admitted by "
        f"priority) serving random weights of the `{config['model'].removeprefix('random:')}` "
        f"shape ({served:.0f}M parameters, {served / predictor:.1f}x the predictor's model). "
        f"The first {config['num_requests']} prompts of the recorded-lengths test split arrive "
        f"as a Poisson stream (seed {config['seed']}) at each rate, and all at once in the "
        f"burst; every answer is forced to its recorded length (the longest {cap} tokens). "
        f"{head_text}: {predict_s:.2f} s per request, counted in its latency{check}. The "
        "evaluation's test predictions order the queue. Capacity "
        f"{serving_capacity(records, cost_model):.2f} requests/s on the cost model fitted to "
        f"the run's {sum(len(r['step_s']) for r in records):,} engine steps; the recorded head "
        f"{break_even_phrase(rows, RECORDED_HEAD_SOURCE, min_gain=MIN_GAIN)} (from a "
        f"{MIN_GAIN:.0%} cut in mean latency).\n\n"
        + "\n".join(f"- {line}" for line in verdicts))
    command = ("bash scripts/setup_vllm.sh   # .venv-vllm, once\n"
               f".venv-vllm/bin/python -m seqsch.bench serve --engine {environment['engine']} "
               f"--model {config['model']} \\\n    --dtype {config['dtype']} "
               f"--num-requests {config['num_requests']} --num-slots {config['num_slots']} "
               f"--seed {config['seed']} \\\n    --request-rates "
               + " ".join(f"{rate:g}" for rate in config["request_rates"])
               + " \\\n    --policies " + " ".join(config["policies"])
               + (" --live-head" if is_live else "")
               + " \\\n    --out build/serving-vllm-cpu.jsonl")
    tables = measured_table(rows) + "\n" + aging_table(
        aging_rows, RECORDED_HEAD_SOURCE, "request_rate", _rate_label, ", simulated")
    return ("9. Serving under load, measured on this CPU", what, f"`data/{SERVING_CPU.name}`",
            command, tables)
