"""The serving figures draw the sweep's rows and title them with what the rows show."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from seqsch.lab.serving_plots import latency_vs_rate, tail_frontier  # noqa: E402
from seqsch.scheduling.serving_sweep import serving_sweep  # noqa: E402


def _row(policy, rate, mean, p99, aging=0.0, capacity=2.0):
    return {"policy": policy, "request_rate": rate, "aging_per_s": aging,
            "is_reference": policy == "first-come", "rate_x_capacity": rate / capacity,
            "mean_latency_s": mean, "p99_latency_s": p99}


# first come at 10 s; the oracle 1 s slower at 1 req/s, 1 s faster at 4 (crossing at 2 req/s);
# "slow" never beats first come
ROWS = [_row("first-come", 1.0, 10.0, 20.0), _row("oracle", 1.0, 11.0, 21.0),
        _row("slow", 1.0, 12.0, 22.0),
        _row("first-come", 4.0, 10.0, 20.0), _row("oracle", 4.0, 9.0, 30.0),
        _row("slow", 4.0, 11.0, 25.0)]


def test_latency_vs_rate_draws_each_policy_and_marks_the_break_even():
    fig = latency_vs_rate(ROWS)
    ax = fig.axes[0]
    curves = [line for line in ax.lines if len(line.get_xdata()) == 2
              and line.get_xdata()[0] != line.get_xdata()[1]]
    assert [list(line.get_ydata()) for line in curves] == [[10.0, 10.0], [11.0, 9.0],
                                                            [12.0, 11.0]]
    marks = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"]
    assert marks == [pytest.approx(2.0)]
    title = ax.get_title()
    assert "oracle: pays above 2 req/s (1x capacity)" in title
    assert "slow: never pays here" in title
    assert ax.get_xscale() == "log"
    assert "first-come (reference)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert not ax.texts  # the title names each break-even; no labels crowd the lines
    plt.close(fig)


def test_latency_vs_rate_plots_another_metric_on_a_given_axis():
    fig, ax = plt.subplots()
    assert latency_vs_rate(ROWS, metric="p99_latency_s", ax=ax) is fig
    assert list(ax.lines[0].get_ydata()) == [20.0, 20.0]
    assert ax.get_ylabel() == "p99 latency (s)"
    with pytest.raises(ValueError, match="no metric 'tpot'"):
        latency_vs_rate(ROWS, metric="tpot")
    with pytest.raises(ValueError, match="no rows"):
        latency_vs_rate([])
    plt.close(fig)


def test_latency_vs_rate_on_a_real_sweep():
    lengths = [3, 40, 5, 60, 2, 8, 30, 4] * 10
    rows = serving_sweep(lengths, None, {"oracle": (lengths, 0.0)}, [0.01, 0.2, 1.0, math.inf],
                         num_slots=2, aging_values=(0.0, 1.0))
    fig = latency_vs_rate(rows)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["first-come (reference)", "oracle, aging 0/s", "oracle, aging 1/s"]
    curves = [line for line in ax.lines if not line.get_label().startswith("_")]
    assert [len(line.get_xdata()) for line in curves] == [3, 3, 3]  # the burst is left out
    assert "oracle, aging 0/s: pays" in ax.get_title()
    plt.close(fig)


def test_tail_frontier_joins_the_aging_values_and_names_the_least_that_holds_the_tail():
    rows = [_row("first-come", 4.0, 10.0, 20.0),
            _row("oracle", 4.0, 6.0, 30.0, aging=0.0), _row("oracle", 4.0, 7.0, 19.0, aging=2.0),
            _row("oracle", 4.0, 6.5, 24.0, aging=0.5), _row("oracle", 1.0, 9.0, 9.0)]
    fig = tail_frontier(rows, rate=4.0)
    ax = fig.axes[0]
    frontier = [line for line in ax.lines if len(line.get_xdata()) == 3]
    assert [list(line.get_xdata()) for line in frontier] == [[6.0, 6.5, 7.0]]
    assert list(frontier[0].get_ydata()) == [30.0, 24.0, 19.0]
    assert list(ax.collections[0].get_offsets()[0]) == [10.0, 20.0]  # first come's star
    assert [t.get_text() for t in ax.texts] == ["0/s", "0.5/s", "2/s"]
    title = ax.get_title()
    assert title.startswith("At 4 req/s (2x capacity)")
    assert "oracle: aging 2/s holds p99 to first come's, at 0.70x its mean" in title
    plt.close(fig)


def test_tail_frontier_says_when_no_aging_holds_the_tail_and_refuses_a_missing_rate():
    rows = [_row("first-come", 4.0, 10.0, 20.0), _row("oracle", 4.0, 6.0, 30.0)]
    fig = tail_frontier(rows, rate=4.0)
    assert "no aging tried holds p99 to first come's (best 1.50x)" in fig.axes[0].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match=r"no rows at rate 3.0; the rows have rates \[4.0\]"):
        tail_frontier(rows, rate=3.0)
    with pytest.raises(ValueError, match="no first-come reference"):
        tail_frontier(rows[1:], rate=4.0)
