"""Notebook 04's two figures of padding waste against batch size, with titles that state what
they show: `measured_etr_chart` (the paper's lengths replayed, beside the embedded model at its
cap and the committed runs' lengths) and `etr_at_scale_chart` (the shipped lengths at scale,
vanilla and sorted by the true length).

    fig = measured_etr_chart(trace, replay, embedded, bench, "random:tiny", MODEL, 0.339)
    save_figure(fig, "04_etr_vs_batch_size_measured")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from seqsch.bench.batch_waste import BatchWaste, etr_at
from seqsch.core.verdicts import direction
from seqsch.lab.plots import etr_by_batch_size_chart, line_chart

WORDS = {"falls": "falls", "rises": "rises", "flat": "stays flat"}  # direction -> the title's


def _ends(waste: BatchWaste) -> tuple[int, int]:
    sizes = list(waste.etr)
    return sizes[0], sizes[-1]


def measured_etr_chart(trace: BatchWaste, replay: BatchWaste, embedded: BatchWaste,
                       bench: BatchWaste, live_model: str, model: str,
                       paper_etr: float) -> Figure:
    """ETR (%) against the batch size: the paper's lengths replayed on `live_model` (`trace`)
    and `model`'s own runs at its cap (`embedded`), each beside a committed run's lengths
    (`replay`, `bench`, dashed), and the paper's measured vanilla ETR. The title says how ETR
    moves from the smallest to the largest batch of each live series."""
    (t_lo, t_hi), (lo, hi) = _ends(trace), _ends(embedded)
    replay_label = f"the committed replay's lengths ({len(replay.lengths)} prompts)"
    bench_label = f"the committed sweep's lengths (cap {bench.max_new_tokens})"
    return etr_by_batch_size_chart(
        {f"the paper's lengths, replayed ({live_model}, cap {trace.max_new_tokens})":
             trace.percent(),
         replay_label: replay.percent(),
         f"{model}, cap {embedded.max_new_tokens} (this run)": embedded.percent(),
         bench_label: bench.percent()},
        f"On the paper's lengths ETR {WORDS[direction(trace.etr_ratio(t_lo, t_hi))]} from "
        f"{trace.etr[t_lo]:.0%} to {trace.etr[t_hi]:.0%} (batch {t_lo} -> {t_hi});\n"
        f"at the embedded model's {embedded.max_new_tokens}-token cap it "
        f"{WORDS[direction(embedded.etr_ratio(lo, hi))]} ({embedded.etr[lo]:.0%} -> "
        f"{embedded.etr[hi]:.0%}, mean length / cap {embedded.mean_over_cap:.0%})",
        references={f"the paper: vanilla ETR, batch 16 ({paper_etr:.1%})": 100 * paper_etr},
        dashed=[replay_label, bench_label])


def etr_at_scale_chart(sizes: Sequence[int], curves: Mapping[str, Sequence[float]],
                       smol: str, vicuna: str, paper_etr: float) -> Figure:
    """ETR (%) against the batch size on a log2 axis, one line per curve of
    `seqsch.bench.batch_waste.etr_curves_at_scale` (workloads `smol` and `vicuna`, vanilla and
    sorted); the title reads their values at batch 16."""
    at16 = etr_at(curves, sizes, 16)
    fig = line_chart(
        list(sizes), dict(curves), "static batch size (rows)", "effective token ratio (%)",
        f"Batch 16, vanilla: ETR {at16[smol + ': vanilla']:.0f}% on SmolLM2's lengths, "
        f"{at16[vicuna + ': vanilla']:.0f}% on Vicuna's;\nsorting by length lifts them to "
        f"{at16[smol + ': sorted by true length']:.0f}% and "
        f"{at16[vicuna + ': sorted by true length']:.0f}%",
        references={f"the paper: measured vanilla ETR, batch 16 ({paper_etr:.1%})":
                    100 * paper_etr}, ylim=(0, 105))
    ax = fig.axes[0]
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(sizes), [str(b) for b in sizes])
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    return fig
