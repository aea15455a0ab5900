"""The ETR-against-batch-size figure: each series over its own batch sizes, committed ones
dashed, reference lines labelled."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from seqsch.lab.plots import etr_by_batch_size_chart  # noqa: E402


def test_etr_chart_draws_each_series_over_its_own_batch_sizes():
    fig = etr_by_batch_size_chart({"live": {4: 50.0, 16: 36.0}, "committed": {4: 67.0, 8: 66.0}},
                                  "title", references={"the paper (33.9%)": 33.9},
                                  dashed=["committed"])
    ax = fig.axes[0]
    live, committed, paper = ax.get_lines()
    assert list(live.get_xdata()) == [4, 16] and live.get_linestyle() == "-"
    assert list(committed.get_xdata()) == [4, 8] and committed.get_linestyle() == "--"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "live", "committed", "the paper (33.9%)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "8", "16"]
    plt.close(fig)
