"""Notebook 03's live run: each live number set beside the shipped one it is read against (the
training and evaluation calls replaced by stand-ins; the real ones run in the ci notebook)."""

import json

import pytest

from seqsch.core.paths import DEFAULT_LENGTHS
from seqsch.lab import perception_live
from seqsch.lab.perception_live import (
    live_evaluation_text,
    live_rows,
    live_tuning,
    live_tuning_text,
    shipped_on,
)
from seqsch.perception.evaluation import evaluate_predictions
from seqsch.perception.experiments import load_records

MAIN = {"lora": {"label": "module"}, "length-head": {"label": "length"},
        "constant": {"label": "constant"},
        "noise-floor": {"num_prompts": 200, "error": 135.9, "kendall_tau": 0.38}}


def test_live_tuning_takes_the_shipped_runs_settings(monkeypatch, tmp_path):
    seen = {}

    def fake_train(config):
        seen["config"] = config
        (config.out / "loss_curve.json").write_text(json.dumps([{"loss": 3.0}, {"loss": 2.5}]))
        return {"num_steps": 2, "s_per_step": 1.25}

    tmp_path.mkdir(exist_ok=True)
    monkeypatch.setattr(perception_live, "train", fake_train)
    shipped = {"learning_rate": 1e-4, "batch_size": 4, "grad_accum_steps": 2}
    live = live_tuning(DEFAULT_LENGTHS, 2, shipped, seed=3, out_dir=tmp_path)
    config = seen["config"]
    lora = config.lora
    assert (lora.learning_rate, lora.batch_size, lora.grad_accum_steps, lora.num_steps,
            lora.seed, config.resume) == (1e-4, 4, 2, 2, 3, False)
    assert live["losses"] == [3.0, 2.5]
    assert live_tuning_text(live) == "2 live steps, 1.2 s per step; loss per step: [3.0, 2.5]"


def test_each_live_score_stands_beside_the_shipped_one_on_the_same_prompts(monkeypatch, tmp_path):
    scores = {"lora": (100.0, 0.2), "length-head": (80.0, 0.4), "constant": (140.0, 0.0),
              "noise-floor": (150.0, 0.1)}
    monkeypatch.setattr(perception_live, "evaluate", lambda config: dict(zip(
        ("error", "kendall_tau"), scores[config.predictor])))
    rows = live_rows(DEFAULT_LENGTHS, 8, MAIN, out_dir=tmp_path)
    subset = load_records(DEFAULT_LENGTHS, "val", 8)
    assert [row["label"] for row in rows] == ["module", "length", "constant"]
    assert rows[1]["live_error"] == 80.0
    assert rows[1]["error"] == pytest.approx(shipped_on("length-head", subset)["error"])
    text = live_evaluation_text(DEFAULT_LENGTHS, 8, MAIN, out_dir=tmp_path)
    assert "first 8 validation prompts, vs longest of 4" in text
    assert text.endswith("how noisy 8 prompts are: the noise floor on them has error 150 and tau "
                         "0.10, on all 200: 136 and 0.38")


def test_shipped_on_scores_the_shipped_predictions_of_the_given_prompts():
    subset = load_records(DEFAULT_LENGTHS, "val", 5)
    shipped = json.loads((DEFAULT_LENGTHS.parent / "perception-eval-constant.json").read_text())
    by_id = {p["id"]: p["pred"] for p in shipped["predictions"]}
    expected = evaluate_predictions([by_id[r.id] for r in subset], [r.max_length for r in subset])
    assert shipped_on("constant", subset) == expected
