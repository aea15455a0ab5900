"""The sentences notebook 07 prints about the paper's table: simulated, fitted, replayed on a
CPU, replayed live, and with a real learned predictor.

The table rows come from `seqsch.bench.paper_table` (`simulate_paper_table`, `replay_table`)
and `seqsch.lab.recorded_results.replay_rows`: dicts with `spec`, `x_vanilla`,
`paper_x_vanilla`, `sim_gap`, `failure_ratio`, ... These functions read them, so that the
notebook calls one function per statement and a test can check each number's place.

    rows = by_spec(simulate_paper_table(PaperTableConfig())["rows"])
    print(simulated_takeaway(rows))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from seqsch.scheduling.cost_model import CostModel


def by_spec(rows: Sequence[dict]) -> dict[str, dict]:
    """{spec: row} of a table's rows."""
    return {row["spec"]: row for row in rows}


def worst_sim_gap(rows: Sequence[dict]) -> float:
    """The largest gap, either way, between a measured row and the simulator's prediction."""
    gaps = [abs(row["sim_gap"]) for row in rows if row.get("sim_gap") is not None]
    if not gaps:
        raise ValueError("no row has a simulated counterpart (sim_gap)")
    return max(gaps)


def environment_line(path: Path, records: Mapping[str, dict]) -> str:
    """Where a committed replay ran: its model, dtype, device, threads and prompts."""
    vanilla = records["vanilla"]
    env = vanilla["environment"]
    return (f"{Path(path).name}: {vanilla['config']['model']}, {env['dtype']}, {env['device']}, "
            f"{env['num_threads']} threads, {len(vanilla['actual_lengths'])} prompts")


def cost_fit_lines(calibrated: CostModel, fitted: CostModel) -> list[str]:
    """The A100 model's step costs calibrated on the paper's vanilla row, and fitted to its
    vanilla and oracle rows at once."""
    return [f"calibrated on vanilla: {1000 * calibrated.step_fixed_s:.1f} ms per step + "
            f"{1e3 * calibrated.step_per_row_s:.3f} ms per row",
            f"fitted to both rows:   {1000 * fitted.step_fixed_s:.1f} ms per step + "
            f"{1e3 * fitted.step_per_row_s:.3f} ms per row "
            f"({fitted.step_per_row_s / calibrated.step_per_row_s:.0f}x the analytic per-row cost)"]


def refit_lines(refit: Mapping[str, dict], rows: Mapping[str, dict],
                names: Sequence[str] = ("standin", "standin+vbs+fcr")) -> list[str]:
    """The stand-in's rows simulated with the fitted cost (`simulate_rows`'s summaries),
    beside the paper's ratios (`rows`, by spec)."""
    base = refit["vanilla"]["samples_per_s"]
    return [f"with that cost, {name}: {refit[name]['samples_per_s'] / base:.2f}x vanilla (paper "
            f"{rows[name]['paper_x_vanilla']:.2f}x); FCR ratio {refit[name]['failure_ratio']:.1%}"
            for name in names]


def simulated_takeaway(rows: Mapping[str, dict]) -> str:
    """The simulated table's headline against the paper's, on two lines."""
    oracle, standin = rows["oracle+vbs+fcr"], rows["standin+vbs+fcr"]
    return (f"Simulated on the paper's workload (A100 model calibrated on vanilla only): oracle + "
            f"VBS + FCR {oracle['x_vanilla']:.2f}x vanilla, the paper measured "
            f"{oracle['paper_x_vanilla']:.2f}x; the stand-in with VBS + FCR "
            f"{standin['x_vanilla']:.2f}x ({standin['paper_x_vanilla']:.2f}x).\n"
            f"The schedules match the paper's (oracle average padded length "
            f"{oracle['avg_length']:.0f} vs {oracle['paper_avg_length']:.0f}); the gap is the "
            "step cost of large batches.")


def cpu_takeaway(cpu: Mapping[str, dict], worst: float) -> str:
    """The committed CPU replay's headline ratios and the simulator's worst gap on it."""
    return (f"Measured on 2 CPU cores with the embedded model's shape: oracle + VBS + FCR "
            f"{cpu['oracle+vbs+fcr']['x_vanilla']:.2f}x, oracle sort "
            f"{cpu['oracle']['x_vanilla']:.2f}x, stand-in + VBS + FCR "
            f"{cpu['standin+vbs+fcr']['x_vanilla']:.2f}x; the simulator predicted every row "
            f"within {worst:.0%}.")


def live_takeaway(model_name: str, num_data: int, max_new_tokens: int, rows: Sequence[dict],
                  num_agree: int, num_verdicts: int) -> str | None:
    """The live replay's oracle + VBS + FCR speed-up and its agreement with the committed CPU
    replay; None when that spec was not run live."""
    gain = by_spec(rows).get("oracle+vbs+fcr", {}).get("x_vanilla")
    if gain is None:
        return None
    return (f"Live here ({model_name}, {num_data} prompts, cap {max_new_tokens}): oracle + VBS + "
            f"FCR {gain:.2f}x vanilla; {num_agree} of {num_verdicts} live ratios move as the "
            "committed CPU replay's did.")


def recorded_takeaway(rows: Sequence[dict]) -> str:
    """The recorded head's replay: its sort and VBS + FCR against vanilla, beside the oracle."""
    rec = by_spec(rows)
    both = rec["recorded-head+vbs+fcr"]
    return (f"A real learned predictor (the recorded head, ShareGPT's recorded lengths), replayed "
            f"on 2 CPU cores: its sort {rec['recorded-head']['x_vanilla']:.2f}x vanilla, with VBS "
            f"+ FCR {both['x_vanilla']:.2f}x (FCR recomputes {both['failure_ratio']:.0%}); the "
            f"oracle's sort {rec['oracle']['x_vanilla']:.2f}x.")
