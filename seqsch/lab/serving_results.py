"""The results page's sections on serving under load: simulated at 7B scale on the A100 model
(section 8), and measured under vLLM on this CPU (section 9).

Section 8 is computed from the committed recorded-lengths evaluation
(`data/perception-eval-recorded.json`) by `seqsch.bench.serving_projection`: first come, the
oracle, the recorded head and the prompt's length as shortest-first priorities, at rates from
half the engine's capacity to twice it, and what aging (a waiting request's priority improving
with its wait) trades between mean and tail. Section 9 reads the measured sweep
(`data/serving-vllm-cpu.jsonl`, `seqsch.bench.serving_measured`), each cell beside the
simulator fitted to the run, and the issue's targets met or missed.

    title, what, data, command, tables = serving_section()
    title, what, data, command, tables = measured_serving_section()
"""

from __future__ import annotations

import math
from pathlib import Path

from seqsch.bench.serving_compare import fit_serving_cost_model
from seqsch.bench.serving_measured import measured_rows, simulated_aging
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


def aging_table(rows: list[dict], policy: str = RECORDED_HEAD_SOURCE) -> str:
    """`policy`'s mean and p99 latency against first come's for every aging and rate."""
    rates = sorted({r["rate_x_capacity"] for r in rows})
    lines = [f"| {POLICY_LABELS[policy]}: aging (tokens per s waited) | "
             + " | ".join(f"{rate:.1f}x capacity" for rate in rates) + " |",
             "|" + "---|" * (len(rates) + 1)]
    for aging in sorted({r["aging_per_s"] for r in rows if r["policy"] == policy}):
        own = {r["rate_x_capacity"]: r for r in rows
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


MEASURED_POLICIES = ("oracle", RECORDED_HEAD_SOURCE, "prompt-length")
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
    """Per rate: first come's mean and p99, each other cell's ratios to them, and the
    simulator's largest mean-latency gap at that rate."""
    labels = list(dict.fromkeys(_policy_label(r) for r in rows if not r["is_reference"]))
    header = ["rate, req/s (x capacity)", "first come: mean s, p99 s"]
    header += [f"{label}: mean x, p99 x" for label in labels] + ["simulator, largest gap"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rate in sorted({r["request_rate"] for r in rows}):
        at = [r for r in rows if r["request_rate"] == rate]
        base = next(r for r in at if r["is_reference"])
        by_label = {_policy_label(r): r for r in at if not r["is_reference"]}
        cells = [_rate_label(base), f"{base['mean_latency_s']:.1f}, {base['p99_latency_s']:.1f}"]
        cells += [f"{by_label[k]['mean_latency_x_first_come']:.2f}, "
                  f"{by_label[k]['p99_latency_x_first_come']:.2f}" if k in by_label else "-"
                  for k in labels]
        worst = max(at, key=lambda r: abs(r["mean_latency_gap"]))
        cells.append(f"{worst['mean_latency_gap']:+.1%}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def measured_aging_table(rows: list[dict], policy: str = RECORDED_HEAD_SOURCE) -> str:
    """The simulated aging range on the run's fitted cost model: mean x, p99 x per rate."""
    rates = sorted({r["request_rate"] for r in rows})
    labels = {rate: _rate_label(next(r for r in rows if r["request_rate"] == rate))
              for rate in rates}
    lines = [f"| {POLICY_LABELS[policy]}, simulated: aging (tokens per s waited) | "
             + " | ".join(labels[rate] for rate in rates) + " |",
             "|" + "---|" * (len(rates) + 1)]
    for aging in sorted({r["aging_per_s"] for r in rows if r["policy"] == policy}):
        own = {r["request_rate"]: r for r in rows
               if r["policy"] == policy and r["aging_per_s"] == aging}
        lines.append(f"| {aging:g} | " + " | ".join(
            f"{own[rate]['mean_latency_x_first_come']:.2f}, "
            f"{own[rate]['p99_latency_x_first_come']:.2f}" for rate in rates) + " |")
    return "\n".join(lines) + "\n"


def measured_verdicts(rows: list[dict], aging_rows: list[dict]) -> list[str]:
    """The issue's targets, each met or missed by how much, read on the measured rows (and,
    for the aging range, on the simulation fitted to them)."""
    finite = sorted({r["request_rate"] for r in rows if math.isfinite(r["request_rate"])})
    head = {r["request_rate"]: r for r in rows
            if r["policy"] == RECORDED_HEAD_SOURCE and r["aging_per_s"] == 0}
    prompt = {r["request_rate"]: r for r in rows if r["policy"] == "prompt-length"}
    top, light = head[finite[-1]], head[finite[0]]

    def verdict(value: float, limit: float) -> str:
        return ("met" if value <= limit else f"missed by {value - limit:.2f}")

    queued = [rate for rate in head if rate in prompt
              and next(r for r in rows if r["is_reference"] and r["request_rate"] == rate)
              ["rate_x_capacity"] >= 1.0]
    beats = [rate for rate in queued if head[rate]["mean_latency_s"]
             < prompt[rate]["mean_latency_s"]]
    worst_gap = max(rows, key=lambda r: abs(r["mean_latency_gap"]))
    guard = tail_setting(aging_rows, RECORDED_HEAD_SOURCE, MAX_P99_X)
    lines = [
        f"At the highest rate ({_rate_label(top)}) the recorded head gives "
        f"{top['mean_latency_x_first_come']:.2f}x first come's mean latency, its prediction "
        f"included (target <= {MAX_TOP_RATE_X}: "
        f"{verdict(top['mean_latency_x_first_come'], MAX_TOP_RATE_X)}).",
        f"At the lightest rate ({_rate_label(light)}): {light['mean_latency_x_first_come']:.2f}x "
        f"(target <= {MAX_LIGHT_RATE_X}: "
        f"{verdict(light['mean_latency_x_first_come'], MAX_LIGHT_RATE_X)}).",
        f"Where a queue forms (capacity or more, and the burst) the recorded head beats prompt-"
        f"length order in mean latency at {len(beats)} of {len(queued)} rates.",
        f"The simulator lands within {abs(worst_gap['mean_latency_gap']):.1%} of every measured "
        f"mean latency (target {MAX_SIMULATOR_GAP:.0%}: "
        f"{'met' if abs(worst_gap['mean_latency_gap']) <= MAX_SIMULATOR_GAP else 'missed'}).",
        (f"Holding p99 within {MAX_P99_X}x first come's at every rate: aging "
         f"{guard['aging_per_s']:g} (simulated on the fitted cost model), at "
         f"{guard['best_mean_x_first_come']:.2f}-{guard['worst_mean_x_first_come']:.2f}x "
         "first come's mean." if guard else
         f"No simulated aging up to {max(AGING_RANGE):g} holds p99 within {MAX_P99_X}x first "
         "come's at every rate.")]
    return lines


def measured_serving_section(data_dir: Path = DATA_DIR) -> tuple[str, str, str, str, str]:
    """The results page's section 9: (title, what, data, command, tables)."""
    records = read_jsonl(data_dir / SERVING_CPU.name)
    cost_model = fit_serving_cost_model(records)
    rows = measured_rows(records, cost_model)
    aging_rows = simulated_aging(records, RECORDED_HEAD_SOURCE, AGING_RANGE, cost_model)
    config, environment = records[0]["config"], records[0]["environment"]
    head = [r for r in rows if r["policy"] == RECORDED_HEAD_SOURCE]
    predict_s = sum(r["predictor_s_per_request"] for r in head) / len(head)
    capacity = rows[0]["request_rate"] / rows[0]["rate_x_capacity"]
    pays = break_even_phrase(rows, RECORDED_HEAD_SOURCE, min_gain=MIN_GAIN)
    cap = max(records[0]["requests"]["num_output_tokens"])
    served, predictor = (num_parameters(read_config(name)) / 1e6
                         for name in (config["model"], "smollm2-135m"))
    what = (
        f"vLLM {environment.get('vllm')} on this machine's CPU ({environment['dtype']}, "
        f"priority scheduling, {config['num_slots']} slots) serving random weights of the "
        f"`{config['model'].removeprefix('random:')}` shape ({served:.0f}M parameters, "
        f"{served / predictor:.1f}x the predictor's model). The first "
        f"{config['num_requests']} recorded-length test prompts arrive as a Poisson stream "
        f"(seed {config['seed']}) at each rate, and all at once in the burst; every answer "
        f"is forced to its recorded length, cut at {cap}. The recorded head runs live on each "
        "request as it arrives, one at a time on a worker thread beside the engine (on the "
        f"core vLLM keeps for its frontend): {predict_s:.2f} s per request, counted in its "
        "latency; its predictions, checked against the evaluation's (data card), order the "
        f"queue. Capacity {capacity:.2f} requests/s on the cost model fitted to the run's "
        f"{sum(len(r['step_s']) for r in records):,} engine steps. The recorded head {pays}.\n\n"
        + "\n".join(f"- {line}" for line in measured_verdicts(rows, aging_rows)))
    command = ("bash scripts/setup_vllm.sh   # .venv-vllm, once\n"
               ".venv-vllm/bin/python -m seqsch.bench serve --engine vllm "
               f"--model {config['model']} --dtype bf16 \\\n"
               f"    --num-requests {config['num_requests']} --rates "
               + " ".join(f"{rate:g}" for rate in config["request_rates"])
               + " --policies " + " ".join(config["policies"])
               + " \\\n    --live-head --out build/serving-vllm-cpu.jsonl")
    tables = measured_table(rows) + "\n" + measured_aging_table(aging_rows)
    return ("9. Serving under load, measured: vLLM on 2 CPU cores", what,
            f"`data/{SERVING_CPU.name}`", command, tables)
