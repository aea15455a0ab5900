"""The serving benchmark: real engines under Poisson arrivals, beside the serving simulator.

`seqsch.scheduling.serving` predicts when a length prediction pays under load; this measures it.
For each request rate (math.inf: a burst) the same seeded arrivals are replayed in real time
for every policy: first come, the oracle (the true lengths), a learned predictor's lengths, or
the prompt's length, each optionally aged (`oracle@0.5`: priority drops 0.5 per second waited).
A learned policy is named by its source (`recorded-head`; `standin` on the paper's lengths).
Answers are forced to their recorded lengths (trace replay), so every policy serves the same
work and a random-weight model times it. Each finished (rate, policy) cell is one JSON line
(settings, environment, the summary with the keys of `serving_summary`, per-request times and
each engine step's seconds); a rerun with the same settings skips the cells already there.

    config = ServingBenchConfig(num_requests=32, request_rates=(2.0, math.inf),
                                policies=("first-come", "oracle", "oracle@0.5"), out=path)
    rows = run_serving_bench(config, requests, prompts=prompts)   # requests: forced lengths
    compare_with_simulation(rows)   # the simulator on the same arrivals, cost model fitted here

Engines: "continuous" (transformers, `seqsch.engines.continuous_arrivals`) and "vllm"
(`seqsch.engines.vllm_arrivals`, in `.venv-vllm`). A predictor's cost is given per policy as
seconds per request (slept in the request path) or as a callable `predict(index)` run and
timed there; a callable with a `warm_up()` method gets it called once the engine has started.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqsch.bench.recorded_table import DEFAULT_EVAL
from seqsch.bench.serving_compare import (  # noqa: F401 - compare_with_simulation: API
    compare_with_simulation,
    serving_config,
)
from seqsch.bench.serving_workloads import LEARNED_POLICIES, SERVING_WORKLOADS
from seqsch.core.cli import non_negative_int, positive_int
from seqsch.core.config_args import arg
from seqsch.core.device import dtype_name, versions
from seqsch.core.files import read_jsonl
from seqsch.core.models import load_model, load_tokenizer, portable_model
from seqsch.core.paths import BUILD_DIR
from seqsch.core.random_weights import is_random_model_name
from seqsch.core.requests import Request, encode_prompts
from seqsch.core.sources import RECORDED_HEAD_SOURCE
from seqsch.engines.continuous_arrivals import Predictor, ServedRequests, serve_continuous
from seqsch.engines.vllm_arrivals import serve_vllm, vllm_engine_for, vllm_version
from seqsch.scheduling.serving import poisson_arrivals, waiting_key

ENGINES = ("continuous", "vllm")
POLICIES = ("first-come", "oracle", "prompt-length", *LEARNED_POLICIES)
DEFAULT_MODEL = "random:smollm2-135m"


def parse_policy(text: str) -> tuple[str, float]:
    """"oracle" -> ("oracle", 0.0); "oracle@0.5" -> ("oracle", 0.5) (aging per second)."""
    name, _, aging = str(text).partition("@")
    if name not in POLICIES:
        raise ValueError(f"policies: unknown policy {name!r}, choose from {POLICIES}")
    try:
        aging_per_s = float(aging) if aging else 0.0
    except ValueError:
        raise ValueError(f"policies: {text!r} needs a number after '@' (aging per s)") from None
    if not 0 <= aging_per_s < math.inf:
        raise ValueError(f"policies: {text!r} needs a finite aging >= 0")
    if name == "first-come" and aging_per_s:
        raise ValueError("policies: first-come has no priority to age")
    return name, aging_per_s


@dataclass
class ServingBenchConfig:
    """A serving bench's settings: `python -m seqsch.bench serve`'s options. The workload's
    (`workload` to `head_threads`) choose the requests and the learned predictor
    (`serving_workloads`); a record identifies those by their hashes, not by these fields."""

    engine: str = field(default="continuous", metadata=arg("the engine that serves",
                                                           choices=ENGINES))
    model: str = field(default=DEFAULT_MODEL, metadata=arg("a model name, folder or "
                                                           "random:SHAPE"))
    workload: str = field(default="sharegpt-recorded", metadata=arg(
        "seqsch.bench.serving_workloads", choices=SERVING_WORKLOADS))
    eval_path: Path = field(default=DEFAULT_EVAL, metadata=arg(
        "sharegpt-recorded: the learned source's evaluation file"))
    num_requests: int = field(default=64, metadata=arg("requests served", type=positive_int))
    max_new_tokens: int = field(default=512, metadata=arg("answers' cap", type=positive_int))
    request_rates: tuple[float, ...] = field(default=(1.0, 4.0, math.inf), metadata=arg(
        "requests per second; inf is a burst", metavar="RATE"))
    policies: tuple[str, ...] = field(
        default=("first-come", "oracle", RECORDED_HEAD_SOURCE, "prompt-length"),
        metadata=arg(f"{', '.join(POLICIES)}; @0.5: aged 0.5 per second waited",
                     metavar="POLICY[@AGING]"))
    predictor_s: float | None = field(default=None, metadata=arg(
        "seconds slept per learned prediction (default: its measured time)"))
    live_head: bool = field(default=False, metadata=arg(
        "vllm: run the recorded head on each request as it arrives, instead of sleeping its "
        "measured time"))
    head_threads: int | None = field(default=None, metadata=arg(
        "with --live-head: the head's threads (default 1)", type=positive_int))
    num_slots: int = field(default=16, metadata=arg(
        "requests running at once (vLLM's max_num_seqs)", type=positive_int))
    seed: int = field(default=0, metadata=arg("the arrivals' seed", type=non_negative_int))
    dtype: str = field(default="auto", metadata=arg("auto, float32, bf16, ..."))
    vllm_eager: bool = field(default=True, metadata=arg(
        "vLLM without compilation: starts in seconds (--no-vllm-eager compiles, minutes)"))
    out: Path | None = field(default=BUILD_DIR / "serving-bench.jsonl", metadata=arg(
        "JSONL, one line per finished (rate, policy) cell (resumable)"))

    def __post_init__(self) -> None:
        self.request_rates = tuple(float(rate) for rate in self.request_rates)
        self.policies = tuple(self.policies)
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if self.workload not in SERVING_WORKLOADS:
            raise ValueError(f"workload must be one of {SERVING_WORKLOADS}, "
                             f"got {self.workload!r}")
        for name in ("num_requests", "max_new_tokens", "num_slots"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.request_rates or not all(rate > 0 for rate in self.request_rates):
            raise ValueError(f"request_rates must be rates > 0 (inf: a burst), "
                             f"got {self.request_rates}")
        if not self.policies or len(set(self.policies)) < len(self.policies):
            raise ValueError(f"policies must be distinct and not empty, got {self.policies}")
        for text in self.policies:
            parse_policy(text)
        if self.predictor_s is not None and not 0 <= self.predictor_s < math.inf:
            raise ValueError(f"predictor_s must be a finite time >= 0, got {self.predictor_s}")
        if self.head_threads is not None and self.head_threads < 1:
            raise ValueError(f"head_threads must be >= 1, got {self.head_threads}")

    def settings(self) -> dict:
        """What each record holds and a rerun must match: every field but `out` and the
        workload's (the record holds the workload's hash and each predictor's setting)."""
        settings = {k: v for k, v in asdict(self).items() if k not in WORKLOAD_FIELDS}
        settings.update(model=portable_model(self.model), request_rates=list(self.request_rates),
                        policies=list(self.policies))
        return json.loads(json.dumps(settings))


WORKLOAD_FIELDS = ("workload", "eval_path", "max_new_tokens", "predictor_s", "live_head",
                   "head_threads", "out")  # not in a record's settings


def _sha256(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def predictor_setting(predictor: Predictor) -> dict:
    if callable(predictor):
        setting = getattr(predictor, "setting", dict)()  # e.g. a live head's threads, dtype
        return {"mode": "callable",
                "name": getattr(predictor, "__name__", type(predictor).__name__), **setting}
    return {"mode": "sleep", "s_per_request": float(predictor or 0.0)}


def finished_cells(path: Path | None, settings: dict) -> dict[str, dict]:
    """Records of `path` measured with `settings`, by cell key (the last of each)."""
    if path is None or not Path(path).exists():
        return {}
    return {record["key"]: record for record in read_jsonl(path)
            if record.get("config") == settings and "key" in record}


def waiting_ranks(arrivals_s: Sequence[float], priorities: Sequence[float] | None,
                  aging_per_s: float) -> list[int]:
    """Each request's rank in the waiting queue (0 first), as the simulator orders it: arrival
    order, or lowest `priority - aging_per_s * waited_s` (static: `now` shifts every key alike)."""
    ranks = [0] * len(arrivals_s)
    order = sorted(range(len(arrivals_s)),
                   key=lambda i: waiting_key(i, arrivals_s, priorities, aging_per_s))
    for rank, index in enumerate(order):
        ranks[index] = rank
    return ranks


@dataclass
class _Engine:
    """The engine every cell runs on, started on first use (a resumed bench starts none)."""

    config: ServingBenchConfig
    prompts: list[list[int]]
    lengths: list[int]
    model: tuple | None = None  # (model, tokenizer) for the continuous engine
    vllm: object = None
    environment: dict = field(default_factory=dict)

    def start(self) -> None:
        cfg = self.config
        if cfg.engine == "vllm" and self.vllm is None:
            max_len = max(map(len, self.prompts)) + max(self.lengths)
            self.vllm = vllm_engine_for(cfg.model, cfg.dtype, cfg.num_slots, max_len,
                                        cfg.seed, compile=not cfg.vllm_eager)
            self.environment = {"engine": "vllm", "device": self.vllm.run_device(),
                                "dtype": self.vllm.llm_dtype(), "vllm": vllm_version()}
        elif cfg.engine == "continuous":
            if self.model is None:
                self.model = load_model(cfg.model, dtype=cfg.dtype)
            model = self.model[0]
            self.environment = {"engine": "continuous", "device": str(model.device),
                                "dtype": dtype_name(model.dtype)}

    def serve(self, arrivals_s, ranks, predictor: Predictor) -> ServedRequests:
        self.start()
        warm_up = getattr(predictor, "warm_up", None)
        if warm_up is not None:  # after the engine started (see serving_workloads.LiveHead)
            warm_up()
        if self.config.engine == "vllm":
            return serve_vllm(self.vllm, self.prompts, self.lengths, arrivals_s, ranks,
                              predictor)
        model, tokenizer = self.model
        return serve_continuous(model, tokenizer, self.prompts, self.lengths, arrivals_s,
                                ranks, self.config.num_slots, predictor, self.config.seed)


def run_serving_bench(config: ServingBenchConfig, requests: Sequence[Request],
                      priorities_by_policy: dict[str, Sequence[float]] | None = None,
                      predictor_s_by_policy: dict[str, float | Callable] | None = None, *,
                      prompts: Sequence[Sequence[int]] | None = None,
                      model: tuple | None = None) -> list[dict]:
    """One record per (rate, policy) cell, measured or read back from `config.out`.

    `priorities_by_policy` maps a policy name to one priority per request (lower: served
    first); the oracle defaults to the forced lengths, prompt-length to the prompts' lengths,
    a learned source (`recorded-head`, `standin`) has no default. `predictor_s_by_policy` maps
    a name to its predictor's cost. Prompts are token ids (default: the requests encoded by the
    model's tokenizer); `model` is a loaded (model, tokenizer) for the continuous engine
    (default: `config.model` loaded)."""
    if len(requests) != config.num_requests:
        raise ValueError(f"num_requests is {config.num_requests} but {len(requests)} requests "
                         f"were given")
    lengths = [r.forced_output_tokens for r in requests]
    if None in lengths:
        raise ValueError("the serving bench replays forced lengths: give every request "
                         "forced_output_tokens (seqsch.bench.replay)")
    if prompts is None:
        if is_random_model_name(config.model):
            raise ValueError("prompts: a random-weight model reads prompts as token ids "
                             "(seqsch.bench.replay.synthetic_prompts)")
        if model is None and config.engine == "continuous":
            model = load_model(config.model, dtype=config.dtype)
        prompts = encode_prompts(model[1] if model else load_tokenizer(config.model), requests)
    prompts = [list(p) for p in prompts]
    priorities = {"oracle": lengths, "prompt-length": [len(p) for p in prompts],
                  **(priorities_by_policy or {})}
    cells = [parse_policy(text) for text in config.policies]
    for name, _ in cells:
        if name != "first-come" and len(priorities.get(name, ())) != len(requests):
            raise ValueError(f"priorities_by_policy: policy {name!r} needs one priority per "
                             f"request ({len(requests)}): its predictor's")
    settings = config.settings()
    settings["workload_sha256"] = _sha256([[r.id for r in requests], lengths, prompts])
    done = finished_cells(config.out, settings)
    engine = _Engine(config, prompts, lengths, model)
    records = []
    for rate in config.request_rates:
        arrivals_s = poisson_arrivals(len(requests), rate, config.seed)
        for label, (name, aging_per_s) in zip(config.policies, cells):
            cell_priorities = None if name == "first-come" else list(priorities[name])
            predictor = (predictor_s_by_policy or {}).get(name)
            key = _sha256([rate, label, cell_priorities, predictor_setting(predictor)])
            if key in done:
                records.append(done[key])
                continue
            served = engine.serve(arrivals_s, waiting_ranks(arrivals_s, cell_priorities,
                                                            aging_per_s), predictor)
            sim_config = serving_config(config.num_slots, name, aging_per_s, served.predict_s,
                                        predictor_setting(predictor))
            record = {
                "key": key, "request_rate": rate, "policy": label, "aging_per_s": aging_per_s,
                "predictor": predictor_setting(predictor), "config": settings,
                # a live predictor's check against the predictions that order the queue
                "predictor_agreement": getattr(predictor, "agreement", None),
                "environment": {**engine.environment, **versions()},
                "summary": served.summary(sim_config),
                "requests": {**{k: v for k, v in asdict(served).items() if k != "step_s"},
                             "prompt_tokens": [len(p) for p in prompts],
                             "priorities": cell_priorities},
                "step_s": served.step_s}
            if config.out is not None:
                Path(config.out).parent.mkdir(parents=True, exist_ok=True)
                with open(config.out, "a", encoding="utf-8") as file:
                    file.write(json.dumps(record) + "\n")
            records.append(record)
    return records
