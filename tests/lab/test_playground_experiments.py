"""The playground's experiment helpers read the panel back as the playground cell prints it."""

import pytest

from seqsch.lab.panel_data import custom_workload
from seqsch.lab.playground_experiments import (
    fcr_line,
    paper_line,
    scheduled,
    share_at_cap,
    share_in_top_bin,
    vbs_line,
)
from seqsch.lab.widgets import SchedulingPanel


def test_scheduled_returns_the_panel_on_those_choices_and_its_scheduled_summary():
    panel, summary = scheduled(predictor="oracle", batch_size=8, fcr=True)
    assert panel.batch_size.value == 8 and panel.fcr.value is True
    assert summary is panel.summaries["scheduled"]
    assert summary["failure_ratio"] == 0  # the oracle is never short: FCR cuts nothing


def _panel(true: list[int], predicted: list[int]) -> SchedulingPanel:
    return SchedulingPanel(custom_workload(true, predicted, max_new_tokens=200),
                           predictor="given", cost_model="a100-80gb-vicuna7b", bin_size=50)


def test_share_in_top_bin_counts_the_predictions_whose_bin_holds_the_cap():
    # bins of 50 under a cap of 200: 151-200 is the top bin; 210 lies above the cap
    panel = _panel([10, 20, 30, 40], [20, 160, 210, 120])
    assert share_in_top_bin(panel, "given") == pytest.approx(0.5)
    assert share_in_top_bin(panel, "oracle") == 0  # true lengths all under 50


def test_share_at_cap_counts_lengths_at_or_over_the_cap():
    panel = _panel([10, 20, 30, 40], [200, 199, 250, 5])
    assert share_at_cap(panel, "given") == pytest.approx(0.5)
    assert share_at_cap(panel, "oracle") == 0


def test_the_shipped_target_is_censored_for_most_prompts():
    panel, _ = scheduled(predictor="lora")
    assert share_at_cap(panel, "oracle-max4") > 0.5
    assert share_in_top_bin(panel, "lora") > 0.5


def test_experiment_lines_read_the_panels():
    line = fcr_line("priority-head-l4")
    assert line.startswith("   priority-head-l4   failure ratio 0% -> ")
    _, on = scheduled(predictor="priority-head-l4", fcr=True)
    assert f"-> {on['failure_ratio']:.0%}, ETR" in line
    vbs = vbs_line("cpu-smollm2-135m")
    assert vbs.endswith("warning: True")  # VBS leaves the CPU model's timed batch sizes
    assert vbs_line("a100-80gb-vicuna7b").endswith("warning: False")
    constant = paper_line("constant")
    assert constant.split()[:4] == ["constant", constant.split()[1], "/", "1.00x;"]
