"""Notebook 03's main figure: bars for predictors, lines for references, a computed title."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from seqsch.lab.perception_plots import (  # noqa: E402
    collapse_figure,
    depth_figure,
    live_loss_figure,
    loss_curve_figure,
    main_figure,
    predicted_vs_actual_figure,
)
from seqsch.lab.perception_tables import main_rows  # noqa: E402


def row(name: str, error: float, tau_greedy: float | None, role: str = "r") -> dict:
    return {"name": name, "role": role, "predictor": f"{name} head", "label": f"{role}: {name}",
            "error": error, "acc50": 0.5, "acc100": 0.6, "kendall_tau": 0.3,
            "tau_greedy_cap": tau_greedy}


ROWS = [row("lora", 120, 0.3), row("length-head", 90, 0.4), row("rank-head", 230, 0.5),
        row("constant", 140, 0.0), row("noise-floor", 136, None),
        {"name": "paper", "label": "paper", "error": 62, "acc50": 0.59, "acc100": 0.81}]


def test_the_title_names_the_best_length_and_the_best_order():
    fig = main_figure(ROWS)
    title = fig._suptitle.get_text()
    assert title.startswith("The length-head head predicts lengths best (error 90 tokens, the "
                            "paper's module here 120)")
    assert "the rank-head head orders best (tau 0.50 vs greedy at cap 256)" in title
    plt.close(fig)


def test_predictors_are_bars_and_references_are_lines():
    fig = main_figure(ROWS)
    error, acc100, tau, tau_greedy = fig.axes
    assert len(error.patches) == 4  # the noise floor and the paper are no bars
    assert [line.get_label() for line in error.lines if line.get_label()[0] != "_"] == [
        "noise floor (vs another sample)", "the paper (Vicuna-7B)"]
    assert [line.get_xdata()[0] for line in acc100.lines if line.get_label()[0] != "_"] == [
        60.0, 81.0]
    assert not [line for line in tau_greedy.lines if line.get_label()[0] != "_"]
    assert tau_greedy.get_xlabel() == "tau vs greedy (cap 256)"
    plt.close(fig)


def test_the_shipped_rows_draw():
    fig = main_figure(main_rows())
    assert "orders best" in fig._suptitle.get_text()
    plt.close(fig)


def test_the_notebooks_figures_draw_from_their_summaries():
    from seqsch.core.paths import DEFAULT_LENGTHS  # noqa: PLC0415
    from seqsch.lab.perception_heads import depth_sweep  # noqa: PLC0415
    from seqsch.lab.perception_notes import shipped_loss_run  # noqa: PLC0415
    from seqsch.lab.perception_targets import censored_targets, module_collapse  # noqa: PLC0415

    targets = censored_targets(DEFAULT_LENGTHS)
    main = {row["name"]: row for row in main_rows()}
    fig = predicted_vs_actual_figure(main, targets)
    assert len(fig.axes) == 3 and "stand at the 512-token cap" in fig._suptitle.get_text()
    assert fig.axes[2].get_xlabel() == "greedy answer, cut at 256 (tokens)"
    assert len(fig.axes[0].collections[0].get_offsets()) == len(targets["val_records"])
    plt.close(fig)
    collapse = module_collapse(targets)
    fig = collapse_figure(collapse, 512)
    assert fig.axes[0].get_xlabel() == "predicted or actual length (tokens)"
    assert f"{collapse['share_top']:.0%} of prompts predicted >= 500" in fig.axes[0].get_title()
    plt.close(fig)
    shipped = shipped_loss_run()
    fig = loss_curve_figure(shipped, 0.418)
    assert fig.axes[0].get_ylim()[0] == 0 and "bucket frequencies" in fig.axes[0].get_title()
    plt.close(fig)
    fig = live_loss_figure({"losses": [3.0, 2.0], "num_steps": 2}, shipped["losses"], 0.418)
    assert fig.axes[0].get_title() == "2 live steps: loss 3.00 -> 2.00 (frequencies alone: 0.42)"
    assert list(fig.axes[0].lines[1].get_ydata()) == shipped["losses"][:2]
    plt.close(fig)
    fig = depth_figure(depth_sweep())
    assert fig.axes[0].get_title().startswith("Layer ")
    plt.close(fig)
