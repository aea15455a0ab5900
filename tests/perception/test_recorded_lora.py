"""The paper's LoRA module on recorded lengths: the label is the recorded length's bucket, capped
where the replay caps answers, and a run saves what it was tuned on."""

from __future__ import annotations

import copy
import json

import pytest

from seqsch.core.recorded import DEFAULT_RECORDED
from seqsch.core.requests import Request
from seqsch.perception import recorded_lora
from seqsch.perception.lora import LoraTrainConfig
from seqsch.perception.recorded_lora import (
    RecordedLoraConfig,
    recorded_tuning_set,
    train_recorded_lora,
)


def test_labels_are_recorded_buckets_capped_at_the_replays_cap():
    requests = [Request("a", "Say hello.", forced_output_tokens=7),
                Request("b", "Write an essay.", forced_output_tokens=480),
                Request("c", "Write a book.", forced_output_tokens=1900)]
    examples = recorded_tuning_set(requests, max_length=512)
    assert [e["target"] for e in examples] == ["50", "500", "550"]
    assert "Say hello." in examples[0]["prompt"]
    assert [e["target"] for e in recorded_tuning_set(requests, max_length=100)] == [
        "50", "100", "100"]


def test_a_request_without_a_recorded_length_is_refused():
    with pytest.raises(ValueError, match="no recorded length"):
        recorded_tuning_set([Request("a", "hi")])


@pytest.mark.parametrize("bad", [{"num_train": 0}, {"max_length": 10}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        RecordedLoraConfig(**bad)


def test_a_short_run_tunes_and_records_its_labels(tiny, tmp_path, monkeypatch):
    if not DEFAULT_RECORDED.is_file():
        pytest.skip("the recorded-lengths file is not shipped here")
    model, tokenizer = tiny
    monkeypatch.setattr(recorded_lora, "load_model",
                        lambda name: (copy.deepcopy(model), tokenizer))
    try:
        summary = train_recorded_lora(RecordedLoraConfig(
            out=tmp_path / "lora", num_train=8, quiet=True,
            lora=LoraTrainConfig(num_steps=2, batch_size=4, grad_accum_steps=1)))
    except (FileNotFoundError, ImportError) as exc:  # the ShareGPT package absent
        pytest.skip(f"the ShareGPT workload is missing: {exc}")
    assert summary["num_examples"] == 8 and summary["num_steps"] == 2
    saved = json.loads((tmp_path / "lora" / "train_config.json").read_text())
    assert (saved["max_length"], saved["length_target"], saved["num_train"]) == (512, "recorded", 8)
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
