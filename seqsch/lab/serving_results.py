"""The results page's section on serving under load, simulated at 7B scale on the A100 model.

Computed from the committed recorded-lengths evaluation (`data/perception-eval-recorded.json`)
by `seqsch.bench.serving_projection`: first come, the oracle, the recorded head and the prompt's
length as shortest-first priorities, at rates from half the engine's capacity to twice it, and
what aging (a waiting request's priority improving with its wait) trades between mean and tail.

    title, what, data, command, tables = serving_section()
"""

from __future__ import annotations

from pathlib import Path

from seqsch.bench.serving_projection import MIN_GAIN, project_serving, tail_setting
from seqsch.core.paths import DATA_DIR, DEFAULT_RECORDED, DEFAULT_RECORDED_EVAL
from seqsch.core.sources import RECORDED_HEAD_SOURCE

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
        f"{MAX_P99_X}x first come's at every rate: {guard_text}. Simulated only: the measured "
        "CPU sweep under vLLM (`python -m seqsch.bench serve`) is still to be run.")
    command = ("python -c \"from seqsch.bench.serving_projection import project_serving; "
               "print(project_serving())\"   # instant, from the evaluation file")
    tables = rate_table(rows) + "\n" + aging_table(rows)
    return ("8. Serving under load, simulated at 7B scale", what,
            f"`data/{DEFAULT_RECORDED_EVAL.name}`, `data/{DEFAULT_RECORDED.name}`", command,
            tables)
