"""Models with random weights, built from a config: for timing a schedule, never for answers.

What a schedule does to throughput depends on the length distribution and on what a decoding
step costs, not on which weights write the tokens. Trace replay (`seqsch.bench.replay`) therefore
forces each answer to a recorded length and times the model that would serve it; its weights
can be random, so the paper's Vicuna-7B shape runs on any GPU without a checkpoint (weights
of 13 GB cannot travel; a 1 kB config can). Such a model is marked, and everything that reads
the tokens a model writes refuses it (`require_trained_weights`).

    from seqsch.core.random_weights import load_random_model
    model, tokenizer = load_random_model("llama2-7b", device="cuda", dtype="bf16")
    model, tokenizer = load_model("random:smollm2-135m")   # the same through seqsch.core.models

Shipped shapes (`seqsch/core/model_configs/`): `llama2-7b` (the paper's Vicuna-7B), `smollm2-135m`
(the embedded model), `smollm2-360m` (its larger sibling, which the serving benchmark serves
beside the 135M length predictor), `tiny` (tests). A path to any HF `config.json` works too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM

from seqsch.core.device import resolve_device, resolve_dtype

RANDOM_PREFIX = "random:"
CONFIG_DIR = Path(__file__).parent / "model_configs"
MARK = "seqsch_random_weights"  # set on the config of every model built here


class ReplayTokenizer:
    """What the engines need of a tokenizer when prompts are token ids and answers are never
    read: the pad and EOS ids. Encoding text is refused; decoding gives no text."""

    chat_template = None
    padding_side = "left"

    def __init__(self, vocab_size: int, pad_token_id: int, eos_token_id: int) -> None:
        self.vocab_size = vocab_size
        self.pad_token_id, self.eos_token_id = pad_token_id, eos_token_id

    def __len__(self) -> int:
        return self.vocab_size

    def decode(self, token_ids: Sequence[int], **kwargs) -> str:
        return ""  # replayed tokens are never answers

    def __call__(self, *args, **kwargs):
        raise TypeError("a random-weight model has no tokenizer: trace replay gives prompts as "
                        "token ids (seqsch.bench.replay.synthetic_prompts)")


def random_model_names() -> list[str]:
    """The shipped shapes, e.g. ['llama2-7b', 'smollm2-135m', 'tiny']."""
    return sorted(path.stem for path in CONFIG_DIR.glob("*.json"))


def is_random_model_name(name: str) -> bool:
    return str(name).startswith(RANDOM_PREFIX)


def read_config(name_or_path: str | Path) -> dict:
    """A shipped shape's config, or an HF `config.json` at a path, as a dict."""
    name = str(name_or_path).removeprefix(RANDOM_PREFIX)
    path = Path(name) if Path(name).is_file() else CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no model config {name!r}: give a config.json path or one of "
                                f"{random_model_names()} (as random:NAME)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(config, dict) or "model_type" not in config:
        raise ValueError(f"{path}: a model config needs a 'model_type' field (e.g. \"llama\")")
    return {k: v for k, v in config.items() if not k.startswith("_")}


def num_parameters(config: dict) -> int:
    """Parameters of a Llama-shaped config (embeddings once if tied, attention with its KV
    heads, the gated MLP, the norms): 134.5M for `smollm2-135m`, 361.8M for `smollm2-360m`."""
    hidden, layers = config["hidden_size"], config["num_hidden_layers"]
    head_dim = config.get("head_dim") or hidden // config["num_attention_heads"]
    kv_dim = head_dim * config.get("num_key_value_heads", config["num_attention_heads"])
    attention = 2 * hidden * hidden + 2 * hidden * kv_dim
    mlp = 3 * hidden * config["intermediate_size"]
    embeddings = config["vocab_size"] * hidden * (1 if config.get("tie_word_embeddings") else 2)
    return embeddings + layers * (attention + mlp + 2 * hidden) + hidden


def load_random_model(name: str, device: str | torch.device = "auto",
                      dtype: str | torch.dtype = "auto", seed: int = 0):
    """`(model, ReplayTokenizer)`: the shape `name` with seeded random weights, built directly
    on `device` in `dtype` (a 7B model is initialised on the GPU in seconds), eval mode."""
    fields = read_config(name)
    config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    torch.manual_seed(seed)
    with torch.device(torch_device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    model.eval()
    setattr(model.config, MARK, True)
    pad_id = config.pad_token_id if config.pad_token_id is not None else config.eos_token_id
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = pad_id
    return model, ReplayTokenizer(config.vocab_size, pad_id, config.eos_token_id)


def is_random_weights(model) -> bool:
    return bool(getattr(model.config, MARK, False))


def require_trained_weights(model, what: str) -> None:
    """Refuse a random-weight model where the tokens it writes would be read."""
    if is_random_weights(model):
        raise ValueError(
            f"{what} reads the tokens the model writes, but this model has random weights (built "
            "from a config for trace replay): load trained weights (an HF id or a folder), or "
            "give every request a forced length (seqsch.bench.replay)")
