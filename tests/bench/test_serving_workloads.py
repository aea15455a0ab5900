"""The serving benchmark's workloads: forced lengths, prompts, learned priorities and cost."""

import json

import pytest

import seqsch.bench.serving_workloads as module
from seqsch.bench.serving_workloads import LiveHead, serving_workload
from seqsch.core.recorded import RecordedLength, write_recorded_file


def test_paper_workload_uses_the_standin_and_costs_nothing(paper_val_path):
    workload = serving_workload("paper-val", 6, "random:tiny")
    assert len(workload.requests) == len(workload.prompts) == len(workload.learned["standin"])
    assert len(workload.requests) == 6
    assert all(r.forced_output_tokens >= 1 for r in workload.requests)
    assert workload.predictor_s == {"standin": 0.0}
    with pytest.raises(ValueError, match="no learned head"):
        LiveHead(workload)


@pytest.fixture
def recorded_files(tmp_path):
    records = [RecordedLength(f"r{i}_0", "test" if i % 2 else "train", 10 + i, 100 * i + 7)
               for i in range(10)]
    lengths = write_recorded_file(tmp_path / "lengths.jsonl", records, {})
    test_ids = [r.id for r in records if r.split == "test"]
    evaluation = {"split": "test", "ids": test_ids[::-1],  # by id, not by position
                  "sources": {"recorded-head": {"predictions": [5, 4, 3, 2, 1],
                                                "ms_per_prompt": 20.0}}}
    eval_path = tmp_path / "eval.json"
    eval_path.write_text(json.dumps(evaluation))
    return lengths, eval_path, test_ids


def test_recorded_workload_reads_the_test_split_and_its_learned_source(
        recorded_files, monkeypatch):
    lengths, eval_path, test_ids = recorded_files
    pool = {i: module.Request(i, f"prompt {i}", "answer") for i in test_ids}
    monkeypatch.setattr(module, "recorded_requests", lambda records, split: [
        module.Request(r.id, pool[r.id].prompt, "answer", r.num_prompt_tokens,
                       r.num_output_tokens, forced_output_tokens=r.num_output_tokens)
        for r in records if r.split == split])
    workload = serving_workload("sharegpt-recorded", 4, "random:smollm2-135m",
                                max_new_tokens=512, eval_path=eval_path, lengths=lengths)
    assert [r.id for r in workload.requests] == test_ids[:4]
    assert [r.forced_output_tokens for r in workload.requests] == [107, 307, 507, 512]
    assert workload.learned == {"recorded-head": [1.0, 2.0, 3.0, 4.0]}  # matched by id
    assert workload.predictor_s == {"recorded-head": pytest.approx(0.02)}
    assert all(ids for ids in workload.prompts)
    with pytest.raises(ValueError, match="num_requests"):
        serving_workload("sharegpt-recorded", 6, eval_path=eval_path, lengths=lengths)


def test_unknown_workload_is_an_error():
    with pytest.raises(ValueError, match="workload must be one of"):
        serving_workload("nosuch", 4)


def test_live_head_refuses_a_head_other_than_the_evaluations(recorded_files, monkeypatch):
    lengths, eval_path, test_ids = recorded_files
    evaluation = json.loads(eval_path.read_text())
    evaluation.update(head="data/probe-sharegpt-recorded", head_sha256="0" * 64,
                      model="smollm2-135m-embedded", dtype="float32")
    eval_path.write_text(json.dumps(evaluation))
    monkeypatch.setattr(module, "recorded_requests", lambda records, split: [
        module.Request(r.id, "p", "a", r.num_prompt_tokens, r.num_output_tokens,
                       forced_output_tokens=r.num_output_tokens)
        for r in records if r.split == split])
    workload = serving_workload("sharegpt-recorded", 2, "random:smollm2-135m",
                                eval_path=eval_path, lengths=lengths)
    with pytest.raises(ValueError, match="hash differs"):
        LiveHead(workload)


@pytest.mark.slow
def test_live_head_predicts_the_evaluations_lengths(embedded):
    """The committed head, run one prompt at a time as the serving bench runs it, reproduces
    the committed evaluation's test predictions (float32, the evaluation's dtype)."""
    workload = serving_workload("sharegpt-recorded", 3, "random:smollm2-360m")
    head = LiveHead(workload)
    with pytest.raises(RuntimeError, match="warm_up"):
        head(0)
    head.warm_up()
    assert head.agreement == 3
    assert head(1) == workload.learned["recorded-head"][1]
