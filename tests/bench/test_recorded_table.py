"""Tests of seqsch.bench.recorded_table: the paper's rows simulated on recorded lengths with a
learned source's predictions, on a unit-free cost model and a small evaluation file."""

from __future__ import annotations

import json
import random

import pytest

from seqsch.bench.recorded_table import (
    RecordedTableConfig,
    a100_cost_model,
    recorded_table,
    simulate_recorded_table,
)
from seqsch.core.recorded import RecordedLength, write_recorded_file
from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.scheduler import SchedulerConfig

COST = CostModel(name="t", device="cpu", step_fixed_s=1e-3, step_per_row_s=1e-4,
                 step_per_row_context_s=0, prefill_fixed_s=1e-3, prefill_per_token_s=0)


def _lengths(num: int = 300, seed: int = 0) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    true = [max(1, round(rng.lognormvariate(5.0, 1.0))) for _ in range(num)]
    prompts = [rng.randint(4, 200) for _ in range(num)]
    return true, prompts


TRUE, PROMPTS = _lengths()
ORACLE = [min(n, 512) for n in TRUE]


def _labels(sources):
    labels = ["vanilla"]
    for s in sources:
        labels += [f"{s} sort", f"{s} + VBS + FCR"]
    return labels + ["oracle + VBS + FCR", "oracle sort"]


def _vanilla_by_hand(true, batch_size=16, cap=512):
    """Arrival-order batches of 16 (groups of 256 cut at a batch boundary): each costs a
    prefill (1 ms) and steps - 1 decode steps of 1 ms + 0.1 ms per row."""
    produced = [min(n, cap) for n in true]
    wall, slots = 0.0, 0
    for start in range(0, len(true), batch_size):
        batch = produced[start:start + batch_size]
        steps = max(batch)
        wall += 1e-3 + (steps - 1) * (1e-3 + 1e-4 * len(batch))
        slots += steps * len(batch)
    return len(true) / wall, sum(produced) / slots


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"max_new_tokens": 0},
                                    {"bin_size": 0}, {"group_size": 0}, {"group_size": -3}])
def test_config_validation(kwargs):
    with pytest.raises(ValueError):
        RecordedTableConfig(**kwargs)


def test_config_scheduler():
    config = RecordedTableConfig(batch_size=8, max_new_tokens=300, bin_size=25, group_size=None)
    assert config.scheduler("vanilla") == SchedulerConfig(
        "vanilla", batch_size=8, max_new_tokens=300, bin_size=25, group_size=None)
    binned = config.scheduler("bin", vbs_fcr=True)
    assert (binned.strategy, binned.vbs, binned.fcr, binned.bin_size) == ("bin", True, True, 25)
    assert RecordedTableConfig().scheduler("sort").group_size == 256


# ------------------------------------------------------------------------------ the table


def test_workload_is_long_tailed():
    assert sum(n > 512 for n in TRUE) >= 20 and min(TRUE) >= 1


def test_rows_and_vanilla_by_hand():
    noisy = [n * random.Random(i).uniform(0.5, 2.0) for i, n in enumerate(TRUE)]
    rows = simulate_recorded_table(TRUE, PROMPTS, {"noisy": noisy, "flat": [100.0] * 300}, COST)
    assert [r["label"] for r in rows] == _labels(["noisy", "flat"])
    assert all(set(r) == {"label", "samples_per_s", "x_vanilla", "effective_token_ratio",
                          "failure_ratio"} for r in rows)
    vanilla = rows[0]
    samples_per_s, etr = _vanilla_by_hand(TRUE)
    assert vanilla["x_vanilla"] == 1.0
    assert vanilla["samples_per_s"] == pytest.approx(samples_per_s)
    assert vanilla["effective_token_ratio"] == pytest.approx(etr)
    assert vanilla["failure_ratio"] == 0.0
    for row in rows:
        assert row["x_vanilla"] == pytest.approx(row["samples_per_s"] / samples_per_s)
    by = {r["label"]: r for r in rows}
    assert by["oracle sort"]["x_vanilla"] > 1.2
    assert by["oracle sort"]["effective_token_ratio"] > etr
    assert by["oracle sort"]["failure_ratio"] == 0.0  # sort without FCR cuts nothing
    assert by["noisy sort"]["failure_ratio"] == 0.0
    assert 1.0 < by["noisy sort"]["x_vanilla"] < by["oracle sort"]["x_vanilla"]
    assert by["noisy + VBS + FCR"]["failure_ratio"] > 0  # underestimates are recomputed


def test_oracle_as_a_learned_source_reproduces_the_oracle_rows():
    rows = simulate_recorded_table(TRUE, PROMPTS, {"copy": [float(n) for n in ORACLE]}, COST)
    by = {r["label"]: r for r in rows}
    assert by["copy sort"] == {**by["oracle sort"], "label": "copy sort"}
    assert by["copy + VBS + FCR"] == {**by["oracle + VBS + FCR"], "label": "copy + VBS + FCR"}
    assert by["oracle + VBS + FCR"]["failure_ratio"] == 0.0  # the oracle never underestimates


def test_a_constant_prediction_sorts_as_vanilla_runs():
    # a stable sort of equal keys keeps arrival order: the same batches, the same caps
    rows = simulate_recorded_table(TRUE, PROMPTS, {"flat": [100.0] * 300}, COST)
    by = {r["label"]: r for r in rows}
    assert by["flat sort"]["samples_per_s"] == by["vanilla"]["samples_per_s"]
    assert by["flat sort"]["x_vanilla"] == 1.0


def test_cap_follows_the_config():
    config = RecordedTableConfig(max_new_tokens=128, group_size=None)
    rows = simulate_recorded_table(TRUE, PROMPTS, {}, COST, config)
    assert [r["label"] for r in rows] == _labels([])
    samples_per_s, etr = _vanilla_by_hand(TRUE, cap=128)
    assert rows[0]["samples_per_s"] == pytest.approx(samples_per_s)
    assert rows[0]["effective_token_ratio"] == pytest.approx(etr)
    copy = simulate_recorded_table(TRUE, PROMPTS, {"c": [min(n, 128) for n in TRUE]}, COST,
                                   config)
    assert copy[1]["samples_per_s"] == rows[-1]["samples_per_s"]  # c sort == oracle sort


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="text-ridge: 299 predictions for 300 requests"):
        simulate_recorded_table(TRUE, PROMPTS, {"ok": ORACLE, "text-ridge": ORACLE[:-1]}, COST)
    with pytest.raises(ValueError, match="prompt length"):
        simulate_recorded_table(TRUE, PROMPTS[:-1], {}, COST)
    with pytest.raises(ValueError, match="at least one"):
        simulate_recorded_table([], [], {}, COST)


# ------------------------------------------------------------------------------ A100 and file


@pytest.fixture(scope="module")
def a100(paper_val_path):
    return a100_cost_model()


def test_a100_cost_model_is_calibrated(a100):
    assert isinstance(a100, CostModel)
    assert a100.name.endswith("-calibrated")
    assert "calibrated" in a100.source
    assert a100.step_fixed_s > 0 and a100.step_per_row_s > 0


def _write_eval(tmp_path, num=40):
    true, prompts = _lengths(num, seed=3)
    records = [RecordedLength(f"r{i}_0", "test", p, n)
               for i, (p, n) in enumerate(zip(prompts, true))]
    records.append(RecordedLength("other_0", "train", 7, 70))  # not in the evaluation
    lengths_file = write_recorded_file(tmp_path / "lengths.jsonl", records, {"w": "test"})
    ids = [r.id for r in records[:num]][::-1]  # the evaluation's own order
    recorded = [true[int(i[1:-2])] for i in ids]
    text = [n * 1.3 + 5 for n in recorded]
    evaluation = {"split": "test", "lengths": str(lengths_file.resolve()), "ids": ids,
                  "recorded_lengths": recorded,
                  "sources": {"text-ridge": {"predictions": text},
                              "prompt-length": {"predictions": [
                                  prompts[int(i[1:-2])] for i in ids]}}}
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(evaluation))
    return path, evaluation, [prompts[int(i[1:-2])] for i in ids]


def test_recorded_table_from_an_evaluation_file(tmp_path, a100):
    path, evaluation, prompt_lengths = _write_eval(tmp_path)
    table = recorded_table(path)
    assert table["split"] == "test" and table["num_requests"] == 40
    assert table["cost_model"] == a100.name
    names = list(evaluation["sources"])  # every source of the file, in its order
    assert [r["label"] for r in table["rows"]] == _labels(names)
    expected = simulate_recorded_table(evaluation["recorded_lengths"], prompt_lengths,
                                       {name: evaluation["sources"][name]["predictions"]
                                        for name in names}, a100)
    assert table["rows"] == expected  # prompt lengths looked up by id, in the file's order
    both = recorded_table(str(path), sources=("prompt-length", "text-ridge"),
                          config=RecordedTableConfig(batch_size=8))
    assert [r["label"] for r in both["rows"]] == _labels(["prompt-length", "text-ridge"])


def test_recorded_table_unknown_source(tmp_path, paper_val_path):
    path, _, _ = _write_eval(tmp_path, num=8)
    with pytest.raises(ValueError, match="lora"):
        recorded_table(path, sources=("text-ridge", "lora"))
