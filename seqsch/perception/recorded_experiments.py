"""Train and score the predictors of recorded lengths: choices on train, one reading of test.

`train_recorded` reads the train split of the recorded-lengths workload (`seqsch.core.recorded`),
caches the embedded model's hidden states of every prompt at the candidate depths
(`seqsch.perception.feature_cache`), fits the text model out of fold, chooses the head's depth,
loss and blend weight by cross-validation with its cost in the rule
(`seqsch.perception.recorded_heads`), draws the learning curve up to the whole train split and
saves the refitted head and text model. `evaluate_recorded` then scores every length source on
the test split, once, with its measured milliseconds per prompt and its share of a 7B request's
compute. Nothing is chosen on test.

    python -m seqsch.perception recorded-train --out build/recorded-head
    python -m seqsch.perception recorded-eval --head build/recorded-head
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqsch.core.config_args import arg, nested
from seqsch.core.files import atomic_path
from seqsch.core.models import DEFAULT, load_model, portable_model
from seqsch.core.paths import BUILD_DIR, DEFAULT_RECORDED_EVAL, portable
from seqsch.core.recorded import (
    DEFAULT_RECORDED,
    read_recorded_file,
    recorded_requests,
)
from seqsch.core.requests import Request, encode_prompts
from seqsch.core.sources import (
    RECORDED_HEAD_SOURCE,
    SOURCES,
    canonical_source,
    source_names,
)
from seqsch.engines.warm_up import warm_up_predictor
from seqsch.perception.configs import batch_size_field, quiet_field
from seqsch.perception.evaluation import fill_missing
from seqsch.perception.feature_cache import chunked_features_by_depth
from seqsch.perception.features import clip_middle, num_decoder_layers, shared_prefix
from seqsch.perception.probe import fit_head, pool_features
from seqsch.perception.prompts import make_query_prompt
from seqsch.perception.query import MAX_QUERY_TOKENS
from seqsch.perception.recorded_eval import flops_share, score_recorded
from seqsch.perception.recorded_heads import (
    RecordedHeadConfig,
    fold_of,
    fold_scores,
    learning_curve,
    load_recorded_head,
    recorded_head_sha256,
    save_recorded_head,
    select_recorded_head,
)
from seqsch.perception.registry import make_predictor
from seqsch.perception.text_ridge import TextRidgeConfig, fit_text_ridge

DEFAULT_FEATURES = BUILD_DIR / "features" / "sharegpt-recorded"
# the sources scored on the recorded lengths (their registry rows name this evaluation), and
# the zero-shot length query (the paper's perception without tuning)
EVAL_SOURCES = (*source_names(evaluation=portable(DEFAULT_RECORDED_EVAL)), "query")
RECORDED_LENGTHS_HELP = "the recorded-lengths workload (python -m seqsch.bench lengths recorded)"
# what two evaluation files share when one adds sources to the other
MERGE_KEYS = ("split", "ids", "recorded_lengths", "model", "dtype", "head_sha256")


@dataclass
class RecordedTrainConfig:
    """`train_recorded`: the files, the head's candidates (`RecordedHeadConfig`), the text model."""

    lengths: Path = field(default=DEFAULT_RECORDED, metadata=arg(RECORDED_LENGTHS_HELP))
    model: str = field(default=DEFAULT, metadata=arg("the model whose hidden states are read"))
    out: Path = field(default=BUILD_DIR / "recorded-head", metadata=arg(
        "the head's folder (data/probe-sharegpt-recorded refreshes the shipped one)"))
    features: Path = field(default=DEFAULT_FEATURES, metadata=arg("the feature cache folder"))
    head: RecordedHeadConfig = field(default_factory=RecordedHeadConfig, metadata=nested())
    text: TextRidgeConfig = field(default_factory=TextRidgeConfig, metadata=arg(cli=False))
    batch_size: int = batch_size_field()
    quiet: bool = quiet_field()

    def __post_init__(self) -> None:
        self.lengths, self.out, self.features = Path(self.lengths), Path(self.out), Path(
            self.features)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def _features(model, tokenizer, requests, config: RecordedTrainConfig, depths):
    return chunked_features_by_depth(model, tokenizer, requests, depths, config.features,
                                     batch_size=config.batch_size,
                                     max_prompt_tokens=config.head.max_prompt_tokens,
                                     quiet=config.quiet)


def train_recorded(config: RecordedTrainConfig | None = None) -> dict:
    """Choose, fit and save the recorded-length head (with its text blend) from train only."""
    config = config or RecordedTrainConfig()
    start = time.perf_counter()
    records = read_recorded_file(config.lengths)
    requests = recorded_requests(records)
    rows = [i for i, r in enumerate(records) if r.split == "train"]
    train = [requests[i] for i in rows]
    lengths = [r.forced_output_tokens for r in train]
    model, tokenizer = load_model(config.model)
    # every split's prompts in file order (the cache's chunks are the workload's, whichever
    # split a study reads; the evaluation times its own prefill instead of reading them)
    features = {depth: {pooled: values[rows] for pooled, values in by_pooling.items()}
                for depth, by_pooling in _features(model, tokenizer, requests, config,
                                                   config.head.depths).items()}
    folds = fold_of(len(train), config.head.num_folds, config.head.seed)

    def text_log_for(fit_rows: list[int], held_rows: list[int]) -> list[float]:
        text = fit_text_ridge([train[i] for i in fit_rows], [lengths[i] for i in fit_rows],
                              config.text)
        return list(text.log_lengths([train[i] for i in held_rows]))

    text_oof = [0.0] * len(train)
    for k in range(config.head.num_folds):
        held = [i for i, f in enumerate(folds) if f == k]
        fit_rows = [i for i, f in enumerate(folds) if f != k]
        for i, value in zip(held, text_log_for(fit_rows, held)):
            text_oof[i] = value
    selection = select_recorded_head(features, lengths, text_oof, config.head, config.quiet)
    text_taus = fold_scores(text_oof, lengths, folds, config.head.num_folds)
    selection["text_only"] = {"cv_kendall_tau": statistics.fmean(text_taus),
                              "cv_tau_se": statistics.stdev(text_taus) / len(text_taus) ** 0.5}
    chosen = selection["chosen"]
    curve = learning_curve(features, lengths, text_log_for, chosen, config.head)
    probe = config.head.probe_config(chosen["depth"], chosen["target"])
    head = fit_head(pool_features(features[chosen["depth"]], config.head.pooling), lengths,
                    probe, probe.target)
    text = fit_text_ridge(train, lengths, config.text)
    report = {"lengths": portable(config.lengths), "model": portable_model(config.model),
              "dtype": str(model.dtype).removeprefix("torch."), "num_train": len(train),
              "chosen": chosen}
    save_recorded_head(head, text, chosen["text_weight"], config.out, report)
    _write_json(config.out / "selection.json", {**selection, "text": asdict(config.text)})
    _write_json(config.out / "learning-curve.json", {"chosen": chosen, "points": curve})
    return {"chosen": chosen, "best": selection["best"], "learning_curve": curve,
            "out": str(config.out), "wall_s": time.perf_counter() - start}


@dataclass
class RecordedEvalConfig:
    """`evaluate_recorded`: which sources to score on which split, with which head."""

    lengths: Path = field(default=DEFAULT_RECORDED, metadata=arg(RECORDED_LENGTHS_HELP))
    model: str = field(default=DEFAULT, metadata=arg("the model the predictors read"))
    head: Path = field(default=BUILD_DIR / "recorded-head", metadata=arg(
        "the recorded head's folder (recorded-train --out)"))
    out: Path = field(default=BUILD_DIR / "perception-eval-recorded.json", metadata=arg(
        "the scores' JSON; an earlier file there keeps the sources not scored now"))
    split: str = field(default="test", metadata=arg("the split scored (the reported: test)",
                                                    choices=("val", "test")))
    sources: tuple[str, ...] = field(default=EVAL_SOURCES, metadata=arg(
        "score only these (default: all)", choices=EVAL_SOURCES))
    batch_size: int = batch_size_field()
    quiet: bool = quiet_field()

    def __post_init__(self) -> None:
        self.lengths, self.head, self.out = Path(self.lengths), Path(self.head), Path(self.out)
        unknown = set(self.sources) - set(EVAL_SOURCES)
        if not self.sources or unknown:
            raise ValueError(f"sources must be among {EVAL_SOURCES}, got {self.sources}")
        if self.split not in ("val", "test"):
            raise ValueError(f"split must be 'val' or 'test', got {self.split!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def head_flops(model, depth: int, num_tokens: int) -> float:
    """2 x (embedding-free parameters of `depth` decoder layers) per prompt token read."""
    decoder = model.get_decoder()
    per_layer = sum(p.numel() for p in decoder.layers[0].parameters())
    return 2.0 * per_layer * depth * num_tokens


def is_query_module(name: str) -> bool:
    """Whether source `name` is a LoRA length module: it answers the query prompt."""
    row = SOURCES.get(name)
    return row is not None and row.build == SOURCES["lora"].build


def predictor_flops(name: str, model, tokenizer, head, requests) -> float:
    """FLOPs of a source's pass over `requests`: the head's prefill up to its depth (the shared
    system turn read once, long prompts clipped as the head reads them), or the zero-shot
    query's full prefill of the query prompt plus its answer tokens; text and prompt length 0."""
    if name == RECORDED_HEAD_SOURCE:
        prompts = encode_prompts(tokenizer, requests)
        num_shared = len(shared_prefix(tokenizer, prompts))
        clip = head.config.max_prompt_tokens or max(len(ids) for ids in prompts)
        num_read = sum(len(clip_middle(ids[num_shared:], clip)) for ids in prompts)
        depth = head.config.num_layers
        return head_flops(model, num_decoder_layers(model) if depth is None else depth,
                          num_read)
    if name == "query" or is_query_module(name):  # a tuned module reads the query prompt too
        queries = [Request(r.id, make_query_prompt(r.prompt)) for r in requests]
        num_read = sum(len(ids) + MAX_QUERY_TOKENS for ids in encode_prompts(tokenizer, queries))
        return head_flops(model, num_decoder_layers(model), num_read)
    return 0.0


def evaluate_recorded(config: RecordedEvalConfig | None = None) -> dict:
    """The sources' predictions and scores on `config.split` (the reported numbers: test). An
    earlier file at `config.out` of the same split and prompts keeps its other sources."""
    config = config or RecordedEvalConfig()
    requests = recorded_requests(read_recorded_file(config.lengths), config.split)
    true = [r.forced_output_tokens for r in requests]
    model, tokenizer = load_model(config.model)
    head = load_recorded_head(config.head)[0]
    prompt_tokens = [r.num_prompt_tokens for r in requests]
    result = {"split": config.split, "lengths": portable(config.lengths),
              "head": portable(config.head), "model": portable_model(config.model),
              "dtype": str(model.dtype).removeprefix("torch."), "ids": [r.id for r in requests],
              "head_sha256": recorded_head_sha256(config.head), "recorded_lengths": true,
              "sources": {}}
    if config.out.is_file():  # keep the sources scored before on the same prompts, same head
        earlier = json.loads(config.out.read_text())
        if all(earlier.get(k) == result[k] for k in MERGE_KEYS):
            result["sources"] = {canonical_source(name): scores  # older files: aliases
                                 for name, scores in earlier["sources"].items()}
        elif set(config.sources) != set(EVAL_SOURCES):
            raise ValueError(f"{config.out} scored other prompts, another head or model: "
                             f"score every source (no --sources) or choose another --out")
    for name in config.sources:
        predictor = make_predictor(name, model, tokenizer, probe=config.head,
                                   batch_size=config.batch_size, quiet=config.quiet)
        warm_up_predictor(predictor, requests)  # excluded from timing
        predicted = predictor.predict(requests)
        flops = predictor_flops(name, model, tokenizer, head, requests)
        result["sources"][name] = {
            **score_recorded(fill_missing(predicted), true),
            "num_missing": sum(p is None for p in predicted),
            "ms_per_prompt": 1000 * predictor.last_predict_s / len(requests),
            "flops_share_7b": flops_share(flops, prompt_tokens, true),
            "predictions": fill_missing(predicted)}
        _write_json(config.out, result)  # each source as it is scored
    return result


def _write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(value, indent=1))
