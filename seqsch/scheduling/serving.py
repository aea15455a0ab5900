"""Serving under load: a continuous-batching engine fed by requests that arrive over time.

`seqsch.scheduling.priority` replays a burst (every request waiting at time 0). A server sees
requests arrive while others run, and a length prediction can only change the order in which
waiting requests take a free slot; at low load nothing waits, so the prediction buys nothing
and its cost is pure latency. This module simulates that trade, pure Python and instant:

    from seqsch.scheduling.serving import ServingConfig, poisson_arrivals, simulate_serving
    arrivals_s = poisson_arrivals(len(lengths), request_rate=2.0, seed=0)
    config = ServingConfig(num_slots=16, policy="shortest-predicted", aging_per_s=0.5)
    simulate_serving(lengths, prompts, arrivals_s, predicted, config, cost_model).summary

The model (iteration-level, like vLLM; no preemption: a running request runs to its end):

- Each engine step first admits waiting requests into free slots, by policy: "first-come"
  (arrival order) or "shortest-predicted" (lowest `predicted - aging_per_s * waited_s`, where
  `waited_s` counts from arrival; ties in arrival order). The oracle passes the true lengths as
  priorities. The step then prefills the newly admitted requests, which yields their first
  token, and decodes one token for every request already running; its cost is
  `prefill_s(num_new, mean new prompt) + step_s(num_decoding, mean context)` (either term left
  out when it has no rows; mean context = prompt + tokens so far, so the linear cost model sums
  each row's own context exactly). `cost_model=None` is the unit clock: 1 s a step, prefill free.
- A request of output length n finishes at the end of the (n-1)-th step after the one that
  admitted it (lengths are forced). The step clock (`first_token_step`, `finish_step`) counts
  engine steps only, so orders compare free of timing.
- The predictor spends `predictor_s_per_request` on each request, one at a time in arrival
  order; a request can only queue once predicted. With `predictor_blocks_engine=False` it runs
  on its own worker, beside the engine. With `True` (the default) it shares the machine, which
  runs one thing at a time: between two engine steps the machine first predicts every request
  that has arrived, then runs the next step (a prediction waits for the running step to end; an
  engine step waits for the predictions). The machine's busy time is then every step's cost
  plus every prediction's.

Request-rate sweeps, the engine's capacity and the break-even rate: `serving_sweep`.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from seqsch.scheduling.cost_model import CostModel
from seqsch.scheduling.metrics import quantile

POLICIES = ("first-come", "shortest-predicted")


def poisson_arrivals(num_requests: int, request_rate: float, seed: int = 0) -> list[float]:
    """Arrival times (s) of a Poisson process, as vLLM's serving benchmark draws them: seeded
    exponential gaps of mean 1/request_rate, the first arrival one gap after 0. A rate of
    math.inf is a burst (every request at 0)."""
    if num_requests < 1:
        raise ValueError(f"num_requests must be >= 1 (an empty workload), got {num_requests}")
    if not request_rate > 0:  # NaN fails this too
        raise ValueError(f"request_rate must be > 0 (requests per second), got {request_rate}")
    if math.isinf(request_rate):
        return burst_arrivals(num_requests)
    rng = random.Random(seed)
    arrivals_s, now_s = [], 0.0
    for _ in range(num_requests):
        now_s += rng.expovariate(request_rate)
        arrivals_s.append(now_s)
    return arrivals_s


def burst_arrivals(num_requests: int) -> list[float]:
    """Every request at time 0 (the offline batch of `priority`)."""
    if num_requests < 1:
        raise ValueError(f"num_requests must be >= 1 (an empty workload), got {num_requests}")
    return [0.0] * num_requests


def waiting_key(index: int, arrivals_s: Sequence[float], priorities: Sequence[float] | None,
                aging_per_s: float = 0.0) -> tuple[float, float, int]:
    """A waiting request's place in the queue, lowest first: arrival order (`priorities` None),
    else the lowest `priority - aging_per_s * waited_s`, ties in arrival order. `now` shifts
    every waiting request's key alike, so the key is fixed at `priority + aging * arrival`."""
    if priorities is None:
        return (arrivals_s[index], 0.0, index)
    return (priorities[index] + aging_per_s * arrivals_s[index], arrivals_s[index], index)


@dataclass
class ServingConfig:
    num_slots: int  # most requests running at once (vLLM's max_num_seqs)
    policy: str = "first-come"
    aging_per_s: float = 0.0  # starvation guard: priority drops this much per second waited
    predictor_s_per_request: float = 0.0  # prediction time in each request's path
    predictor_blocks_engine: bool = True  # the predictor shares the engine's machine

    def __post_init__(self) -> None:
        if self.num_slots < 1:
            raise ValueError(f"num_slots must be >= 1, got {self.num_slots}")
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {self.policy!r}")
        if not self.aging_per_s >= 0 or math.isinf(self.aging_per_s):
            raise ValueError(f"aging_per_s must be a finite number >= 0, got {self.aging_per_s}")
        if not 0 <= self.predictor_s_per_request < math.inf:
            raise ValueError("predictor_s_per_request must be a finite number >= 0, got "
                             f"{self.predictor_s_per_request}")


@dataclass
class ServingResult:
    """Per-request times (s, from time 0) and engine steps, indexed like the inputs."""

    config: ServingConfig
    arrival_s: list[float]
    queued_s: list[float]  # prediction done: from here the request may take a slot
    first_token_s: list[float]
    finish_s: list[float]
    first_token_step: list[int]
    finish_step: list[int]
    latency_steps: list[int]  # steps that began after the arrival, through the finish
    summary: dict[str, float | int] = field(default_factory=dict)

    @property
    def latency_s(self) -> list[float]:
        return [f - a for f, a in zip(self.finish_s, self.arrival_s)]

    @property
    def ttft_s(self) -> list[float]:
        return [f - a for f, a in zip(self.first_token_s, self.arrival_s)]


def check_requests(output_lengths: Sequence[int], prompt_lengths: Sequence[int] | None,
                   arrivals_s: Sequence[float] | None = None,
                   priorities: Sequence[float] | None = None, policy: str = "first-come") -> None:
    """Raise ValueError unless the per-request inputs agree in length and make sense."""
    num_requests = len(output_lengths)
    if num_requests == 0:
        raise ValueError("output_lengths is empty: simulate at least one request")
    named = {"prompt_lengths": prompt_lengths, "arrivals_s": arrivals_s, "priorities": priorities}
    for name, values in named.items():
        if values is not None and len(values) != num_requests:
            raise ValueError(f"{name} has {len(values)} entries for {num_requests} requests")
    if min(output_lengths) < 1:
        raise ValueError("output_lengths count the EOS token, so each must be >= 1")
    if prompt_lengths is not None and min(prompt_lengths) < 0:
        raise ValueError("prompt_lengths must be >= 0")
    if arrivals_s is not None and not all(0 <= a < math.inf for a in arrivals_s):
        raise ValueError("arrivals_s must be finite times >= 0")
    if policy == "shortest-predicted":
        if priorities is None:
            raise ValueError("policy 'shortest-predicted' needs priorities (predicted lengths)")
        if any(math.isnan(p) for p in priorities):
            raise ValueError("priorities must not be NaN")


def simulate_serving(output_lengths: Sequence[int], prompt_lengths: Sequence[int] | None,
                     arrivals_s: Sequence[float], priorities: Sequence[float] | None,
                     config: ServingConfig,
                     cost_model: CostModel | None = None) -> ServingResult:
    """Serve the requests as they arrive (see the module docstring for the model)."""
    check_requests(output_lengths, prompt_lengths, arrivals_s, priorities, config.policy)
    num_requests = len(output_lengths)
    prompts = list(prompt_lengths) if prompt_lengths is not None else [0] * num_requests
    by_arrival = sorted(range(num_requests), key=lambda i: (arrivals_s[i], i))
    predict_s = config.predictor_s_per_request
    queued_s = [0.0] * num_requests
    if not config.predictor_blocks_engine:  # its own worker, first come first predicted
        worker_free_s = 0.0
        for i in by_arrival:
            worker_free_s = queued_s[i] = max(worker_free_s, arrivals_s[i]) + predict_s

    ordered_by = None if config.policy == "first-come" else priorities

    def queue_key(i: int) -> tuple[float, float, int]:
        return waiting_key(i, arrivals_s, ordered_by, config.aging_per_s)

    first_token_s, finish_s = [0.0] * num_requests, [0.0] * num_requests
    first_token_step, finish_step = [0] * num_requests, [0] * num_requests
    arrival_step = [0] * num_requests  # steps begun before the request arrived
    waiting: list[tuple[float, float, int]] = []
    running: list[tuple[int, int]] = []  # heap of (finish step, index)
    num_seen = num_queued = num_steps = 0  # positions in by_arrival; engine steps run
    context_sum = 0  # prompt + tokens so far, summed over the running requests
    now_s = 0.0
    while num_queued < num_requests or waiting or running:
        while True:  # arrivals up to now; on a shared machine, their predictions first
            while num_seen < num_requests and arrivals_s[by_arrival[num_seen]] <= now_s:
                arrival_step[by_arrival[num_seen]] = num_steps
                num_seen += 1
            if not config.predictor_blocks_engine or num_queued == num_seen:
                break
            now_s = queued_s[by_arrival[num_queued]] = now_s + predict_s
            heapq.heappush(waiting, queue_key(by_arrival[num_queued]))
            num_queued += 1
        if not config.predictor_blocks_engine:
            while num_queued < num_seen and queued_s[by_arrival[num_queued]] <= now_s:
                heapq.heappush(waiting, queue_key(by_arrival[num_queued]))
                num_queued += 1
        if not waiting and not running:  # idle: jump to the next arrival or prediction
            upcoming = by_arrival[num_queued] if num_queued < num_requests else None
            if upcoming is None:
                break
            now_s = max(now_s, arrivals_s[upcoming] if config.predictor_blocks_engine
                        else queued_s[upcoming])
            continue
        num_decoding = len(running)
        admitted = []
        while waiting and len(running) + len(admitted) < config.num_slots:
            admitted.append(heapq.heappop(waiting)[2])
        if cost_model is None:
            step_s = 1.0
        else:
            step_s = 0.0
            if admitted:
                step_s += cost_model.prefill_s(
                    len(admitted), sum(prompts[i] for i in admitted) / len(admitted))
            if num_decoding:
                step_s += cost_model.step_s(num_decoding, context_sum / num_decoding)
            if not step_s > 0:
                raise ValueError(f"cost model {cost_model.name!r} prices a step at {step_s} s")
        now_s += step_s
        num_steps += 1
        context_sum += num_decoding  # every decoding row added a token
        for i in admitted:
            first_token_s[i], first_token_step[i] = now_s, num_steps
            context_sum += prompts[i] + 1
            heapq.heappush(running, (num_steps + output_lengths[i] - 1, i))
        while running and running[0][0] == num_steps:
            _, i = heapq.heappop(running)
            finish_s[i], finish_step[i] = now_s, num_steps
            context_sum -= prompts[i] + output_lengths[i]
    result = ServingResult(
        config, list(map(float, arrivals_s)), queued_s, first_token_s, finish_s,
        first_token_step, finish_step,
        [done - before for done, before in zip(finish_step, arrival_step)])
    result.summary = serving_summary(result, output_lengths, num_steps)
    return result


def serving_summary(result: ServingResult, output_lengths: Sequence[int],
                    num_steps: int) -> dict[str, float | int]:
    """Latency percentiles (end to end, TTFT), TPOT as vLLM reports it (requests of more than
    one token; 0.0 if none), latency per token as vllm-ltr reports it, and throughput over the
    makespan from the first arrival to the last finish."""
    latency_s = sorted(result.latency_s)
    ttft_s = sorted(result.ttft_s)
    latency_steps = sorted(result.latency_steps)
    tpot_s = [(f - t) / (n - 1) for f, t, n in
              zip(result.finish_s, result.first_token_s, output_lengths) if n > 1]
    makespan_s = max(result.finish_s) - min(result.arrival_s)
    num_requests = len(latency_s)
    return {
        "num_requests": num_requests,
        "num_steps": num_steps,
        "makespan_s": makespan_s,
        "mean_latency_s": sum(latency_s) / num_requests,
        "median_latency_s": quantile(latency_s, 0.5),
        "p99_latency_s": quantile(latency_s, 0.99),
        "mean_ttft_s": sum(ttft_s) / num_requests,
        "p99_ttft_s": quantile(ttft_s, 0.99),
        "mean_tpot_s": sum(tpot_s) / len(tpot_s) if tpot_s else 0.0,
        "mean_latency_per_token_s": sum(
            lat / n for lat, n in zip(result.latency_s, output_lengths)) / num_requests,
        "throughput_requests_per_s": num_requests / makespan_s,
        "output_tokens_per_s": sum(output_lengths) / makespan_s,
        "mean_latency_steps": sum(latency_steps) / num_requests,
        "p99_latency_steps": quantile(latency_steps, 0.99),
    }
