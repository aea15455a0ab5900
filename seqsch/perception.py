"""Train and evaluate response length perception: data preparation, prompt features and the CLI.

The train records of a length file (`python -m seqsch.lengths collect`) become the LoRA tuning
set (`build_tuning_set`: length query -> 50-token bucket of the longest sampled answer) or the
probe's training data (`cached_features`: last hidden states of the chat-formatted prompts,
cached by prompt id). `eval` scores a predictor on the validation records against the longest
sampled answer (the paper's definition) with `seqsch.evaluation.evaluate_predictions`, saves
the results as JSON and ends its output with a one-line JSON summary.

    python -m seqsch.perception train --predictor lora --steps 75
    python -m seqsch.perception train --predictor probe
    python -m seqsch.perception eval --predictor {lora,probe,pia,constant,noise-floor}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from seqsch.data import Request, requests_by_id
from seqsch.length_records import LengthRecord, load_length_file
from seqsch.paths import DATA_DIR, DEFAULT_LENGTHS
from seqsch.pia import DEFAULT_BUCKET_SIZE, build_tuning_example


def load_records(path: str | Path, split: str, num_data: int | None = None) -> list[LengthRecord]:
    """The records of `split` ("train" or "val") in file order, the first `num_data` of them."""
    records = [r for r in load_length_file(path).records if r.split == split]
    if not records:
        raise ValueError(f"{path} has no records with split {split!r}")
    return records[:num_data] if num_data is not None else records


def requests_for(records: Sequence[LengthRecord],
                 pool: Sequence[Request] | None = None) -> list[Request]:
    """The prompts of `records` (length files keep ids only), from ShareGPT unless `pool`."""
    return requests_by_id([r.id for r in records], pool)


def build_tuning_set(records: Sequence[LengthRecord], requests: Sequence[Request],
                     bucket_size: int = DEFAULT_BUCKET_SIZE) -> list[dict[str, str]]:
    """One `build_tuning_example` per record: query prompt -> bucket of its max length."""
    if [r.id for r in records] != [q.id for q in requests]:
        raise ValueError("records and requests must hold the same ids in the same order")
    return [build_tuning_example(q.prompt, r.max_length, bucket_size)
            for r, q in zip(records, requests)]


@torch.inference_mode()
def extract_features(model, tokenizer, requests: Sequence[Request], batch_size: int = 16,
                     quiet: bool = False) -> dict[str, torch.Tensor]:
    """Last-layer hidden states (after the final norm) of each chat-formatted prompt, as the
    generator's prefill computes them: {"mean": mean over prompt tokens, "last": last token},
    each [N, hidden] float32. Prompts are batched in order of length to cut padding."""
    from tqdm.auto import tqdm

    from seqsch.generate import encode_prompts, left_pad, positions_from_mask

    prompts = encode_prompts(tokenizer, requests)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    features = {k: torch.zeros(len(prompts), model.config.hidden_size) for k in ("mean", "last")}
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    for chunk in tqdm(chunks, desc="prompt features", disable=quiet):
        ids, mask = left_pad([prompts[i] for i in chunk], tokenizer.pad_token_id, model.device)
        positions = positions_from_mask(mask)
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions,
                    output_hidden_states=True, logits_to_keep=1, use_cache=False)
        hidden, weights = out.hidden_states[-1].float(), mask[..., None].float()
        features["mean"][chunk] = ((hidden * weights).sum(1) / weights.sum(1)).cpu()
        features["last"][chunk] = hidden[:, -1].cpu()
    return features


def model_fingerprint(model, tokenizer) -> str:
    """What the cached features depend on: model identity, size, dtype and chat template."""
    config = model.config
    template = getattr(tokenizer, "chat_template", None) or ""
    parts = [str(config.name_or_path), config.model_type, str(config.hidden_size),
             str(config.num_hidden_layers), str(model.dtype),
             hashlib.sha256(template.encode()).hexdigest()[:12]]
    return "|".join(parts)


def cached_features(model, tokenizer, requests: Sequence[Request], cache_path: str | Path,
                    batch_size: int = 16, quiet: bool = False) -> dict[str, torch.Tensor]:
    """`extract_features` for prompts whose id is not yet in the cache file; rows in the order
    of `requests`. The cache (safetensors, ids in its metadata) is rewritten atomically and is
    discarded when it was computed with another model (see `model_fingerprint`)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    cache_path, fingerprint = Path(cache_path), model_fingerprint(model, tokenizer)
    stored: dict[str, torch.Tensor] = {}
    ids: list[str] = []
    if cache_path.is_file():
        with safe_open(cache_path, framework="pt") as fh:
            metadata = fh.metadata() or {}
            if metadata.get("fingerprint") == fingerprint:
                stored = {key: fh.get_tensor(key) for key in ("mean", "last")}
                ids = json.loads(metadata["ids"])
    row_of = {prompt_id: row for row, prompt_id in enumerate(ids)}
    missing = [r for r in {q.id: q for q in requests}.values() if r.id not in row_of]
    if missing:
        new = extract_features(model, tokenizer, missing, batch_size, quiet)
        stored = {k: torch.cat([stored[k], new[k]]) if stored else new[k] for k in new}
        ids += [r.id for r in missing]
        row_of = {prompt_id: row for row, prompt_id in enumerate(ids)}
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_name(cache_path.name + ".tmp")
        save_file({k: v.contiguous() for k, v in stored.items()}, tmp,
                  metadata={"fingerprint": fingerprint, "ids": json.dumps(ids)})
        tmp.replace(cache_path)
    rows = torch.tensor([row_of[r.id] for r in requests], dtype=torch.long)
    return {key: value[rows] for key, value in stored.items()}


def _load_model(args):
    """`--model`, else the model named in the length file's settings, else the embedded one."""
    from seqsch.models import DEFAULT, load_model

    settings = load_length_file(args.lengths).settings if args.model is None else []
    name = args.model or (settings[0]["settings"].get("model", DEFAULT) if settings else DEFAULT)
    return load_model(name, device=args.device, dtype=args.dtype)


def train(args) -> dict:
    """Train the LoRA adapter or the probe on the train records; return a summary."""
    records = load_records(args.lengths, "train", args.num_data)
    requests, (model, tokenizer) = requests_for(records), _load_model(args)
    start = time.perf_counter()
    if args.predictor == "lora":
        from seqsch.lora import DEFAULT_ADAPTER_DIR, LoraTrainConfig, train_lora

        out = args.out or DEFAULT_ADAPTER_DIR
        config = LoraTrainConfig(
            num_steps=args.steps, num_epochs=args.epochs or 3, batch_size=args.micro_batch_size,
            grad_accum_steps=args.grad_accum, learning_rate=args.lr or 2e-4,
            checkpoint_every=args.checkpoint_every, seed=args.seed)
        examples, steps_run = build_tuning_set(records, requests), []
        losses = train_lora(model, tokenizer, examples, out, config, resume=not args.no_resume,
                            quiet=args.quiet, on_step=lambda step, _: steps_run.append(step))
        wall_s = time.perf_counter() - start
        return {"predictor": "lora", "out": str(out), "num_examples": len(examples),
                "num_steps": len(losses), "first_loss": losses[0]["loss"],
                "final_loss": losses[-1]["loss"], "wall_s": wall_s,
                "s_per_step": wall_s / max(1, len(steps_run))}
    from seqsch.probe import DEFAULT_PROBE_DIR, ProbeConfig, save_probe, train_probe

    out = Path(args.out or DEFAULT_PROBE_DIR)
    features = cached_features(model, tokenizer, requests, args.features or
                               out / "features.safetensors", args.batch_size, args.quiet)
    feature_s = time.perf_counter() - start
    config = ProbeConfig(pooling=args.pooling, target=args.target, seed=args.seed,
                         num_epochs=args.epochs or 200, learning_rate=args.lr or 1e-3,
                         max_length=max((r.max_new_tokens or 0) for r in records) or 512)
    head, report = train_probe(features, [r.max_length for r in records], config)
    save_probe(head, out, {**report, "model": model_fingerprint(model, tokenizer)})
    return {"predictor": "probe", "out": str(out), "num_records": len(records),
            "pooling": report["pooling"], "target": report["target"],
            "candidates": report["candidates"], "feature_s": feature_s,
            "wall_s": time.perf_counter() - start}


def evaluate(args) -> dict:
    """Score a predictor on the validation records; save the results JSON; return a summary."""
    from seqsch.evaluation import evaluate_predictions, fill_missing, kendall_tau, noise_floor

    records = load_records(args.lengths, "val", args.num_data)
    true = [r.max_length for r in records]
    results: dict = {"predictor": args.predictor, "lengths": str(args.lengths)}
    if args.predictor == "noise-floor":
        summary = noise_floor([[r.lengths[t] for t in sorted(r.lengths)] for r in records])
        summary["predict_s"] = 0.0
    else:
        from seqsch.predictors import make_predictor

        requests, model, tokenizer = [Request(r.id, "") for r in records], None, None
        if args.predictor != "constant":  # the constant needs neither prompts nor model
            requests, (model, tokenizer) = requests_for(records), _load_model(args)
            results["model"] = str(model.config.name_or_path)
        predictor = make_predictor(args.predictor, model, tokenizer, lengths=args.lengths,
                                   adapter=args.adapter, probe=args.probe,
                                   batch_size=args.batch_size, quiet=args.quiet)
        predictor.predict(requests[:2])  # warm-up, excluded from timing
        predictions = predictor.predict(requests)
        summary = evaluate_predictions(predictions, true)
        summary["predict_s"] = predictor.last_predict_s / len(requests)
        if all(0.0 in r.lengths for r in records):  # ranking of the greedy answer's length
            summary["kendall_tau_greedy"] = kendall_tau(fill_missing(predictions),
                                                        [r.greedy_length for r in records])
        outputs = getattr(predictor, "last_outputs", None) or [None] * len(records)
        results["predictions"] = [{"id": r.id, "pred": p, "max_length": r.max_length,
                                   "output": o} for r, p, o in zip(records, predictions, outputs)]
    summary = {"predictor": args.predictor, **summary}
    results["summary"] = summary
    out = Path(args.out or DATA_DIR / f"perception-eval-{args.predictor}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return summary


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["train", "eval"])
    parser.add_argument("--predictor", required=True,
                        choices=["lora", "probe", "pia", "constant", "noise-floor"])
    parser.add_argument("--lengths", type=Path, default=DEFAULT_LENGTHS)
    parser.add_argument("--num-data", type=int, help="use the first N records of the split")
    parser.add_argument("--out", type=Path, help="train: output folder; eval: results JSON")
    parser.add_argument("--model", help="default: the model named in the length file")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--adapter", type=Path, help="eval lora: adapter folder")
    parser.add_argument("--probe", type=Path, help="eval probe: probe folder")
    parser.add_argument("--features", type=Path, help="train probe: feature cache file")
    parser.add_argument("--batch-size", type=int, default=16, help="prediction/feature batch")
    parser.add_argument("--steps", type=int, help="train lora: optimizer steps (else epochs)")
    parser.add_argument("--epochs", type=int, help="train: epochs (lora 3, probe 200)")
    parser.add_argument("--lr", type=float, help="train: learning rate (lora 2e-4, probe 1e-3)")
    parser.add_argument("--micro-batch-size", type=int, default=4)
    parser.add_argument("--grad-accum", type=int, default=8)
    parser.add_argument("--checkpoint-every", type=int, default=25)
    parser.add_argument("--no-resume", action="store_true", help="train lora: start afresh")
    parser.add_argument("--pooling", default="auto", choices=["auto", "mean", "last", "mean+last"])
    parser.add_argument("--target", default="auto", choices=["auto", "l1", "log_mse", "buckets"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "train" and args.predictor not in ("lora", "probe"):
        parser.error("train needs --predictor lora or probe")
    summary = train(args) if args.command == "train" else evaluate(args)
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}
    print("\n".join(f"{k:>20}: {v}" for k, v in rounded.items() if k != "candidates"))
    print(json.dumps(rounded))
    return summary


if __name__ == "__main__":
    main()
