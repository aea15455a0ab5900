"""Notebook 06 under load: when a length order pays once requests arrive over time, and what it
costs in the tail; simulated at 7B scale on a GPU's costs, and measured with vLLM on this CPU.

At low load nothing queues and no order helps; above the break-even rate shortest-first cuts the
mean latency and lets long requests wait behind every later short one (the p99), which aging
buys back. `simulated_load` reads `seqsch.bench.serving_projection.project_serving`'s sweep for
those numbers, `measured_load` the committed vLLM sweep (`python -m seqsch.bench serve`); each
comes with its printout and its line of the takeaway:

    load = simulated_load(project_serving())
    print(simulated_text(load))
    measured = measured_load(read_jsonl(SERVING_FILE))
    print(measured_text(measured))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from seqsch.bench.serving_measured import measured_rows
from seqsch.bench.serving_projection import MIN_GAIN, tail_setting
from seqsch.lab.serving_plots import break_even_phrase

HEAD = "recorded-head"  # the policy the section follows: the recorded head's order, unaged
LOADED_X_CAPACITY = 1.2  # the tail figure's rate: a queue has formed
MAX_P99_X = 1.25  # the tail a guard must hold: p99 within this much of first come's


def break_even_list(break_even: Mapping[str, float | None]) -> str:
    """Each policy and the rate (x capacity) from which it pays, or 'never'."""
    return ", ".join(f"{name} {x:.2f}x" if x else f"{name} never" for name, x in break_even.items())


def simulated_load(projection: dict, policy: str = HEAD, max_p99_x: float = MAX_P99_X) -> dict:
    """The projection's rows (`rows`; the unaged ones in `unaged`) read for the section: the
    rate of the tail figure (`loaded_rate`, LOADED_X_CAPACITY), `policy`'s unaged rows by rate
    (`head_rows`), the least aging that holds its p99 within `max_p99_x` of first come's at
    every rate (`guard`, None if none does), each policy's break-even and the capacity."""
    rows = projection["rows"]
    unaged = [r for r in rows if r["aging_per_s"] == 0.0]
    loaded = [r["request_rate"] for r in rows
              if round(r["rate_x_capacity"], 2) == LOADED_X_CAPACITY]
    if not loaded:
        raise ValueError(f"the projection has no rate at {LOADED_X_CAPACITY}x capacity")
    return {"rows": rows, "unaged": unaged, "loaded_rate": loaded[0],
            "head_rows": sorted((r for r in unaged if r["policy"] == policy),
                                key=lambda r: r["request_rate"]),
            "guard": tail_setting(rows, policy, max_p99_x), "max_p99_x": max_p99_x,
            "break_even": projection["break_even_x_capacity"],
            "capacity": projection["capacity_requests_per_s"]}


def simulated_text(load: dict) -> str:
    """The capacity and each policy's break-even, the recorded head at each rate, and the aging
    that holds its tail."""
    guard = load["guard"]
    lines = [f"capacity {load['capacity']:.2f} requests/s (GPU, simulated); each policy pays "
             f"(cuts first come's mean latency by {MIN_GAIN:.0%}) from "
             f"{break_even_list(load['break_even'])} of capacity"]
    lines += [f"  {r['rate_x_capacity']:.1f}x capacity: recorded head "
              f"{r['mean_latency_x_first_come']:.2f}x first come's mean latency, "
              f"{r['p99_latency_x_first_come']:.2f}x its p99" for r in load["head_rows"]]
    lines.append(f"holding p99 within {load['max_p99_x']:g}x first come's at every rate: " + (
        f"aging {guard['aging_per_s']:g} tokens per s waited, at "
        f"{guard['best_mean_x_first_come']:.2f}-{guard['worst_mean_x_first_come']:.2f}x first "
        "come's mean" if guard else "no aging of the sweep"))
    return "\n".join(lines)


def simulated_line(load: dict) -> str:
    """The simulation in the takeaway's words: where orders pay, the head at the highest rate,
    and the aging that holds its tail."""
    top, guard = load["head_rows"][-1], load["guard"]
    return ("Under load (GPU, simulated): orders pay from " + break_even_list(load["break_even"])
            + f" of capacity; at {top['rate_x_capacity']:.1f}x the recorded head gives "
            f"{top['mean_latency_x_first_come']:.2f}x first come's mean latency at "
            f"{top['p99_latency_x_first_come']:.2f}x its p99"
            + (f"; aging {guard['aging_per_s']:g} holds p99 within {load['max_p99_x']:g}x first "
               f"come's at every rate, at {guard['best_mean_x_first_come']:.2f}-"
               f"{guard['worst_mean_x_first_come']:.2f}x its mean" if guard else ""))


def measured_load(records: Sequence[dict], policy: str = HEAD) -> dict:
    """The measured sweep's rows (`seqsch.bench.serving_measured.measured_rows`), what served
    them (`environment`), where the live `policy` pays (`pays`, in words) and its unaged row at
    the highest finite rate (`top`)."""
    rows = measured_rows(records)
    finite = [r for r in rows if r["policy"] == policy and r["aging_per_s"] == 0.0
              and not math.isinf(r["request_rate"])]
    return {"environment": records[0]["environment"], "rows": rows,
            "pays": break_even_phrase(rows, policy, 0.0, MIN_GAIN),
            "top": max(finite, key=lambda r: r["request_rate"]) if finite else None}


def measured_text(measured: dict) -> str:
    """Per rate, each order's mean latency (in seconds and steps) and p99 over first come's,
    then where the live recorded head pays."""
    rows, lines = measured["rows"], []
    for rate in sorted({r["request_rate"] for r in rows}):
        cells = [r for r in rows if r["request_rate"] == rate and not r["is_reference"]]
        where = ("burst" if math.isinf(rate)
                 else f"{rate:g}/s ({cells[0]['rate_x_capacity']:.2f}x capacity)")
        lines.append(f"{where:>26}: " + ", ".join(
            f"{r['label']} {r['mean_latency_x_first_come']:.2f}x mean "
            f"({r['mean_latency_steps_x_first_come']:.2f}x steps), "
            f"{r['p99_latency_x_first_come']:.2f}x p99" for r in cells))
    lines.append(f"the live recorded head {measured['pays']} (CPU, measured)")
    return "\n".join(lines)


def measured_line(measured: dict) -> str:
    """The measurement in the takeaway's words, at its highest finite rate."""
    top = measured["top"]
    if top is None:
        return f"Under load (CPU, measured): the live recorded head {measured['pays']}"
    return (f"Under load (CPU, measured): the live recorded head {measured['pays']}; at "
            f"{top['request_rate']:g}/s it gives {top['mean_latency_x_first_come']:.2f}x first "
            f"come's mean latency ({top['mean_latency_steps_x_first_come']:.2f}x on the step "
            f"clock), its {1000 * top['predictor_s_per_request']:.0f} ms per request included")
