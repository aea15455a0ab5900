"""Notebook 07's step-cost curves: which models are timed, a tiny model measured, and the
lines and title that set them beside the A100 models."""

import pytest

from seqsch.bench.step_cost_sweep import (
    COMMITTED_SHAPE,
    growth_lines,
    growth_rows,
    growth_title,
    measure_model_curves,
    model_growth,
    priced_curves,
    step_models,
    step_table_lines,
)
from seqsch.scheduling.cost_model import CostModel

A = CostModel("a", "gpu", 0.01, 0.001, 0.0, 0.0, 0.0)
B = CostModel("b", "gpu", 0.02, 0.002, 0.0, 0.0, 0.0)


def test_step_models_add_the_committed_shape_on_a_cpu_only():
    assert step_models(["auto"], "random:tiny", has_gpu=False) == ["random:tiny", COMMITTED_SHAPE]
    assert step_models(["auto"], "random:tiny", has_gpu=True) == ["random:tiny"]
    assert step_models(["auto"], COMMITTED_SHAPE, has_gpu=False) == [COMMITTED_SHAPE]
    assert step_models(["random:x", "auto"], "random:tiny", has_gpu=False) == ["random:x"]


def test_growth_and_lines():
    assert growth_rows({1: 1.0, 16: 2.0}, [1, 16, 64]) == (16, 64)
    assert growth_rows({1: 1.0, 4: 2.0}, [1, 4]) == (1, 4)
    assert model_growth(A, 16, 256) == pytest.approx(0.266 / 0.026)
    assert priced_curves({"a": A}, [1, 16]) == {"a": {1: A.step_s(1, 128), 16: A.step_s(16, 128)}}
    lines = step_table_lines({"m": {1: 0.002, 16: 0.004}}, [1, 16], A, B)
    assert lines[0] == "   1 rows: 2.0 ms (m) per step here; A100 model 11.0 ms, calibrated 22.0 ms"
    title = growth_title({"m": 3.0}, 16, 64, "CPU", A, B, B)
    assert title.startswith("64 rows over 16: 3.0x on m (CPU, measured);\nA100 models: 2.8x")
    assert growth_lines({"m": 3.0}, 16, 64, "CPU", A, B)[0].startswith(
        "On m, a step of 64 rows costs 3.0x a 16-row step here (CPU); the analytic A100 model 2.8x")


def test_measure_model_curves_times_each_model():
    curves = measure_model_curves(["random:tiny"], [1, 4], device="cpu", num_threads={
        "random:tiny": 1})
    assert list(curves) == ["random:tiny"] and set(curves["random:tiny"]) == {1, 4}
    assert all(s > 0 for s in curves["random:tiny"].values())
