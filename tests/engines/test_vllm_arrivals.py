"""vLLM fed by arrivals: what runs without vLLM (the folder a random shape becomes, the version
probe). Serving itself is checked by the serving benchmark's vLLM test, which needs .venv-vllm."""

from __future__ import annotations

import json

import pytest

from seqsch.core.random_weights import read_config
from seqsch.engines.vllm_arrivals import random_model_folder, vllm_version
from seqsch.engines.vllm_engine import is_vllm_available


def test_a_random_shape_becomes_a_folder_vllm_can_read(tmp_path):
    try:
        folder = random_model_folder("random:tiny", root=tmp_path)
    except FileNotFoundError as exc:
        pytest.skip(f"the embedded model (for its tokenizer) is missing: {exc}")
    assert folder == tmp_path / "tiny"
    config = json.loads((folder / "config.json").read_text())
    shape = read_config("random:tiny")
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["hidden_size"] == shape["hidden_size"]
    assert config["num_hidden_layers"] == shape["num_hidden_layers"]
    generation = json.loads((folder / "generation_config.json").read_text())
    assert generation["eos_token_id"] == config["eos_token_id"]
    assert (folder / "tokenizer_config.json").is_file()


def test_the_version_probe_agrees_with_the_availability_check():
    version = vllm_version()
    assert (version is not None) == is_vllm_available()
