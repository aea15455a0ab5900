"""The quality-curve figure draws a line per setting and workload, places real predictors, and
states in its title what the curves say at tau 0.5."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from seqsch.lab.quality_plots import SETTINGS, conclusion, quality_curve_figure  # noqa: E402


def rows(order: float, static: float, bins: float | None) -> list[dict]:
    """Two curve rows: shares at tau 0.4 given, the oracle at tau 1.0 (at tau 0.5 a share s
    reads s + (1 - s) / 6)."""
    return [{"kendall_tau": 0.4, "static_sort_share": static, "vbs_fcr_share": bins,
             "order_gain": order},
            {"kendall_tau": 1.0, "static_sort_share": 1.0, "vbs_fcr_share": 1.0,
             "order_gain": 1.0}]


CURVES = {"ShareGPT recorded": rows(0.4, -0.2, -0.3), "paper's Vicuna-7B": rows(0.7, 0.1, None)}


def test_a_line_per_setting_and_workload_in_its_colour_and_style():
    fig = quality_curve_figure(CURVES)
    ax = fig.axes[0]
    drawn = {line.get_label(): line for line in ax.lines}
    for k, workload in enumerate(CURVES):
        for key, (setting, style, _) in SETTINGS.items():
            label = f"{workload}: {setting}"
            if workload == "paper's Vicuna-7B" and key == "vbs_fcr_share":
                assert list(drawn[label].get_xdata()) == [1.0]  # the None point is left out
                continue
            assert drawn[label].get_color() == f"C{k}"
            assert drawn[label].get_linestyle() == style
            assert list(drawn[label].get_ydata()) == [CURVES[workload][0][key], 1.0]
    assert list(drawn["half the oracle's gain"].get_ydata()) == [0.5, 0.5]
    assert ax.get_ylim()[0] == pytest.approx(-0.35) and ax.get_ylim()[1] == 1.05
    plt.close(fig)


def test_the_title_states_each_workloads_shares_at_tau_half():
    fig = quality_curve_figure(CURVES)
    assert fig.axes[0].get_title().splitlines() == [
        "At tau 0.5 an order keeps 0.50 of the oracle's gain, a static sort 0.00 "
        "(ShareGPT recorded)",
        "At tau 0.5 an order keeps 0.75 of the oracle's gain, a static sort 0.25 "
        "(paper's Vicuna-7B)"]
    plt.close(fig)


def test_conclusion_says_when_the_curve_does_not_reach_the_tau():
    assert "keeps n/a" in conclusion([rows(0.4, 0.1, 0.1)[1]], "w")


def test_real_predictors_are_labelled_markers_at_their_points():
    placed = {"kendall_tau": 0.46, "static_sort_share": 0.2, "vbs_fcr_share": None,
              "order_gain": 0.64}
    fig = quality_curve_figure(CURVES, {"rank head": placed})
    ax = fig.axes[0]
    points = sorted(tuple(c.get_offsets()[0]) for c in ax.collections)
    assert points == [pytest.approx((0.46, 0.2)), pytest.approx((0.46, 0.64))]
    assert [(t.get_text(), t.xy) for t in ax.texts] == [("rank head", (0.46, 0.64))]  # once
    legend = ax.get_legend_handles_labels()[1]
    assert "real predictions: static sort" in legend
    assert "real predictions: bin + VBS + FCR" not in legend  # no such marker drawn
    plt.close(fig)


def test_a_legend_entry_per_setting_however_many_predictors():
    placed = {"kendall_tau": 0.46, "static_sort_share": 0.2, "vbs_fcr_share": 0.1,
              "order_gain": 0.64}
    fig = quality_curve_figure(CURVES, {"a": placed, "b": placed | {"kendall_tau": 0.3}})
    legend = fig.axes[0].get_legend_handles_labels()[1]
    assert sum(label.startswith("real predictions") for label in legend) == len(SETTINGS)
    plt.close(fig)


def test_a_given_title_replaces_the_default():
    fig = quality_curve_figure(CURVES, title="computed elsewhere")
    assert fig.axes[0].get_title() == "computed elsewhere"
    plt.close(fig)


def test_a_figure_needs_a_curve():
    with pytest.raises(ValueError, match="at least one workload"):
        quality_curve_figure({})
    with pytest.raises(ValueError, match="at least one curve row"):
        quality_curve_figure({"empty": []})
