"""LoRA instruction tuning of the response length perception module.

The paper tunes a LoRA adapter (q_proj and v_proj, r=8, alpha=16, dropout 0.05) so that the served
model answers the length query (`seqsch.perception.prompts.make_query_prompt`, in the chat template)
with the 50-token bucket of its longest sampled answer; only the target tokens and the EOS after
them carry loss. Training shows a progress bar, writes a loss curve (JSON + PNG) and checkpoints
adapter, optimizer, scheduler, step and RNG states every `checkpoint_every` steps: an interrupted
run resumes and ends with the adapter of an uninterrupted one. Serving
(`seqsch.perception.query.load_length_adapter`) switches the adapter on for length queries only.

    python -m seqsch.perception train-lora --num-steps 75   # see seqsch.perception
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file
from tqdm.auto import tqdm

from seqsch.core.cli import positive_int
from seqsch.core.config_args import arg
from seqsch.core.files import atomic_path
from seqsch.core.length_records import LengthRecord
from seqsch.core.models import portable_model
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.static import left_pad, positions_from_mask
from seqsch.perception.buckets import DEFAULT_BUCKET_SIZE
from seqsch.perception.prompts import build_tuning_example
from seqsch.perception.query import DEFAULT_ADAPTER_DIR

LORA_TARGET_MODULES = ("q_proj", "v_proj")
TRAINER_STATE = "trainer_state.pt"


@dataclass(frozen=True)
class LoraTrainConfig:
    """LoRA shape as in the paper; optimisation follows its train.sh (AdamW, warmup + cosine,
    effective batch 32, 3 epochs) except the learning rate: 2e-5 barely moves a LoRA adapter
    of a 135M model in ~75 steps, so the default is 2e-4."""

    num_steps: int | None = field(default=None, metadata=arg(
        "optimizer steps (default: num_epochs over the tuning set)", type=positive_int))
    num_epochs: int = field(default=3, metadata=arg("passes over the tuning set",
                                                    type=positive_int))
    batch_size: int = field(default=4, metadata=arg("examples per forward pass",
                                                    type=positive_int))
    grad_accum_steps: int = field(default=8, metadata=arg("forward passes per optimizer step",
                                                          type=positive_int))
    learning_rate: float = field(default=2e-4, metadata=arg("AdamW's peak learning rate"))
    warmup_ratio: float = field(default=0.03, metadata=arg("share of the steps warming up"))
    weight_decay: float = field(default=0.0, metadata=arg("AdamW's weight decay"))
    max_grad_norm: float = field(default=1.0, metadata=arg("gradient clipping norm"))
    lora_r: int = field(default=8, metadata=arg("the adapter's rank", type=positive_int))
    lora_alpha: int = field(default=16, metadata=arg("the adapter's scale numerator"))
    lora_dropout: float = field(default=0.05, metadata=arg("dropout on the adapter's input"))
    checkpoint_every: int = field(default=25, metadata=arg("save a resumable state every N "
                                                           "steps", type=positive_int))
    max_checkpoints: int = field(default=2, metadata=arg("keep the last N checkpoints",
                                                         type=positive_int))
    seed: int = field(default=0, metadata=arg("seeds the weights, dropout and batch order"))

    def __post_init__(self) -> None:
        for name in ("num_epochs", "batch_size", "grad_accum_steps", "lora_r", "checkpoint_every",
                     "max_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_steps is not None and self.num_steps < 1:
            raise ValueError(f"num_steps must be >= 1 or None, got {self.num_steps}")
        if self.learning_rate <= 0 or self.max_grad_norm <= 0:
            raise ValueError("learning_rate and max_grad_norm must be positive")
        if not 0 <= self.warmup_ratio < 1 or not 0 <= self.lora_dropout < 1:
            raise ValueError("warmup_ratio and lora_dropout must lie in [0, 1)")

    def total_steps(self, num_examples: int) -> int:
        num_per_step = self.batch_size * self.grad_accum_steps
        return self.num_steps or math.ceil(self.num_epochs * num_examples / num_per_step)


def encode_tuning_example(tokenizer, example: dict[str, str], eos_id: int) -> tuple[list, list]:
    """Prompt ids (chat template, exactly as `seqsch.core.requests.encode_prompts` formats them) and
    target ids: the target text followed by EOS. Only the target ids are trained on."""
    prompt_ids = encode_prompts(tokenizer, [Request("tuning", example["prompt"])])[0]
    target_ids = tokenizer(example["target"], add_special_tokens=False).input_ids + [eos_id]
    return prompt_ids, target_ids


def _batch_tensors(pairs: Sequence[tuple[list, list]], pad_id: int, device="cpu"):
    """Left-padded ids, mask, positions and labels for the last k = max target + 1 positions."""
    ids, mask = left_pad([p + t for p, t in pairs], pad_id, device)
    num_kept = max(len(t) for _, t in pairs) + 1
    labels = torch.full((len(pairs), num_kept), -100, dtype=torch.long)
    for row, (_, target) in enumerate(pairs):
        # logit at position j predicts token j + 1: the last len(target) tokens are predicted
        # from the len(target) positions just before the final one.
        labels[row, num_kept - 1 - len(target) : num_kept - 1] = torch.tensor(target)
    positions = positions_from_mask(mask)
    return ids, mask, positions, labels.to(device)


def _micro_batches(num_examples: int, config: LoraTrainConfig, total_steps: int) -> list:
    """Example indices of every forward pass of the run, fixed by the seed (one permutation
    per epoch), so that a resumed run sees the same batches as an uninterrupted one."""
    needed = total_steps * config.grad_accum_steps
    batches: list[list[int]] = []
    epoch = 0
    while len(batches) < needed:
        order = torch.randperm(num_examples, generator=torch.Generator().manual_seed(
            config.seed * 1000 + epoch)).tolist()
        batches += [order[i : i + config.batch_size]
                    for i in range(0, num_examples, config.batch_size)]
        epoch += 1
    return batches[:needed]


def _lr_factor(step: int, total_steps: int, warmup_ratio: float) -> float:
    num_warmup = math.ceil(warmup_ratio * total_steps)
    if step < num_warmup:
        return (step + 1) / num_warmup
    progress = (step - num_warmup) / max(1, total_steps - num_warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


def _checkpoints(out_dir: str | Path) -> list[Path]:
    """Complete checkpoints under `out_dir/checkpoints`, oldest first."""
    folders = Path(out_dir, "checkpoints").glob("step-*")
    done = [f for f in folders if (f / TRAINER_STATE).is_file() and f.name[5:].isdigit()]
    return sorted(done, key=lambda f: int(f.name[5:]))


def _name_base_model_portably(adapter_config: Path) -> None:
    """peft records the base model's folder (a machine's cache path): name it instead, so the
    shipped adapter holds no machine path and its hash is the same on every machine."""
    config = json.loads(adapter_config.read_text())
    if config.get("base_model_name_or_path"):  # a model built in memory has no name to keep
        config["base_model_name_or_path"] = portable_model(config["base_model_name_or_path"])
        adapter_config.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    return (_checkpoints(out_dir) or [None])[-1]


def _save_checkpoint(peft_model, optimizer, scheduler, step, losses, config, out_dir) -> None:
    """Write the checkpoint beside its final place and rename it there (never half-written)."""
    root = Path(out_dir, "checkpoints")
    final = root / f"step-{step}"
    shutil.rmtree(final, ignore_errors=True)
    with atomic_path(final) as tmp:
        peft_model.save_pretrained(tmp, safe_serialization=True)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "step": step, "losses": losses, "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available()
                    else [], "config": asdict(config)}, tmp / TRAINER_STATE)
    for old in _checkpoints(out_dir)[: -config.max_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)


def save_loss_curve(losses: Sequence[dict], out_dir: str | Path) -> Path:
    """`loss_curve.json` (step, loss, lr per optimizer step) and `loss_curve.png`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "loss_curve.json").write_text(json.dumps(list(losses), indent=1))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([p["step"] for p in losses], [p["loss"] for p in losses], marker=".")
    ax.set(xlabel="optimizer step", ylabel="loss per target token", title="LoRA length tuning")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "loss_curve.png", dpi=120)
    plt.close(fig)
    return out_dir / "loss_curve.png"


def train_lora(
    model, tokenizer, examples: Sequence[dict[str, str]], out_dir: str | Path = DEFAULT_ADAPTER_DIR,
    config: LoraTrainConfig | None = None, resume: bool = True, quiet: bool = False,
    on_step: Callable[[int, float], None] | None = None,
) -> list[dict]:
    """Tune a length adapter on `examples` (`seqsch.perception.prompts.build_tuning_example` dicts)
    and save it to `out_dir` as safetensors. Resumes from the latest checkpoint there unless
    `resume` is False. `on_step(step, loss)` is called after each optimizer step. The LoRA layers
    are removed
    from `model` afterwards (it is left as it came). Returns the loss history."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    config = config or LoraTrainConfig()
    if not examples:
        raise ValueError("no tuning examples given")
    out_dir = Path(out_dir)
    pairs = [encode_tuning_example(tokenizer, ex, tokenizer.eos_token_id) for ex in examples]
    total_steps = config.total_steps(len(pairs))
    batches = _micro_batches(len(pairs), config, total_steps)
    was_training = model.training
    requires_grads = [p.requires_grad for p in model.parameters()]
    torch.manual_seed(config.seed)
    lora_config = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                             lora_dropout=config.lora_dropout, task_type="CAUSAL_LM",
                             target_modules=list(LORA_TARGET_MODULES))
    peft_model = get_peft_model(model, lora_config)
    try:
        params = [p for p in peft_model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=config.learning_rate,
                                      weight_decay=config.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: _lr_factor(s, total_steps, config.warmup_ratio))
        step, losses = 0, []
        checkpoint = latest_checkpoint(out_dir) if resume else None
        if checkpoint is not None:
            state = torch.load(checkpoint / TRAINER_STATE, weights_only=True)
            if state["config"] != asdict(config):
                raise ValueError(f"{checkpoint} was written with other settings; pass another "
                                 "output folder or resume=False")
            set_peft_model_state_dict(peft_model,
                                      load_file(checkpoint / "adapter_model.safetensors"))
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            step, losses = state["step"], state["losses"]
            torch.set_rng_state(state["torch_rng"])  # LoRA dropout draws from it
            if state["cuda_rng"]:
                torch.cuda.set_rng_state_all(state["cuda_rng"])
        peft_model.train()
        bar = tqdm(total=total_steps, initial=step, desc="LoRA steps", disable=quiet)
        while step < total_steps:
            step_batches = batches[step * config.grad_accum_steps :][: config.grad_accum_steps]
            num_targets = sum(len(pairs[i][1]) for batch in step_batches for i in batch)
            step_loss = 0.0
            for batch in step_batches:
                ids, mask, positions, labels = _batch_tensors(
                    [pairs[i] for i in batch], tokenizer.pad_token_id, model.device)
                logits = peft_model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                    logits_to_keep=labels.shape[1], use_cache=False).logits
                loss = torch.nn.functional.cross_entropy(
                    logits.float().flatten(0, 1), labels.flatten(), reduction="sum"
                ) / num_targets
                loss.backward()
                step_loss += loss.item()
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append({"step": step, "loss": step_loss, "lr": lr})
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.4f}")
            if step % config.checkpoint_every == 0 or step == total_steps:
                _save_checkpoint(peft_model, optimizer, scheduler, step, losses, config, out_dir)
                save_loss_curve(losses, out_dir)
            if on_step is not None:
                on_step(step, step_loss)
        bar.close()
        peft_model.save_pretrained(out_dir, safe_serialization=True)
        _name_base_model_portably(out_dir / "adapter_config.json")
        (out_dir / "train_config.json").write_text(json.dumps(
            {**asdict(config), "num_examples": len(pairs), "total_steps": total_steps,
             "num_trainable_params": sum(p.numel() for p in params)}, indent=1))
    finally:
        peft_model.unload()
        for param, requires_grad in zip(model.parameters(), requires_grads):
            param.requires_grad_(requires_grad)
        model.train(was_training)
    return losses


def build_tuning_set(records: Sequence[LengthRecord], requests: Sequence[Request],
                     bucket_size: int = DEFAULT_BUCKET_SIZE,
                     lengths: Sequence[int] | None = None) -> list[dict[str, str]]:
    """One `build_tuning_example` per record: query prompt -> bucket of its length, by default
    the longest sampled answer (the paper's target); `lengths` gives another label per record
    (`seqsch.core.length_records.target_lengths`)."""
    if [r.id for r in records] != [q.id for q in requests]:
        raise ValueError("records and requests must hold the same ids in the same order")
    lengths = [r.max_length for r in records] if lengths is None else list(lengths)
    if len(lengths) != len(records):
        raise ValueError(f"{len(lengths)} lengths for {len(records)} records")
    return [build_tuning_example(q.prompt, length, bucket_size)
            for length, q in zip(lengths, requests)]
