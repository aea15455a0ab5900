"""Train and evaluate response length perception: data preparation, prompt features and the CLI.

The train records of a length file (`python -m seqsch.lengths collect`) become the LoRA tuning
set (`build_tuning_set`: length query -> 50-token bucket of the longest sampled answer) or the
probe's training data (`seqsch.features.cached_features`: hidden states of the chat-formatted
prompts at the probe's depth, cached by prompt id). `eval` scores a predictor on the
validation records against the longest sampled answer (the paper's definition) with
`seqsch.evaluation.evaluate_predictions`, saves the results as JSON and ends its output with a
one-line JSON summary. `depth` trains probes at several depths and times their prefills: the
accuracy a cheaper, shallower probe gives up.

Every command writes under build/ by default (`build/lora-smollm2-length/`,
`build/probe-smollm2-length/`, `build/perception-eval-<predictor>.json`, `build/probe-depth.json`):
the shipped files in data/ are read-only unless an explicit `--out data/...` refreshes one
(data/README.md lists those commands). Records name the length file relative to the repository
and the model by name (`seqsch.paths.portable`), never by a machine's path.

    python -m seqsch.perception train --predictor lora --steps 75
    python -m seqsch.perception train --predictor probe
    python -m seqsch.perception train --predictor probe --length-target greedy --max-length 256 \
        --num-layers 15 --target buckets --decode mean \
        --out data/probe-smollm2-priority   # request order of a greedy workload
    python -m seqsch.perception train --predictor probe --length-target greedy --max-length 256 \
        --num-layers 15 --max-prompt-tokens 64 --pooling last --target buckets --decode mean \
        --out data/probe-smollm2-priority-clip64   # the same, reading a long prompt's two ends
    python -m seqsch.perception eval --predictor {lora,probe,pia,constant,noise-floor}
    python -m seqsch.perception depth --depths 0 4 8 30
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

from seqsch.data import Request, requests_by_id
from seqsch.features import cached_features, extract_features, model_fingerprint
from seqsch.length_records import LengthRecord, load_length_file
from seqsch.paths import BUILD_DIR, DEFAULT_LENGTHS, portable, portable_model
from seqsch.pia import DEFAULT_BUCKET_SIZE, build_tuning_example
from seqsch.predictors import DEFAULT_LORA_DECODE, QUERY_DECODES
from seqsch.probe import DECODES, LENGTH_TARGETS


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
        from seqsch.lora import LoraTrainConfig, train_lora

        out = args.out or BUILD_DIR / "lora-smollm2-length"  # data/ only when asked (--out)
        config = LoraTrainConfig(
            num_steps=args.steps, num_epochs=args.epochs or 3, batch_size=args.micro_batch_size,
            grad_accum_steps=args.grad_accum, learning_rate=args.lr or 2e-4,
            checkpoint_every=args.checkpoint_every, seed=args.seed)
        examples, steps_run = build_tuning_set(records, requests), []
        losses = train_lora(model, tokenizer, examples, out, config, resume=not args.no_resume,
                            quiet=args.quiet, on_step=lambda step, _: steps_run.append(step))
        wall_s = time.perf_counter() - start
        saved = Path(out) / "train_config.json"  # the cap bounds the labels the module learnt
        saved.write_text(json.dumps({**json.loads(saved.read_text()), "max_length": max(
            (r.max_new_tokens or 0) for r in records) or 512, "lengths": Path(args.lengths).name,
            "wall_s": round(wall_s, 1)}, indent=1))
        return {"predictor": "lora", "out": str(out), "num_examples": len(examples),
                "num_steps": len(losses), "first_loss": losses[0]["loss"],
                "final_loss": losses[-1]["loss"], "wall_s": wall_s,
                "s_per_step": wall_s / max(1, len(steps_run))}
    from seqsch.probe import save_probe, train_probe

    out = Path(args.out or BUILD_DIR / "probe-smollm2-length")  # data/ only when asked (--out)
    features = cached_features(model, tokenizer, requests, args.features or
                               out / "features.safetensors", args.batch_size, args.quiet,
                               num_layers=args.num_layers,
                               max_prompt_tokens=args.max_prompt_tokens)
    feature_s = time.perf_counter() - start
    config = _probe_config(args, records, args.num_layers)
    head, report = train_probe(features, config.target_lengths(records), config)
    save_probe(head, out, {**report, "model": portable_fingerprint(model, tokenizer)})
    return {"predictor": "probe", "out": str(out), "num_records": len(records),
            "pooling": report["pooling"], "target": report["target"],
            "candidates": report["candidates"], "feature_s": feature_s,
            "wall_s": time.perf_counter() - start}


def _probe_config(args, records: Sequence[LengthRecord], num_layers: int | None):
    from seqsch.probe import ProbeConfig

    return ProbeConfig(pooling=args.pooling, target=args.target, seed=args.seed,
                       num_epochs=args.epochs or 200, learning_rate=args.lr or 1e-3,
                       max_length=args.max_length or max(
                           (r.max_new_tokens or 0) for r in records) or 512,
                       num_layers=num_layers, max_prompt_tokens=args.max_prompt_tokens,
                       length_target=args.length_target,
                       decode=args.decode)


def depth_sweep(args) -> dict:
    """Probes at several depths: features of every depth come from one prefill of the train
    and of the validation prompts; each probe is scored on the validation records, and its
    own truncated prefill is timed on the validation prompts (the cost a scheduler pays)."""
    from tqdm.auto import tqdm

    from seqsch.device import now_s
    from seqsch.evaluation import evaluate_predictions
    from seqsch.features import extract_features_by_depth, num_decoder_layers
    from seqsch.probe import pool_features, train_probe

    train_records = load_records(args.lengths, "train", args.num_data)
    val_records = load_records(args.lengths, "val", args.num_data)
    model, tokenizer = _load_model(args)
    num_layers = num_decoder_layers(model)
    depths = sorted(set(args.depths or default_depths(num_layers)))
    val_requests = requests_for(val_records)
    clip = {"max_prompt_tokens": args.max_prompt_tokens}
    train_features = extract_features_by_depth(model, tokenizer, requests_for(train_records),
                                               depths, args.batch_size, args.quiet, **clip)
    val_features = extract_features_by_depth(model, tokenizer, val_requests, depths,
                                             args.batch_size, args.quiet, **clip)
    extract_features(model, tokenizer, val_requests[:2], quiet=True)  # warm-up
    rows = []
    for depth in tqdm(depths, desc="depths", disable=args.quiet):
        config = _probe_config(args, train_records, depth)
        head, report = train_probe(train_features[depth], config.target_lengths(train_records),
                                   config)
        pred = head.predict_lengths(pool_features(val_features[depth], head.config.pooling))
        start = now_s(model.device)
        extract_features(model, tokenizer, val_requests, args.batch_size, True, depth, **clip)
        predict_s = (now_s(model.device) - start) / len(val_requests)
        scores = evaluate_predictions(pred, [r.max_length for r in val_records])
        rows.append({"num_layers": depth, "layer_share": depth / num_layers,
                     "pooling": report["pooling"], "target": report["target"],
                     **scores, **greedy_order_scores(pred, val_records), "predict_s": predict_s})
    result = {"lengths": portable(args.lengths), "model": portable_fingerprint(model, tokenizer),
              "num_train": len(train_records), "num_val": len(val_records),
              "max_prompt_tokens": args.max_prompt_tokens, "depths": rows}
    out = Path(args.out or BUILD_DIR / "probe-depth.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return {"out": str(out), "depths": [
        {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()
         if k in ("num_layers", "error", "acc50", "acc100", "kendall_tau", "order_gain_greedy",
                  "predict_s")}
        for row in rows]}


def portable_fingerprint(model, tokenizer) -> str:
    """`seqsch.features.model_fingerprint` with the model named as records name it (the
    embedded model's name, not the folder of this machine's cache: `portable_model`)."""
    name = str(model.config.name_or_path)
    fingerprint = model_fingerprint(model, tokenizer)
    return portable_model(name) + fingerprint.removeprefix(name)


def default_depths(num_layers: int) -> list[int]:
    """Embeddings, a few early layers, the quarters, and the last layer."""
    depths = {0, 2, 4, num_layers // 4, num_layers // 2, 3 * num_layers // 4, num_layers}
    return sorted(d for d in depths if d <= num_layers)


def greedy_order_scores(predictions: Sequence[int | None],
                        records: Sequence[LengthRecord]) -> dict[str, float]:
    """How well `predictions` order the records by their greedy answer's length: Kendall's tau,
    and the order's gain for a continuous batch of 16 (`seqsch.priority.order_gain`); {} when a
    record has no greedy answer."""
    from seqsch.evaluation import fill_missing, kendall_tau
    from seqsch.priority import order_gain

    if not all(0.0 in r.lengths for r in records):
        return {}
    greedy, filled = [r.greedy_length for r in records], fill_missing(predictions)
    return {"kendall_tau_greedy": kendall_tau(filled, greedy),
            "order_gain_greedy": order_gain(filled, greedy, 16)}


def evaluate(args) -> dict:
    """Score a predictor on the validation records; save the results JSON; return a summary."""
    from seqsch.evaluation import evaluate_predictions, noise_floor

    records = load_records(args.lengths, "val", args.num_data)
    true = [r.max_length for r in records]
    results: dict = {"predictor": args.predictor, "lengths": portable(args.lengths)}
    if args.predictor == "noise-floor":
        summary = noise_floor([[r.lengths[t] for t in sorted(r.lengths)] for r in records])
        summary["predict_s"] = 0.0
    else:
        from seqsch.predictors import make_predictor

        requests, model, tokenizer = [Request(r.id, "") for r in records], None, None
        if args.predictor != "constant":  # the constant needs neither prompts nor model
            requests, (model, tokenizer) = requests_for(records), _load_model(args)
            results["model"] = portable_model(model.config.name_or_path)
        predictor = make_predictor(args.predictor, model, tokenizer, lengths=args.lengths,
                                   adapter=args.adapter, probe=args.probe,
                                   lora_decode=args.lora_decode,
                                   batch_size=args.batch_size, quiet=args.quiet)
        predictor.predict(requests[:2])  # warm-up, excluded from timing
        predictions = predictor.predict(requests)
        summary = evaluate_predictions(predictions, true)
        summary["predict_s"] = predictor.last_predict_s / len(requests)
        summary.update(greedy_order_scores(predictions, records))
        outputs = getattr(predictor, "last_outputs", None) or [None] * len(records)
        results["predictions"] = [{"id": r.id, "pred": p, "max_length": r.max_length,
                                   "output": o} for r, p, o in zip(records, predictions, outputs)]
    if args.predictor == "constant":  # the train mean too (the median has the smaller error)
        train = [r.max_length for r in load_records(args.lengths, "train")]
        mean = round(sum(train) / len(train))
        results["train_mean_baseline"] = {"length": mean,
                                          **evaluate_predictions([mean] * len(true), true)}
    summary = {"predictor": args.predictor, **summary}
    results["summary"] = summary
    out = Path(args.out or BUILD_DIR / f"perception-eval-{args.predictor}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return summary


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["train", "eval", "depth"],
                        help="depth: probes at several depths, accuracy against prefill cost")
    parser.add_argument("--predictor", choices=["lora", "probe", "pia", "constant",
                                                "noise-floor"], help="train and eval: which one")
    parser.add_argument("--lengths", type=Path, default=DEFAULT_LENGTHS)
    parser.add_argument("--num-data", type=int, help="use the first N records of the split")
    parser.add_argument("--out", type=Path,
                        help="train: output folder; eval, depth: results JSON (default under "
                             "build/; --out data/... refreshes a shipped file)")
    parser.add_argument("--model", help="default: the model named in the length file")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--adapter", type=Path, help="eval lora: adapter folder")
    parser.add_argument("--probe", type=Path, help="eval probe: probe folder")
    parser.add_argument("--lora-decode", choices=QUERY_DECODES, default=DEFAULT_LORA_DECODE,
                        help="eval lora: read the bucket distribution's median (score) or "
                             "decode one answer greedily, as the paper (generate)")
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
    parser.add_argument("--num-layers", type=int,
                        help="train probe: read the state after this many layers (default all)")
    parser.add_argument("--max-prompt-tokens", type=int,
                        help="train probe, depth: read only the first and last halves of this "
                             "many prompt tokens (bounds the cost of long prompts; default all)")
    parser.add_argument("--depths", type=int, nargs="+", help="depth: the depths to compare")
    parser.add_argument("--length-target", choices=LENGTH_TARGETS, default="max",
                        help="train probe: learn the longest sampled answer's length (the "
                             "paper's) or the greedy answer's (a greedy workload's order)")
    parser.add_argument("--max-length", type=int,
                        help="train probe: censor lengths at this cap (default: the file's)")
    parser.add_argument("--decode", choices=DECODES, default="median",
                        help="train probe (buckets): predict the median of the distribution "
                             "(least error) or its mean (the expected length: orders a queue)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "eval" and args.predictor is None:
        parser.error("eval needs --predictor")
    if args.command == "train" and args.predictor not in ("lora", "probe"):
        parser.error("train needs --predictor lora or probe")
    if args.max_prompt_tokens is not None and args.max_prompt_tokens < 2:
        parser.error(f"--max-prompt-tokens must be >= 2, got {args.max_prompt_tokens}")
    if args.max_prompt_tokens is not None and (args.command == "eval" or args.predictor == "lora"):
        parser.error("--max-prompt-tokens clips a probe's features when it is trained (train "
                     "--predictor probe, depth); a trained probe keeps its own clip")
    if args.decode == "mean" and args.target != "buckets":
        parser.error("--decode mean reads a bucket distribution: add --target buckets")
    commands = {"train": train, "eval": evaluate, "depth": depth_sweep}
    summary = commands[args.command](args)
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}
    print("\n".join(f"{k:>20}: {v}" for k, v in rounded.items() if k != "candidates"))
    print(json.dumps(rounded))
    return summary


if __name__ == "__main__":
    main()
