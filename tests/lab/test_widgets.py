import random

import matplotlib

matplotlib.use("Agg")

from seqsch.lab.widgets import SchedulingPanel
from seqsch.scheduling.cost_model import load_cost_model


def _panel():
    rng = random.Random(0)
    true = [rng.randint(5, 512) for _ in range(400)]
    return SchedulingPanel(true, true, load_cost_model("cpu-smollm2-135m"))


def test_moving_the_batch_size_slider_changes_the_waste():
    panel = _panel()
    small = panel.summaries["vanilla"]["effective_token_ratio"]
    panel.batch_size.value = 64
    large = panel.summaries["vanilla"]["effective_token_ratio"]
    assert large < small  # bigger static batches wait for longer answers


def test_scheduling_beats_vanilla_and_toggles_change_the_result():
    panel = _panel()
    assert panel.summaries["scheduled"]["effective_token_ratio"] > panel.summaries["vanilla"][
        "effective_token_ratio"]
    before = dict(panel.summaries["scheduled"])
    panel.vbs.value = True
    assert panel.summaries["scheduled"] != before



def test_fcr_toggle_collects_failures_of_underestimated_lengths():
    rng = random.Random(1)
    true = [rng.randint(5, 512) for _ in range(200)]
    under = [length // 2 for length in true]  # every prediction too short
    panel = SchedulingPanel(true, under, load_cost_model("cpu-smollm2-135m"))
    assert panel.summaries["scheduled"]["failure_ratio"] == 0
    panel.fcr.value = True
    assert panel.summaries["scheduled"]["failure_ratio"] > 0.5


def test_group_size_slider_schedules_groups_apart():
    panel = _panel()
    whole = panel.summaries["scheduled"]["effective_token_ratio"]
    panel.group_size.value = 16  # sorting within groups of 16 finds fewer like-length neighbours
    assert panel.configs()["scheduled"].group_size == 16
    assert panel.summaries["scheduled"]["effective_token_ratio"] < whole
    panel.group_size.value = 0
    assert panel.configs()["scheduled"].group_size is None
