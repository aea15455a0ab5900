"""The figures of notebooks 05 and 06 draw what they are given, and refuse what they cannot."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from seqsch.lab.order_plots import (  # noqa: E402
    completion_curves,
    engine_of,
    order_scores_chart,
    ratio_panels,
    throughput_and_completion,
)

SUMMARIES = {"vanilla": {"samples_per_s": 0.25, "mean_completion_s": 290.0},
             "oracle+vbs+fcr": {"samples_per_s": 0.28, "mean_completion_s": 275.0},
             "continuous": {"samples_per_s": 0.36, "mean_completion_s": 189.0},
             "vllm+oracle": {"samples_per_s": 1.15, "mean_completion_s": 47.0}}


def test_engine_of_reads_the_spec():
    assert [engine_of(n) for n in SUMMARIES] == ["static", "static", "continuous", "vllm"]


def test_throughput_and_completion_draws_each_run_and_the_reference():
    fig = throughput_and_completion(SUMMARIES, "vanilla", "title")
    rate, done = fig.axes
    assert sorted(bar.get_height() for bar in rate.patches) == sorted(
        s["samples_per_s"] for s in SUMMARIES.values())
    assert sorted(bar.get_height() for bar in done.patches) == sorted(
        s["mean_completion_s"] for s in SUMMARIES.values())
    assert rate.lines[0].get_ydata()[0] == 0.25 and done.lines[0].get_ydata()[0] == 290.0
    assert "vanilla (reference)" in [t.get_text() for t in fig.legends[0].get_texts()]
    assert rate.get_ylim()[0] == 0
    plt.close(fig)


def test_throughput_and_completion_needs_its_reference():
    with pytest.raises(ValueError, match="reference run 'vanilla'"):
        throughput_and_completion({"oracle": SUMMARIES["oracle+vbs+fcr"]}, "vanilla", "title")


def test_ratio_panels_leave_missing_values_out():
    rows = [{"label": "oracle", "live": {"a": 1.2, "b": 0.8}, "committed": {"a": 1.1, "b": 0.9}},
            {"label": "length head", "live": {"a": 0.9, "b": None}, "committed": None}]
    fig = ratio_panels(rows, {"live": "live", "committed": "committed"},
                       {"a": "throughput", "b": "completion"}, "title")
    first, second = fig.axes
    assert sorted(bar.get_height() for bar in first.patches) == [0.9, 1.1, 1.2]
    assert sorted(bar.get_height() for bar in second.patches) == [0.8, 0.9]
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == [
        "committed", "live", "reference run (1x)"]
    plt.close(fig)


def test_completion_curves_count_requests_and_mark_means():
    fig = completion_curves({"first come": [4.0, 2.0, 6.0], "oracle": [1.0, 3.0, 6.0]}, "s",
                            "title")
    ax = fig.axes[0]
    steps = [line for line in ax.lines if len(line.get_xdata()) > 2]
    assert [list(line.get_ydata()) for line in steps] == [[0, 1, 2, 3]] * 2
    assert list(steps[0].get_xdata()) == [0.0, 2.0, 4.0, 6.0]
    means = [line.get_xdata()[0] for line in ax.lines if len(line.get_xdata()) == 2]
    assert means == pytest.approx([4.0, 10 / 3])
    assert "first come (mean 4.0 s)" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)


def test_completion_curves_refuse_an_empty_order():
    with pytest.raises(ValueError, match="no completion times for 'oracle'"):
        completion_curves({"oracle": []}, "s", "title")


def test_order_scores_chart_draws_both_panels():
    rows = [{"label": "oracle", "relative": 0.75, "order_gain": 1.0, "kendall_tau": 1.0},
            {"label": "constant", "relative": 1.0, "order_gain": 0.0, "kendall_tau": 0.0}]
    fig = order_scores_chart(rows, "title")
    left, right = fig.axes
    assert [bar.get_height() for bar in left.patches] == [0.75, 1.0]
    assert sorted(bar.get_height() for bar in right.patches) == [0.0, 0.0, 1.0, 1.0]
    assert "first come (1x)" in [t.get_text() for t in left.get_legend().get_texts()]
    plt.close(fig)
