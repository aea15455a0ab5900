"""The figures of notebooks 05 and 06 draw what they are given, and refuse what they cannot."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from seqsch.lab.order_plots import (  # noqa: E402
    completion_curves,
    engine_of,
    live_completion_figure,
    measured_latency_figure,
    order_scores_chart,
    ratio_panels,
    replay_figure,
    simulated_latency_figure,
    simulated_tail_figure,
    step_clock_figure,
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


def test_notebook_06s_figures_draw_from_their_section_summaries():
    from types import SimpleNamespace  # noqa: PLC0415

    from seqsch.lab.order_clock import committed_clock  # noqa: PLC0415
    from seqsch.lab.result_files import STEP_FILES, VLLM_FILE  # noqa: PLC0415

    replay = {"rows": [{"label": "oracle (true lengths)", "relative": 0.6, "order_gain": 1.0,
                        "kendall_tau": 1.0},
                       {"label": "head", "relative": 0.8, "order_gain": 0.5, "kendall_tau": 0.4}],
              "num_prompts": 20, "num_slots": 4}
    fig = replay_figure(replay)
    assert fig._suptitle.get_text().endswith("head recovers 50% of it")
    plt.close(fig)
    clock = committed_clock(STEP_FILES, VLLM_FILE)
    fig = step_clock_figure(clock)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "first come (1x)" in legend and "step clock, benchmark's prompts" in legend
    assert "seconds with the prediction, median of 3 rounds" in legend
    plt.close(fig)
    runs = {label: SimpleNamespace(results=[SimpleNamespace(completion_s=s) for s in times])
            for label, times in (("first come", [1.0, 4.0]), ("oracle order", [1.0, 3.0]))}
    verdict = {"live_x": 0.8, "agrees": False, "committed_x": 1.1}
    fig = live_completion_figure(runs, verdict, num_slots=1)
    assert fig.axes[0].get_title() == (
        "Live on a CPU, 2 prompts x 1 slots: the oracle's order cuts mean completion (0.80x "
        "first come's; DISAGREES with the committed 1.10x)")
    plt.close(fig)


def test_the_load_figures_draw_the_rows_they_are_given():
    rows = [{"policy": p, "label": p, "request_rate": r, "rate_x_capacity": r / 2,
             "aging_per_s": 0.0, "mean_latency_s": m, "p99_latency_s": 2 * m,
             "mean_latency_x_first_come": m / 3, "p99_latency_x_first_come": 1.0,
             "is_reference": p == "first-come"}
            for p, ms in (("first-come", (3.0, 6.0)), ("recorded-head", (3.0, 4.0)))
            for r, m in zip((1.0, 2.4), ms)]
    load = {"rows": rows, "unaged": rows, "loaded_rate": 2.4}
    for fig in (simulated_latency_figure(load), simulated_tail_figure(load),
                measured_latency_figure({"rows": rows, "environment": {
                    "engine": "vllm", "device": "cpu", "num_threads": 2}})):
        assert fig.axes and fig.axes[0].lines
        plt.close(fig)
