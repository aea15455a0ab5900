"""Tests of seqsch.scheduling.cost_model."""

import random

import pytest

from seqsch.scheduling.cost_model import (
    GPU_PRESETS,
    CostModel,
    fit_cost_model,
    fit_mixed_cost_model,
    gpu_cost_model,
    load_cost_model,
)

MODEL = CostModel("t", "test", 0.01, 0.002, 1e-5, 0.05, 3e-4)


def test_step_and_prefill_formulas():
    assert MODEL.step_s(4, 100) == pytest.approx(0.01 + 0.008 + 4e-3)
    assert MODEL.prefill_s(4, 10) == pytest.approx(0.05 + 0.012)


def test_batch_time_closed_form_matches_sum_over_steps():
    for rows, steps, prompt_len in [(1, 1, 0), (3, 7, 11), (16, 512, 80)]:
        expected = MODEL.prefill_s(rows, prompt_len) + sum(
            MODEL.step_s(rows, prompt_len + k) for k in range(1, steps)
        )
        assert MODEL.batch_time_s(rows, steps, prompt_len) == pytest.approx(expected)
    with pytest.raises(ValueError, match="num_steps >= 1"):
        MODEL.batch_time_s(1, 0, 0)


def test_save_and_load_round_trip(tmp_path):
    path = MODEL.save(tmp_path / "sub" / "t.json")
    assert load_cost_model(path) == MODEL
    (tmp_path / "broken.json").write_text('{"name": "x"}')
    with pytest.raises(ValueError, match="not a cost model"):
        load_cost_model(tmp_path / "broken.json")


def test_packaged_model_and_presets_load():
    cpu = load_cost_model("cpu-smollm2-135m")
    assert cpu.step_s(8, 0) == pytest.approx(0.085 + 8 * 0.0039)
    assert "batch sizes 8/32/64" in cpu.source
    assert load_cost_model("h100-vicuna7b") == GPU_PRESETS["h100-vicuna7b"]
    with pytest.raises(FileNotFoundError, match="cpu-smollm2-135m"):
        load_cost_model("no-such-model")


def test_fit_recovers_known_coefficients():
    rng = random.Random(0)
    steps = [(r, n, MODEL.step_s(r, n)) for r in (1, 8, 32) for n in (10, 200, 400)]
    prefills = [(r, p, MODEL.prefill_s(r, p)) for r in (1, 4) for p in (16, rng.randint(30, 90))]
    fitted = fit_cost_model(steps, prefills, "fit", "test")
    for field in (
        "step_fixed_s",
        "step_per_row_s",
        "step_per_row_context_s",
        "prefill_fixed_s",
        "prefill_per_token_s",
    ):
        assert getattr(fitted, field) == pytest.approx(getattr(MODEL, field), rel=1e-6)


def test_fit_drops_terms_the_data_cannot_separate():
    steps = [(r, 0, 0.085 + 0.0039 * r) for r in (8, 32, 64)]
    fitted = fit_cost_model(steps, [], "cpu", "cpu")
    assert (fitted.step_fixed_s, fitted.step_per_row_s) == pytest.approx((0.085, 0.0039))
    assert fitted.step_per_row_context_s == 0.0
    assert fitted.prefill_fixed_s == pytest.approx(0.085)
    with pytest.raises(ValueError, match="at least one"):
        fit_cost_model([], [], "x", "y")


def _mixed_step(decoding: int, context_sum: int, admitted: int, prompt_sum: int) -> tuple:
    """A continuous batch's step as the serving simulator prices it under MODEL."""
    step_s = MODEL.prefill_s(admitted, prompt_sum / admitted) if admitted else 0.0
    if decoding:
        step_s += MODEL.step_s(decoding, context_sum / decoding)
    return decoding, context_sum, admitted, prompt_sum, step_s


def test_mixed_fit_recovers_the_simulators_step_price_from_mixed_steps():
    terms = [_mixed_step(d, d * c, a, a * p)
             for d in (0, 3, 16) for c in (40, 300) for a in (0, 1, 2) for p in (9, 500)
             if d or a]
    fitted = fit_mixed_cost_model(terms, "fit", "test")
    for field in ("step_fixed_s", "step_per_row_s", "step_per_row_context_s",
                  "prefill_fixed_s", "prefill_per_token_s"):
        assert getattr(fitted, field) == pytest.approx(getattr(MODEL, field), rel=1e-6)
    with pytest.raises(ValueError, match="at least one"):
        fit_mixed_cost_model([], "x", "y")


def test_mixed_fit_drops_a_term_fitted_below_zero():
    # steps that cost less with a longer context: no non-negative price explains that
    terms = [(4, 4 * c, 0, 0, 0.1 - 1e-5 * c) for c in (10, 100, 1000)] + [(0, 0, 1, 50, 0.2)]
    fitted = fit_mixed_cost_model(terms, "fit", "test")
    assert fitted.step_per_row_context_s == 0.0
    assert min(fitted.step_s(4, 500), fitted.prefill_s(1, 1)) > 0


def test_gpu_model_is_bandwidth_bound():
    a100 = GPU_PRESETS["a100-80gb-vicuna7b"]
    weights_read_s = 6.74e9 * 2 / 2039e9
    assert a100.step_s(1, 0) == pytest.approx(weights_read_s + 0.002 + a100.step_per_row_s)
    assert a100.step_per_row_context_s == pytest.approx(2 * 32 * 4096 * 2 / 2039e9)
    assert GPU_PRESETS["h100-vicuna7b"].step_s(16, 300) < a100.step_s(16, 300)
    slow = gpu_cost_model(7, 2, 1000, 0, overhead_s=0.0)
    assert slow.step_fixed_s == pytest.approx(0.014)
