"""The figure helpers: values on bars (a zero bar is seen), labelled reference lines, legends,
shares written into legends, normalised step costs, and PNGs written where the runner asks."""

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from seqsch.lab import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _legend_texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


def test_save_figure_writes_a_png_under_the_requested_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQSCH_FIGURES", str(tmp_path / "figs"))
    path = plots.save_figure(plots.bar_chart({"a": 1.0}, "y", "t"), "00_test")
    assert path == tmp_path / "figs" / "00_test.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_wrap_label_breaks_long_names_only():
    assert plots.wrap_label("short") == "short"
    wrapped = plots.wrap_label("constant: train median (the cap)", 14)
    assert "\n" in wrapped and all(len(line) <= 14 for line in wrapped.splitlines())


def test_bar_chart_writes_every_value_and_labels_its_reference():
    fig = plots.bar_chart({"seed 0": 17, "seed 1": 0}, "tokens", "title", reference=32,
                          reference_label="cap (32 tokens)")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["17", "0"]  # the zero bar shows its value
    assert _legend_texts(ax.get_legend()) == ["cap (32 tokens)"]


def test_length_histogram_states_the_share_at_the_cap():
    fig = plots.length_histogram({"greedy": [10, 512, 512, 20]}, 512, title="t")
    texts = _legend_texts(fig.axes[0].get_legend())
    assert texts[0] == "greedy (50% cut at the cap)"
    assert texts[1] == "cap (512 tokens)"
    fig = plots.length_histogram({"few": [10] * 199 + [600]}, 512, at_cap=500,
                                 at_cap_label="at 500 or more")
    assert _legend_texts(fig.axes[0].get_legend())[0] == "few (0.5% at 500 or more)"


def test_metric_panels_one_axis_per_metric_with_group_and_reference_legend():
    results = {"head": {"error": 86.0, "tau": 0.5}, "constant": {"error": 139.0, "tau": 0.0}}
    fig = plots.metric_panels(results, {"error": "error (tokens)", "tau": "tau"}, "title",
                              references={"error": {"the paper": 62.0}},
                              groups={"head": "learned", "constant": "baseline"})
    error_ax, tau_ax = fig.axes
    assert [t.get_text() for t in tau_ax.texts] == ["0.50", "0.00"]
    assert [t.get_text() for t in error_ax.texts] == ["86", "139"]
    labels = [t.get_text() for t in error_ax.get_yticklabels()]
    assert labels == ["head", "constant"] and error_ax.yaxis_inverted()  # first on top
    assert _legend_texts(fig.legends[0]) == ["learned", "baseline", "the paper"]


def test_line_chart_labels_reference_lines_and_keeps_the_limits():
    fig = plots.line_chart([1, 2], {"ETR (%)": [80, 80]}, "rows", "%", "flat",
                           references={"the paper (33.9%)": 33.9}, ylim=(0, 105))
    ax = fig.axes[0]
    assert _legend_texts(ax.get_legend()) == ["ETR (%)", "the paper (33.9%)"]
    assert ax.get_ylim() == (0, 105)


def test_step_cost_chart_normalises_each_line_to_its_base_rows():
    fig = plots.step_cost_chart({"cpu": {4: 0.1, 8: 0.15, 16: 0.3}}, "t", base_rows=8)
    line = fig.axes[0].get_lines()[0]
    assert list(line.get_ydata()) == pytest.approx([0.1 / 0.15, 1.0, 2.0])
    assert fig.axes[0].get_ylabel() == "step time / 8-row step time"


def test_predicted_vs_actual_panels_share_one_legend():
    fig = plots.predicted_vs_actual_panels({"a": ([1, 2], [1, 3], "x"), "b": ([2], [2], "y")}, "t")
    assert len(fig.axes) == 2 and all(ax.get_legend() is None for ax in fig.axes)
    assert _legend_texts(fig.legends[0]) == ["one prompt", "perfect prediction"]
