"""The lines a notebook prints about a live slice of the paper's lengths.

Notebooks 02, 05 and 07 each run a live slice (`seqsch.bench.live_slice.run_paper_slice`) and
print its schedules, its ratios to vanilla and how they compare with the committed replay, the
simulator and the paper. The sentences are the same in each notebook, so they are written once
here, where a test can check their numbers:

- `schedule_table`: batches, steps, ETR, samples/s and mean completion per schedule (02);
- `sorted_gain_sentence`: what sorting by length and VBS + FCR did, for a takeaway (02);
- `against_vanilla_line`: one run's throughput, ETR and completion against vanilla's (05);
- `simulated_lines`: each run's measured samples/s beside the simulator's (05);
- `paper_agreement_line`: whether each live speed-up moved the way the paper's did (07).

    live = run_paper_slice("02_live_replay", "random:tiny", ["vanilla", "oracle"], 64, 512)
    print("\\n".join(schedule_table(live, {"vanilla": "arrival order", "oracle": "sorted"})))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seqsch.bench.live_slice import LiveSlice
from seqsch.bench.report import against_base

TABLE_HEADER = (f"{'schedule':>24} {'batches':>7} {'steps':>6} {'ETR':>5} {'samples/s':>9} "
                f"{'x vanilla':>9} {'mean completion x vanilla':>25}")


def schedule_table(live: LiveSlice, labels: Mapping[str, str],
                   base: str = "vanilla") -> list[str]:
    """A header and one row per schedule of `labels` (spec -> display name): its batches and
    steps (the simulator's plan the engine ran), ETR, samples/s, and its samples/s and mean
    completion as multiples of `base`'s."""
    s, steps = live.summaries, live.num_steps
    lines = [TABLE_HEADER]
    for name, label in labels.items():
        lines.append(f"{label:>24} {len(live.plans[name].plan):7d} {steps[name]:6d} "
                     f"{s[name]['effective_token_ratio']:5.0%} {s[name]['samples_per_s']:9.1f} "
                     f"{s[name]['samples_per_s'] / s[base]['samples_per_s']:9.2f} "
                     f"{s[name]['mean_completion_s'] / s[base]['mean_completion_s']:25.2f}")
    return lines


def sorted_gain_sentence(live: LiveSlice) -> str:
    """Sorting by length (`oracle`) against arrival order (`vanilla`), in steps, ETR and
    samples/s, then VBS + FCR's samples/s (`oracle+vbs+fcr`), then how many live ratios moved
    as the committed replay's did (when one was compared)."""
    s, steps = live.summaries, live.num_steps
    vanilla, oracle = s["vanilla"], s["oracle"]
    agree = (f"{live.num_agree} of {len(live.rows)} live ratios move as the committed replay's "
             "did." if live.rows else "")
    return (f"sorted by length, the same answers take {steps['vanilla'] / steps['oracle']:.1f}x "
            f"fewer steps than in arrival order (ETR {vanilla['effective_token_ratio']:.0%} -> "
            f"{oracle['effective_token_ratio']:.0%}) and run "
            f"{oracle['samples_per_s'] / vanilla['samples_per_s']:.2f}x vanilla's samples/s; "
            f"binned with VBS + FCR "
            f"{s['oracle+vbs+fcr']['samples_per_s'] / vanilla['samples_per_s']:.2f}x. " + agree)


def against_vanilla_line(summaries: Mapping[str, dict], name: str) -> str:
    """`1.52x throughput, ETR 34% -> 71%, mean completion 0.61x`: run `name` against vanilla
    (summaries as in a record's `summary`)."""
    r = against_base(dict(summaries), name)
    if r is None:
        raise ValueError(f"{name!r} was not run; runs: {sorted(summaries)}")
    return (f"{r['throughput']:.2f}x throughput, ETR "
            f"{summaries['vanilla']['effective_token_ratio']:.0%} -> "
            f"{summaries[name]['effective_token_ratio']:.0%}, mean completion "
            f"{r['completion']:.2f}x")


def simulated_lines(records: Mapping[str, dict]) -> list[str]:
    """Each record's measured samples/s beside the simulator's prediction of it (records that
    carry a `simulated` summary), and the simulator's gap."""
    lines = []
    for name, record in records.items():
        sim, measured = record.get("simulated"), record["summary"]["samples_per_s"]
        if sim:
            lines.append(f"{name:>22}: measured {measured:.2f} samples/s, simulated "
                         f"{sim['samples_per_s']:.2f} ({sim['samples_per_s'] / measured - 1:+.0%})")
    return lines


def paper_agreement_line(rows: Sequence[dict]) -> str:
    """Each non-vanilla row of `seqsch.bench.paper_table.replay_table` that has the paper's
    ratio: its speed-up beside the paper's, and whether both sit on the same side of 1."""
    pairs = [(row["spec"], row["x_vanilla"], row["paper_x_vanilla"]) for row in rows
             if row["spec"] != "vanilla" and row.get("paper_x_vanilla")]
    return "against the paper's A100 (throughput): " + "; ".join(
        f"{spec} {mine:.2f}x vs {theirs:.2f}x: "
        f"{'agrees' if (mine > 1) == (theirs > 1) else 'DISAGREES'}"
        for spec, mine, theirs in pairs)
