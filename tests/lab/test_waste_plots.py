"""Notebook 04's ETR figures: every series drawn, committed ones dashed, titles that read the
numbers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from seqsch.bench.batch_waste import BatchWaste  # noqa: E402
from seqsch.lab.waste_plots import etr_at_scale_chart, measured_etr_chart  # noqa: E402


def waste(etr, cap=512, lengths=(100, 200)):
    return BatchWaste(list(lengths), cap, etr, {b: 0.0 for b in etr})


def test_measured_chart_titles_say_how_etr_moves():
    trace = waste({4: 0.6, 16: 0.4})
    embedded = waste({2: 0.5, 4: 0.5}, cap=32, lengths=(32, 16))
    fig = measured_etr_chart(trace, waste({4: 0.65, 16: 0.45}), embedded,
                             waste({2: 0.55, 4: 0.54}, cap=256), "random:tiny", "emb", 0.339)
    ax = fig.axes[0]
    assert ax.get_title().startswith(
        "On the paper's lengths ETR falls from 60% to 40% (batch 4 -> 16)")
    assert "cap it stays flat (50% -> 50%, mean length / cap 75%)" in ax.get_title()
    styles = [line.get_linestyle() for line in ax.get_lines()]
    assert styles[:4] == ["-", "--", "-", "--"]  # committed lengths dashed
    assert ax.get_lines()[0].get_ydata()[0] == 60.0
    plt.close(fig)


def test_at_scale_chart_reads_batch_16():
    sizes = [1, 16, 64]
    curves = {"a: vanilla": [100, 40, 30], "a: sorted by true length": [100, 80, 70],
              "b: vanilla": [100, 30, 20], "b: sorted by true length": [100, 90, 85]}
    fig = etr_at_scale_chart(sizes, curves, "a", "b", 0.339)
    ax = fig.axes[0]
    assert ax.get_title().startswith("Batch 16, vanilla: ETR 40% on SmolLM2's lengths, 30% on")
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == [
        "1", "16", "64"]
    assert len(ax.get_lines()) == 5  # four curves and the paper's line
    plt.close(fig)
