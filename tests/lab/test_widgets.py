import json
import random
import subprocess
import sys

import matplotlib
import pytest

matplotlib.use("Agg")

from seqsch.bench.replay import paper_workload
from seqsch.core.paths import DATA_DIR
from seqsch.lab.panel_data import (
    COST_MODELS,
    calibrated_batch_sizes,
    custom_workload,
    load_workload,
    perception_evals,
)
from seqsch.lab.widgets import SchedulingPanel, shipped_panel
from seqsch.scheduling.cost_model import fit_cost_model, load_cost_model

LEARNED = ("lora", "lora-generate", "length-head", "priority-head-l4", "rank-head", "query")


@pytest.fixture(scope="module")
def panel():
    return shipped_panel()


@pytest.fixture(autouse=True)
def _reset(panel):
    yield
    panel.workload.value = "smollm2-val"
    for control, value in ((panel.predictor, "oracle"), (panel.cost_model, "cpu-smollm2-135m"),
                           (panel.batch_size, 16), (panel.bin_size, 50), (panel.group_size, 0),
                           (panel.vbs, False), (panel.fcr, False)):
        control.value = value


def scheduled(panel):
    return dict(panel.summaries["scheduled"])


def test_the_default_panel_is_the_shipped_validation_workload(panel):
    assert (panel.workload.value, panel.predictor.value, panel.cost_model.value,
            panel.batch_size.value) == ("smollm2-val", "oracle", "cpu-smollm2-135m", 16)
    val = [r for r in load_workload("smollm2-val").records]
    assert len(val) == 200 and all(r.split == "val" for r in val)
    assert panel.summaries["scheduled"]["samples_per_s"] > panel.summaries["vanilla"][
        "samples_per_s"]
    assert panel.chart.value.startswith("<svg") and panel.title() in panel.chart.value
    assert f"{panel.speedup:.2f}x" in panel.numbers.value


def test_moving_the_batch_size_slider_rewrites_numbers_and_chart(panel):
    numbers, chart, summaries = panel.numbers.value, panel.chart.value, dict(panel.summaries)
    panel.batch_size.value = 17
    assert panel.summaries != summaries
    assert panel.numbers.value != numbers and panel.chart.value != chart


def test_learned_predictions_are_the_evaluation_files_paired_by_prompt_id():
    workload, files = load_workload("smollm2-val"), perception_evals()
    assert set(files) == set(LEARNED)  # every source scored on these prompts, by the registry
    for name in LEARNED:
        items = {p["id"]: p["pred"] for p in json.loads(files[name].read_text())[
            "predictions"]}
        for record, predicted in zip(workload.records, workload.predicted(name), strict=True):
            assert items[record.id] is None or items[record.id] == predicted
    assert "130 of 200" in workload.notes["query"]  # the query's missing answers: filled, and said
    shipped = json.loads((DATA_DIR / "perception-eval-constant.json").read_text())
    assert workload.predicted("constant")[0] == shipped["predictions"][0]["pred"]


@pytest.mark.parametrize("predictor", load_workload("smollm2-val").predictors)
def test_every_predictor_of_the_validation_workload_is_simulated(panel, predictor):
    panel.predictor.value = predictor
    assert panel.summaries["scheduled"]["num_samples"] == 200
    assert f", {predictor}, " in panel.numbers.value
    if predictor != "oracle":
        assert panel.data.predicted(predictor) != panel.data.true_lengths


def test_fcr_matters_with_learned_predictions_and_not_with_the_oracle(panel):
    panel.fcr.value = True
    assert scheduled(panel)["failure_ratio"] == 0  # the oracle never overruns
    for predictor in ("length-head", "priority-head-l4"):
        panel.predictor.value = predictor
        panel.fcr.value = False
        without = scheduled(panel)
        panel.fcr.value = True
        assert scheduled(panel)["failure_ratio"] > 0.05 and without["failure_ratio"] == 0
        assert scheduled(panel)["effective_token_ratio"] != without["effective_token_ratio"]
        assert "FCR failures" in panel.numbers.value
    assert scheduled(panel)["failure_ratio"] > 0.3  # the layer-4 head predicts short


def test_cost_models_change_the_time_not_the_waste(panel):
    seen = {}
    for name in COST_MODELS:
        panel.cost_model.value = name
        seen[name] = (panel.summaries["scheduled"]["samples_per_s"],
                      panel.summaries["scheduled"]["effective_token_ratio"])
        assert name in panel.notes.value
        assert ("analytic" in panel.notes.value) == (name != "cpu-smollm2-135m")
    assert len({sps for sps, _ in seen.values()}) == len(COST_MODELS)
    assert len({etr for _, etr in seen.values()}) == 1


def test_the_paper_workload_is_replays_sample_and_refuses_our_predictors(panel):
    panel.predictor.value = "lora"
    panel.workload.value = "paper-vicuna"
    assert panel.predictor.value == "oracle"  # lora is not offered here: back to the oracle
    assert "lora" not in panel.predictor.options and "standin" in panel.predictor.options
    assert "not available for paper-vicuna: lora" in panel.notes.value
    replay, workload = paper_workload(), panel.data
    assert workload.true_lengths == replay.true_lengths
    assert (workload.predicted("oracle-max4"), workload.predicted("standin")) == (replay.oracle,
                                                                        replay.standin)
    panel.predictor.value = "standin"
    assert panel.summaries["scheduled"]["num_samples"] == 1024
    with pytest.raises(ValueError, match="no predictions for workload 'paper-vicuna'"):
        shipped_panel(workload="paper-vicuna", predictor="lora")


def test_a_warning_past_the_calibrated_batch_sizes(panel):
    assert calibrated_batch_sizes(load_cost_model("cpu-smollm2-135m")) == (8, 64)
    panel.batch_size.value = 64
    assert panel.warning.value == ""
    panel.batch_size.value = 65
    assert "65 rows" in panel.warning.value and "64 rows" in panel.warning.value
    panel.batch_size.value = 16
    panel.vbs.value = True  # VBS's short buckets run bigger batches than the slider says
    assert panel.biggest_batch > 64 and "Extrapolation" in panel.warning.value
    panel.cost_model.value = "a100-80gb-vicuna7b"
    assert panel.warning.value == "" and "analytic" in panel.notes.value
    unrecorded = fit_cost_model([(1, 10, 0.1), (4, 10, 0.2), (8, 20, 0.4)], [], "fit", "cpu")
    small = SchedulingPanel(custom_workload([10, 20], [10, 20]), cost_model=unrecorded)
    assert "does not record" in small.warning.value


@pytest.mark.parametrize("choice", [{"workload": "alpaca"}, {"predictor": "psychic"},
                                    {"cost_model": "tpu"}])
def test_an_unknown_choice_is_a_clear_error(choice):
    kind, value = next(iter(choice.items()))
    with pytest.raises((ValueError, FileNotFoundError), match=value):
        shipped_panel(**choice)
    with pytest.raises(ValueError, match="choose one of"):
        load_workload("alpaca") if kind == "workload" else load_workload(
            "smollm2-val").predicted("psychic")


def test_group_size_slider_schedules_groups_apart(panel):
    panel.predictor.value = "oracle-max4"
    whole = scheduled(panel)["effective_token_ratio"]
    panel.group_size.value = 16  # sorting within groups of 16 finds fewer like-length neighbours
    assert panel.configs()["scheduled"].group_size == 16
    assert scheduled(panel)["effective_token_ratio"] < whole
    panel.group_size.value = 0
    assert panel.configs()["scheduled"].group_size is None


def test_custom_lengths_under_predicted_fail_under_fcr():
    rng = random.Random(1)
    true = [rng.randint(5, 512) for _ in range(200)]
    under = [length // 2 for length in true]  # every prediction too short
    panel = SchedulingPanel(custom_workload(true, under), predictor="given")
    assert panel.summaries["scheduled"]["failure_ratio"] == 0
    panel.fcr.value = True
    assert panel.summaries["scheduled"]["failure_ratio"] > 0.5


def test_static_export_draws_the_same_numbers(panel):
    fig = panel.draw()
    assert fig._suptitle.get_text() == f"{panel.title()}\n{panel.subtitle()}"
    heights = [bar.get_height() for bar in fig.axes[1].patches]
    assert heights == [panel.summaries[n]["samples_per_s"] for n in ("vanilla", "scheduled")]


def test_the_panel_path_imports_no_torch():
    code = ("import sys; from seqsch.lab.widgets import shipped_panel; "
            "p = shipped_panel(); p.workload.value = 'paper-vicuna'; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_slice_of_a_workload_is_its_first_requests():
    assert load_workload("paper-vicuna", 256).true_lengths == paper_workload(
        num_data=256).true_lengths
    assert shipped_panel(num_requests=64).summaries["vanilla"]["num_samples"] == 64
    with pytest.raises(ValueError, match="has 200 requests"):
        load_workload("smollm2-val", 201)
