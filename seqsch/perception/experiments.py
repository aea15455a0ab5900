"""Train and evaluate response length perception: data preparation and the three experiments.

The train records of a length file (`python -m seqsch.bench lengths collect`) become the LoRA tuning
set (`build_tuning_set`: length query -> 50-token bucket of the longest sampled answer) or the
probe's training data (`seqsch.perception.features.cached_features`: hidden states of the
chat-formatted prompts at the probe's depth, cached by prompt id). `eval` scores a predictor on the
validation records against the longest sampled answer (the paper's definition) with
`seqsch.perception.evaluation.evaluate_predictions`, saves the results as JSON and ends its output
with a one-line JSON summary. `depth` trains probes at several depths and times their prefills: the
accuracy a cheaper, shallower probe gives up.

Every command writes under build/ by default (`build/lora-smollm2-length/`,
`build/probe-smollm2-length/`, `build/perception-eval-<predictor>.json`, `build/probe-depth.json`):
the shipped files in data/ are read-only unless an explicit `--out data/...` refreshes one
(data/README.md lists those commands). Records name the length file relative to the repository
and the model by name (`seqsch.core.paths.portable`), never by a machine's path.

    python -m seqsch.perception train-lora --num-steps 75
    python -m seqsch.perception train-head --predictor length-head
    python -m seqsch.perception train-head --length-target greedy --max-length 256 \
        --num-layers 4 --target buckets --decode mean \
        --out build/probe-priority   # request order of a greedy workload
    python -m seqsch.perception eval --predictor query   # or any of --help's choices

Each function takes its command's config (`seqsch.perception.configs`: `EvalConfig`,
`DepthConfig`, `AdapterTrainConfig`, `HeadTrainConfig`), whose fields are the command's options.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from seqsch.core.device import now_s
from seqsch.core.length_records import LengthRecord, load_length_file, target_lengths
from seqsch.core.models import DEFAULT, load_model, portable_model
from seqsch.core.paths import BUILD_DIR, portable
from seqsch.core.requests import Request
from seqsch.core.workloads import requests_by_id
from seqsch.engines.warm_up import NUM_WARM_UP_REQUESTS, warm_up_predictor
from seqsch.perception.configs import (
    AdapterTrainConfig,
    DepthConfig,
    EvalConfig,
    HeadTrainConfig,
    RunConfig,
)
from seqsch.perception.evaluation import (
    evaluate_predictions,
    fill_missing,
    kendall_tau,
    noise_floor,
)
from seqsch.perception.features import (
    cached_features,
    extract_features,
    extract_features_by_depth,
    model_fingerprint,
    num_decoder_layers,
)
from seqsch.perception.lora import build_tuning_set, train_lora
from seqsch.perception.probe import pool_features, save_probe, train_probe
from seqsch.perception.registry import make_predictor, source_folder
from seqsch.scheduling.priority import order_gain


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


def _load_model(config: RunConfig):
    """`--model`, else the model named in the length file's settings, else the embedded one."""

    settings = load_length_file(config.lengths).settings if config.model is None else []
    name = config.model or (settings[0]["settings"].get("model", DEFAULT) if settings else DEFAULT)
    return load_model(name, device=config.device, dtype=config.dtype)


def train(config: AdapterTrainConfig | HeadTrainConfig) -> dict:
    """`train_adapter` or `train_head`, by the config's type."""
    return train_adapter(config) if isinstance(config, AdapterTrainConfig) else train_head(config)


def file_cap(records: Sequence[LengthRecord]) -> int:
    """The generation cap the records were collected with (512 when none is recorded)."""
    return max((r.max_new_tokens or 0) for r in records) or 512


def train_adapter(config: AdapterTrainConfig) -> dict:
    """Tune the LoRA module on the train records' length buckets; return a summary."""
    records = load_records(config.lengths, "train", config.num_data)
    requests, (model, tokenizer) = requests_for(records), _load_model(config)
    start = time.perf_counter()
    cap = config.max_length or file_cap(records)
    labels = target_lengths(records, config.length_target, cap)
    examples, steps_run = build_tuning_set(records, requests, lengths=labels), []
    losses = train_lora(model, tokenizer, examples, config.out, config.lora,
                        resume=config.resume, quiet=config.quiet,
                        on_step=lambda step, _: steps_run.append(step))
    wall_s = time.perf_counter() - start
    saved = Path(config.out) / "train_config.json"  # the cap bounds the labels it learnt
    saved.write_text(json.dumps({**json.loads(saved.read_text()), "max_length": file_cap(records),
                                 "length_target": config.length_target,
                                 "label_max_length": cap, "lengths": Path(config.lengths).name,
                                 "wall_s": round(wall_s, 1)}, indent=1))
    return {"predictor": "lora", "out": str(config.out), "num_examples": len(examples),
            "num_steps": len(losses), "first_loss": losses[0]["loss"],
            "final_loss": losses[-1]["loss"], "wall_s": wall_s,
            "s_per_step": wall_s / max(1, len(steps_run))}


def default_head_out(predictor: str) -> Path:
    """build/ and the name of the predictor's shipped folder (build/<predictor> for none)."""
    try:
        return BUILD_DIR / source_folder(predictor).name
    except ValueError:
        return BUILD_DIR / predictor


def train_head(config: HeadTrainConfig) -> dict:
    """Train a head on the train records' hidden states; save it; return a summary."""
    records = load_records(config.lengths, "train", config.num_data)
    requests, (model, tokenizer) = requests_for(records), _load_model(config)
    start = time.perf_counter()
    out = Path(config.out or default_head_out(config.predictor))
    features = cached_features(model, tokenizer, requests, config.features or
                               out / "features.safetensors", config.batch_size, config.quiet,
                               num_layers=config.head.num_layers,
                               max_prompt_tokens=config.head.max_prompt_tokens)
    feature_s = time.perf_counter() - start
    probe_config = replace(config.head, max_length=config.max_length or file_cap(records))
    head, report = train_probe(features, probe_config.target_lengths(records), probe_config)
    save_probe(head, out, {**report, "model": portable_fingerprint(model, tokenizer)})
    return {"predictor": config.predictor, "out": str(out), "num_records": len(records),
            "pooling": report["pooling"], "target": report["target"],
            "candidates": report["candidates"], "feature_s": feature_s,
            "wall_s": time.perf_counter() - start}


def depth_sweep(config: DepthConfig) -> dict:
    """Probes at several depths: features of every depth come from one prefill of the train
    and of the validation prompts; each probe is scored on the validation records, and its
    own truncated prefill is timed on the validation prompts (the cost a scheduler pays)."""
    train_records = load_records(config.lengths, "train", config.num_data)
    val_records = load_records(config.lengths, "val", config.num_data)
    model, tokenizer = _load_model(config)
    num_layers = num_decoder_layers(model)
    depths = sorted(set(config.depths or default_depths(num_layers)))
    val_requests = requests_for(val_records)
    clip = {"max_prompt_tokens": config.head.max_prompt_tokens}
    train_features = extract_features_by_depth(model, tokenizer, requests_for(train_records),
                                               depths, config.batch_size, config.quiet, **clip)
    val_features = extract_features_by_depth(model, tokenizer, val_requests, depths,
                                             config.batch_size, config.quiet, **clip)
    extract_features(model, tokenizer, val_requests[:NUM_WARM_UP_REQUESTS], quiet=True)  # warm-up
    rows = []
    for depth in tqdm(depths, desc="depths", disable=config.quiet):
        probe_config = replace(config.head, num_layers=depth,
                               max_length=config.max_length or file_cap(train_records))
        head, report = train_probe(train_features[depth],
                                   probe_config.target_lengths(train_records), probe_config)
        pred = head.predict_lengths(pool_features(val_features[depth], head.config.pooling))
        start = now_s(model.device)
        extract_features(model, tokenizer, val_requests, config.batch_size, True, depth, **clip)
        predict_s = (now_s(model.device) - start) / len(val_requests)
        scores = evaluate_predictions(pred, [r.max_length for r in val_records])
        rows.append({"num_layers": depth, "layer_share": depth / num_layers,
                     "pooling": report["pooling"], "target": report["target"],
                     **scores, **greedy_order_scores(pred, val_records), "predict_s": predict_s})
    result = {"lengths": portable(config.lengths), "model": portable_fingerprint(model, tokenizer),
              "num_train": len(train_records), "num_val": len(val_records),
              "max_prompt_tokens": config.head.max_prompt_tokens, "depths": rows}
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return {"out": str(out), "depths": [
        {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()
         if k in ("num_layers", "error", "acc50", "acc100", "kendall_tau", "order_gain_greedy",
                  "predict_s")}
        for row in rows]}


def portable_fingerprint(model, tokenizer) -> str:
    """`seqsch.perception.features.model_fingerprint` with the model named as records name it (the
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
    and the order's gain for a continuous batch of 16 (`seqsch.scheduling.priority.order_gain`);
    {} when a record has no greedy answer."""
    if not all(0.0 in r.lengths for r in records):
        return {}
    greedy, filled = [r.greedy_length for r in records], fill_missing(predictions)
    return {"kendall_tau_greedy": kendall_tau(filled, greedy),
            "order_gain_greedy": order_gain(filled, greedy, 16)}


def evaluate(config: EvalConfig) -> dict:
    """Score a predictor on the validation records; save the results JSON; return a summary."""
    records = load_records(config.lengths, "val", config.num_data)
    true = target_lengths(records, config.length_target, config.max_length)  # the paper's: max
    results: dict = {"predictor": config.predictor, "lengths": portable(config.lengths),
                     "length_target": config.length_target, "label_max_length": config.max_length}
    if config.predictor == "noise-floor":
        summary = noise_floor([[r.lengths[t] for t in sorted(r.lengths)] for r in records])
        summary["predict_s"] = 0.0
    else:
        requests, model, tokenizer = [Request(r.id, "") for r in records], None, None
        if config.predictor != "constant":  # the constant needs neither prompts nor model
            requests, (model, tokenizer) = requests_for(records), _load_model(config)
            results["model"] = portable_model(model.config.name_or_path)
        predictor = make_predictor(config.predictor, model, tokenizer, lengths=config.lengths,
                                   adapter=config.adapter, probe=config.probe,
                                   lora_decode=config.lora_decode,
                                   length_target=config.length_target,
                                   max_length=config.max_length, batch_size=config.batch_size,
                                   quiet=config.quiet)
        warm_up_predictor(predictor, requests)  # excluded from timing
        predictions = predictor.predict(requests)
        summary = evaluate_predictions(predictions, true)
        summary["predict_s"] = predictor.last_predict_s / len(requests)
        summary.update(greedy_order_scores(predictions, records))
        outputs = getattr(predictor, "last_outputs", None) or [None] * len(records)
        results["predictions"] = [{"id": r.id, "pred": p, "max_length": r.max_length,
                                   "true_length": t, "output": o}
                                  for r, p, t, o in zip(records, predictions, true, outputs)]
    if config.predictor == "constant":  # the train mean too (the median has the smaller error)
        train = target_lengths(load_records(config.lengths, "train"), config.length_target,
                               config.max_length)
        mean = round(sum(train) / len(train))
        results["train_mean_baseline"] = {"length": mean,
                                          **evaluate_predictions([mean] * len(true), true)}
    results["summary"] = summary = {"predictor": config.predictor, **summary}
    out = Path(config.out or BUILD_DIR / f"perception-eval-{config.predictor}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return summary
