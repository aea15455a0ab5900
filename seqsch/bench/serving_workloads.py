"""The requests a serving benchmark replays, with their learned priorities and their cost.

Two workloads, each answer forced to a recorded length:

- `sharegpt-recorded`: the first `num_requests` prompts of the recorded-lengths test split
  (`seqsch.core.recorded`), as the model's tokenizer encodes them (for a random-weight model:
  seeded random ids at their recorded prompt lengths), answers cut at `max_new_tokens`; the learned
  priorities are the recorded head's test predictions and its cost per request the
  milliseconds per prompt it measured, both from the committed evaluation file;
- `paper-val`: the paper's Vicuna-7B lengths (`seqsch.bench.replay`), prompts of random ids,
  the stand-in's predictions as the learned priorities (they cost nothing).

    workload = serving_workload("sharegpt-recorded", 64, "random:smollm2-135m")
    run_serving_bench(config, workload.requests, {"learned": workload.learned},
                      {"learned": workload.predictor_s}, prompts=workload.prompts)
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

from seqsch.bench.recorded_table import DEFAULT_EVAL
from seqsch.bench.replay import PAPER_PROMPT_TOKENS, paper_workload
from seqsch.core.models import DEFAULT, load_tokenizer
from seqsch.core.random_weights import is_random_model_name, read_config
from seqsch.core.recorded import (
    DEFAULT_RECORDED,
    read_recorded_file,
    recorded_requests,
)
from seqsch.core.requests import Request, encode_prompts
from seqsch.core.sources import RECORDED_HEAD_SOURCE

SERVING_WORKLOADS = ("sharegpt-recorded", "paper-val")


@dataclass
class ServingWorkload:
    requests: list[Request]  # forced_output_tokens: the recorded length (cut at the cap)
    prompts: list[list[int]]
    learned: list[float]  # the learned source's priorities (predicted lengths)
    predictor_s: float  # its measured seconds per request


def serving_workload(name: str, num_requests: int, model: str = DEFAULT,
                     max_new_tokens: int = 512, eval_path: str | Path = DEFAULT_EVAL,
                     lengths: str | Path = DEFAULT_RECORDED) -> ServingWorkload:
    """`num_requests` requests of workload `name` (one of SERVING_WORKLOADS)."""
    if name not in SERVING_WORKLOADS:
        raise ValueError(f"workload must be one of {SERVING_WORKLOADS}, got {name!r}")
    if num_requests < 1 or max_new_tokens < 1:
        raise ValueError(f"num_requests and max_new_tokens must be >= 1, got {num_requests}, "
                         f"{max_new_tokens}")
    if name == "paper-val":
        vocab_size = (read_config(model)["vocab_size"] if is_random_model_name(model)
                      else len(load_tokenizer(model)))
        workload = paper_workload(num_requests, vocab_size, PAPER_PROMPT_TOKENS)
        return ServingWorkload(workload.requests, workload.prompts,
                               [float(n) for n in workload.standin], 0.0)
    evaluation = json.loads(Path(eval_path).read_text())
    source = evaluation["sources"].get(RECORDED_HEAD_SOURCE)
    if source is None:
        raise ValueError(f"{eval_path} scores no {RECORDED_HEAD_SOURCE!r} source")
    requests = recorded_requests(read_recorded_file(lengths), evaluation["split"])
    if len(requests) < num_requests:
        raise ValueError(f"num_requests: the {evaluation['split']} split holds "
                         f"{len(requests)} requests, {num_requests} asked for")
    predicted = dict(zip(evaluation["ids"], source["predictions"]))
    requests = [replace(r, forced_output_tokens=min(r.forced_output_tokens, max_new_tokens))
                for r in requests[:num_requests]]
    if is_random_model_name(model):  # its vocabulary need not be the tokenizer's: random ids
        rng = random.Random(0)  # at the recorded prompt lengths, as the trace replay draws them
        vocab_size = read_config(model)["vocab_size"]
        prompts = [[rng.randrange(3, vocab_size) for _ in range(r.num_prompt_tokens)]
                   for r in requests]
    else:
        prompts = encode_prompts(load_tokenizer(model), requests)
    return ServingWorkload(requests, prompts, [float(predicted[r.id]) for r in requests],
                           source["ms_per_prompt"] / 1000)
