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
    run_serving_bench(config, workload.requests, workload.learned, workload.predictor_s,
                      prompts=workload.prompts)

`LiveHead(workload)` is the recorded head itself, run per request (`head(index)`), so that the
bench spends its real time in each request's path, on the machine the engine runs on.
"""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from seqsch.bench.recorded_table import DEFAULT_EVAL
from seqsch.bench.replay import PAPER_PROMPT_TOKENS, paper_workload
from seqsch.core.models import DEFAULT, load_model, load_tokenizer, portable_model
from seqsch.core.paths import ROOT
from seqsch.core.random_weights import is_random_model_name, read_config
from seqsch.core.recorded import (
    DEFAULT_RECORDED,
    read_recorded_file,
    recorded_requests,
)
from seqsch.core.requests import Request, encode_prompts
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.perception.recorded_heads import recorded_head_sha256
from seqsch.perception.registry import make_predictor

SERVING_WORKLOADS = ("sharegpt-recorded", "paper-val")
STANDIN = "standin"  # paper-val's learned priorities: predictions drawn at the paper's accuracy
LEARNED_POLICIES = (RECORDED_HEAD_SOURCE, STANDIN)  # a policy per source of learned priorities


@dataclass
class ServingWorkload:
    requests: list[Request]  # forced_output_tokens: the recorded length (cut at the cap)
    prompts: list[list[int]]
    learned: dict[str, list[float]]  # learned policy -> its priorities (predicted lengths)
    predictor_s: dict[str, float]  # learned policy -> its measured seconds per request
    evaluation: dict = field(default_factory=dict, repr=False)  # sharegpt-recorded: the eval file


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
                               {STANDIN: [float(n) for n in workload.standin]}, {STANDIN: 0.0})
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
    return ServingWorkload(requests, prompts,
                           {RECORDED_HEAD_SOURCE: [float(predicted[r.id]) for r in requests]},
                           {RECORDED_HEAD_SOURCE: source["ms_per_prompt"] / 1000},
                           {k: v for k, v in evaluation.items() if k in LIVE_KEYS})


LIVE_KEYS = ("head", "head_sha256", "model", "dtype")  # what `LiveHead` rebuilds the head from


class LiveHead:
    """The learned source of a `sharegpt-recorded` workload, run for real: `head(index)`
    prefills request `index`'s prompt text through the recorded head (the embedded model in
    `dtype`, default the evaluation's; the head folder the evaluation scored, checked by its
    hash) and returns the predicted length. The serving bench calls it in each request's path,
    one request at a time on a worker thread, beside the engine. It runs on `threads` threads
    (default 1: vLLM's CPU worker computes on one thread of this 2-core machine, which leaves
    the other core to the driver and the predictor; a head on every core slowed vLLM's steps
    here). Setting a worker thread's count also sets torch's default for threads started
    later, so it is meant for vLLM, whose engine thread has set its own before.

    `warm_up()` loads the model and predicts every request once, counting in `agreement` how
    many predictions equal the evaluation's (all of them in the evaluation's dtype: those order
    the queue). The bench calls it once its engine has started: vLLM sets its OpenMP threads
    when it starts, and torch run in the process before then slowed vLLM's steps here."""

    def __init__(self, workload: ServingWorkload, threads: int = 1,
                 dtype: str | None = None) -> None:
        if not workload.evaluation:
            raise ValueError("live head: the workload has no learned head (sharegpt-recorded "
                             "has)")
        head_dir = ROOT / workload.evaluation["head"]  # repository-relative in the file
        if workload.evaluation["model"] != portable_model(DEFAULT):
            raise ValueError(f"live head: the evaluation scored model "
                             f"{workload.evaluation['model']!r}; the head runs on {DEFAULT!r}")
        if recorded_head_sha256(head_dir) != workload.evaluation["head_sha256"]:
            raise ValueError(f"{head_dir}: not the head the evaluation scored (hash differs)")
        if threads < 1:
            raise ValueError(f"live head: threads must be >= 1, got {threads}")
        self.workload, self.threads, self.head_dir = workload, threads, head_dir
        self.dtype = dtype or workload.evaluation["dtype"]
        self.predictor = None
        self.agreement: int | None = None
        self.__name__ = RECORDED_HEAD_SOURCE  # how a record names the predictor
        self.thread_state = threading.local()  # whether this thread's count is set

    def setting(self) -> dict:
        """What a record's predictor setting adds for the live head (so that a resumed run
        with other threads or another dtype measures anew)."""
        return {"threads": self.threads, "dtype": self.dtype}

    def warm_up(self) -> None:
        if self.predictor is not None:
            return
        model, tokenizer = load_model(DEFAULT, dtype=self.dtype)
        self.predictor = make_predictor(RECORDED_HEAD_SOURCE, model, tokenizer,
                                        probe=self.head_dir, batch_size=1)
        learned = self.workload.learned[RECORDED_HEAD_SOURCE]
        with ThreadPoolExecutor(1) as worker:  # as the bench runs it: off the engine's thread
            predicted = list(worker.map(self, range(len(learned))))
        self.agreement = sum(p == int(q) for p, q in zip(predicted, learned))

    def __call__(self, index: int) -> int:
        if self.predictor is None:
            raise RuntimeError("live head: call warm_up() first")
        if not getattr(self.thread_state, "is_set", False):
            # This thread's OpenMP team. vLLM's CPU worker replaces torch.set_num_threads by a
            # no-op once it sets its own threads; the function underneath still works.
            torch._C.set_num_threads(self.threads)
            self.thread_state.is_set = True
        return self.predictor.predict([self.workload.requests[index]])[0]


def learned_predictors(workload: ServingWorkload, config, predictor_s: float | None = None,
                       live_head: bool = False, head_threads: int | None = None) -> dict:
    """{learned policy of `config` (a ServingBenchConfig): its predictor}: the seconds slept
    per request (`predictor_s`, default the workload's measured time), or with `live_head` the
    recorded head itself (`LiveHead`, beside vLLM only, on `head_threads` threads, default 1).
    A ValueError names what is missing."""
    if head_threads is not None and not live_head:
        raise ValueError("--head-threads sets the live head's threads: give --live-head too")
    learned = {text.partition("@")[0] for text in config.policies} & set(LEARNED_POLICIES)
    if missing := sorted(learned - set(workload.learned)):
        raise ValueError(f"policies: this workload has priorities for "
                         f"{', '.join(workload.learned)} only, not {', '.join(missing)}")
    if live_head and (predictor_s is not None or RECORDED_HEAD_SOURCE not in learned
                      or config.engine != "vllm"):
        raise ValueError(f"--live-head runs the {RECORDED_HEAD_SOURCE} policy's head beside "
                         "vLLM: it needs --engine vllm, that policy (--workload "
                         "sharegpt-recorded) and no --predictor-s")
    predictors = {name: workload.predictor_s[name] if predictor_s is None else predictor_s
                  for name in learned}
    if live_head:
        predictors[RECORDED_HEAD_SOURCE] = LiveHead(workload, head_threads or 1)
    return predictors
