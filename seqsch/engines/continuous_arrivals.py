"""Real engines fed by arriving requests: what the serving benchmark measures.

`seqsch.scheduling.serving` simulates a continuous-batching server under Poisson arrivals; this
module drives a real one the same way, in real time. A request is submitted when its arrival
time passes, after its prediction. Predictions run one at a time in arrival order on a worker
thread of their own, as a serving frontend runs a predictor (so a request may wait behind
another's prediction, and the engine keeps stepping meanwhile: the simulator's
`predictor_blocks_engine=False`). A predictor is a number of seconds per request, slept (its
latency cost alone), or a callable `predict(index)`, run and timed (it also takes its share of
the machine's cores and memory bandwidth, as a real predictor does).

    served = serve_continuous(model, tokenizer, prompts, lengths, arrivals_s, ranks, num_slots=8)
    served.summary(ServingConfig(8))   # the keys of seqsch.scheduling.serving.serving_summary

The continuous engine is transformers' (`seqsch.engines.continuous`), started once per call:
- it accepts requests while it runs (`add_request` on a started manager) and stamps each token
  (`record_timestamps`), so first-token and finish times are the engine's own;
- its waiting queue is first come, first served; a priority policy reorders that queue
  (`RankedWaitingScheduler`: a waiting request's rank, 0 first, decides who takes a free slot,
  checked every step). Running requests are never preempted (the cache holds every slot at
  full length), as in the simulator;
- its step clock comes from timing each pass of its loop that ran a forward pass (prepare,
  forward, update): a token belongs to the step during which it was stamped. Async batching
  and CUDA graphs are off, so that each step's tokens are stamped within it.
Requests are replayed at forced lengths (no EOS), so every policy serves the same work.
"""

from __future__ import annotations

import bisect
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch
from transformers.generation.configuration_utils import ContinuousBatchingConfig
from transformers.generation.continuous_batching.scheduler import FIFOScheduler

from seqsch.core.decoding import DecodingConfig
from seqsch.core.models import eos_token_ids
from seqsch.engines.continuous import (
    default_num_blocks,
    engine_generation_config,
    finished_output,
)
from seqsch.scheduling.serving import ServingConfig, ServingResult, serving_summary

Predictor = float | Callable[[int], object] | None  # seconds slept per request, or run and timed
BLOCK_SIZE = 32
IDLE_POLL_S = 0.05  # longest wait for a result while no arrival is due
PREDICTION_POLL_S = 0.002  # wait while a prediction is under way


@dataclass
class ServedRequests:
    """Per-request times (s from the start of the run) and engine steps, indexed like inputs."""

    arrival_s: list[float]
    queued_s: list[float]  # arrived and its prediction done: it joins the engine's next step
    predict_s: list[float]
    first_token_s: list[float]
    finish_s: list[float]
    first_token_step: list[int]
    finish_step: list[int]
    arrival_step: list[int]  # engine steps begun before the arrival
    num_output_tokens: list[int]
    step_s: list[float] = field(default_factory=list)  # each engine step's seconds

    def result(self, config: ServingConfig) -> ServingResult:
        latency_steps = [done - before for done, before in zip(self.finish_step,
                                                               self.arrival_step)]
        result = ServingResult(config, self.arrival_s, self.queued_s, self.first_token_s,
                               self.finish_s, self.first_token_step, self.finish_step,
                               latency_steps)
        result.summary = serving_summary(result, self.num_output_tokens, len(self.step_s))
        return result

    def summary(self, config: ServingConfig) -> dict[str, float | int]:
        return self.result(config).summary


class ArrivalFeeder:
    """Submits each request once its arrival time has passed and its prediction is done.

    Predictions run one at a time, in arrival order, on a worker thread of their own (where a
    serving frontend runs its predictor): the driver's loop, and so the engine, keeps stepping
    meanwhile. The worker takes every request at the start and waits for its arrival, so a
    prediction starts when its request arrives and the one before it is done (as the
    simulator has it), whatever step the engine is in; the request is queued when its
    prediction ends and joins the engine between two steps."""

    def __init__(self, arrivals_s: Sequence[float], predictor: Predictor,
                 submit: Callable[[int], None]) -> None:
        if predictor is not None and not callable(predictor) and not 0 <= predictor < math.inf:
            raise ValueError(f"a predictor is seconds >= 0 or a callable, got {predictor!r}")
        self.arrivals_s, self.predictor, self.submit = list(arrivals_s), predictor, submit
        self.by_arrival = sorted(range(len(arrivals_s)), key=lambda i: (arrivals_s[i], i))
        self.num_started = self.num_submitted = 0  # requests handed on; submitted to the engine
        self.closed = threading.Event()
        self.queued_s = [0.0] * len(arrivals_s)
        self.predict_s = [0.0] * len(arrivals_s)
        self.predicted: queue.SimpleQueue = queue.SimpleQueue()  # (index, begin, end | error)
        self.worker = (ThreadPoolExecutor(1, thread_name_prefix="predictor")
                       if predictor else None)
        self.start = time.perf_counter()

    def now_s(self) -> float:
        return time.perf_counter() - self.start

    def _predict(self, index: int) -> None:
        if self.closed.wait(max(0.0, self.arrivals_s[index] - self.now_s())):
            return  # closed before this request arrived
        begin = time.perf_counter()
        try:
            if callable(self.predictor):
                self.predictor(index)
            else:
                time.sleep(self.predictor)
        except BaseException as error:  # noqa: BLE001 - handed to the driver, raised there
            self.predicted.put((index, begin, error))
            return
        self.predicted.put((index, begin, time.perf_counter()))

    def feed(self) -> None:
        """Submit every request that has arrived by now (without a predictor) or whose
        prediction is done."""
        if self.worker is not None and self.num_started == 0:
            for index in self.by_arrival:  # the worker waits for each arrival in turn
                self.worker.submit(self._predict, index)
            self.num_started = len(self.by_arrival)
        while self.worker is None and self.num_started < len(self.by_arrival) and (
                self.arrivals_s[self.by_arrival[self.num_started]] <= self.now_s()):
            index = self.by_arrival[self.num_started]
            self.num_started += 1
            self.queued_s[index] = self.now_s()
            self._submit(index)
        while True:
            try:
                index, begin, end = self.predicted.get_nowait()
            except queue.Empty:
                return
            if isinstance(end, BaseException):
                raise end
            self.predict_s[index], self.queued_s[index] = end - begin, end - self.start
            self._submit(index)

    def _submit(self, index: int) -> None:
        self.submit(index)
        self.num_submitted += 1

    def wait_s(self) -> float:
        """How long the driver may block before the next arrival or prediction is due."""
        if self.num_submitted == len(self.by_arrival):
            return IDLE_POLL_S
        due_s = self.arrivals_s[self.by_arrival[self.num_submitted]] - self.now_s()
        if self.worker is not None and due_s <= 0:  # arrived: its prediction is under way
            return PREDICTION_POLL_S
        return min(IDLE_POLL_S, max(1e-4, due_s))

    def close(self) -> None:
        """Stop the predictor's worker (waits for a prediction under way, skips the rest)."""
        self.closed.set()
        if self.worker is not None:
            self.worker.shutdown(wait=True, cancel_futures=True)

    def served(self, first_token_at: Sequence[float], finish_at: Sequence[float],
               num_output_tokens: Sequence[int], step_starts: Sequence[float],
               step_ends: Sequence[float]) -> ServedRequests:
        """The run's record from absolute (perf_counter) token and step times: a token stamped
        during or at the end of step k (1-based) belongs to step k."""
        starts = list(step_starts)

        def step_of(stamp: float) -> int:
            return bisect.bisect_right(starts, stamp)

        return ServedRequests(
            arrival_s=list(map(float, self.arrivals_s)), queued_s=self.queued_s,
            predict_s=self.predict_s,
            first_token_s=[t - self.start for t in first_token_at],
            finish_s=[t - self.start for t in finish_at],
            first_token_step=[step_of(t) for t in first_token_at],
            finish_step=[step_of(t) for t in finish_at],
            arrival_step=[bisect.bisect_left(starts, self.start + a) for a in self.arrivals_s],
            num_output_tokens=list(num_output_tokens),
            step_s=[end - start for start, end in zip(step_starts, step_ends)])


class RankedWaitingScheduler(FIFOScheduler):
    """transformers' FIFO scheduler with its waiting queue served by rank (0 first): running
    requests still come first, then waiting ones in `rank_of` order, each step."""

    rank_of: dict[str, int]

    def _get_waiting_candidates(self) -> list:
        waiting = super()._get_waiting_candidates()
        return sorted(waiting, key=lambda state: self.rank_of[state.request_id])


def rank_waiting_queue(manager, rank_of: dict[str, int]) -> None:
    """Make the warmed-up manager's scheduler serve its waiting queue by `rank_of`."""
    scheduler = manager.batch_processor.scheduler
    if type(scheduler) is not FIFOScheduler:
        raise RuntimeError(f"expected transformers' FIFOScheduler, found {type(scheduler)}: "
                           "the serving benchmark needs an update for this transformers")
    scheduler.__class__ = RankedWaitingScheduler
    scheduler.rank_of = rank_of


def time_steps(manager, step_starts: list[float], step_ends: list[float]) -> None:
    """Record the start and end of every pass of the manager's loop that ran a forward pass."""
    body = manager._generation_loop_body

    def timed_body(batch_processor, bootstrapping: bool) -> bool:
        num_before, start = manager.current_batch, time.perf_counter()
        keep_going = body(batch_processor, bootstrapping)
        if manager.current_batch > num_before:
            step_starts.append(start)
            step_ends.append(time.perf_counter())
        return keep_going

    manager._generation_loop_body = timed_body


def serve_continuous(model, tokenizer, prompts: Sequence[Sequence[int]],
                     output_lengths: Sequence[int], arrivals_s: Sequence[float],
                     ranks: Sequence[int], num_slots: int, predictor: Predictor = None,
                     seed: int = 0) -> ServedRequests:
    """Serve `prompts` on transformers' continuous batching as they arrive, each forced to its
    `output_lengths` entry, waiting requests taken lowest `ranks` first (see the module
    docstring). Every prompt is prefilled in one step (the token budget holds `num_slots`
    of the longest)."""
    num_requests = len(prompts)
    if not len(output_lengths) == len(arrivals_s) == len(ranks) == num_requests > 0:
        raise ValueError(f"need as many output_lengths, arrivals_s and ranks as prompts "
                         f"({num_requests} > 0)")
    if getattr(model, "_cached_continuous_batching_manager", None) is not None:
        raise ValueError("the model holds a persistent continuous-batching manager; call "
                         "model.destroy_cached_continuous_batching_manager() first")
    max_prompt, max_new = max(len(p) for p in prompts), max(output_lengths)
    engine_config = ContinuousBatchingConfig(
        page_size=BLOCK_SIZE, max_requests_per_batch=num_slots,
        num_blocks=default_num_blocks(max_prompt + max_new, min(num_slots, num_requests),
                                      BLOCK_SIZE),
        max_batch_tokens=max(512, num_slots * (max_prompt + 1)), allow_block_sharing=False,
        auto_switch_to_flash=False, seed=seed, default_compile_level=0, use_cuda_graph=False,
        use_async_batching=False)
    generation_config = engine_generation_config(
        DecodingConfig(max_new_tokens=max_new), eos_token_ids(model, tokenizer),
        tokenizer.pad_token_id)
    original_attn = model.config._attn_implementation
    with torch.random.fork_rng(devices=[] if model.device.type == "cpu" else None):
        try:
            manager = model.init_continuous_batching(
                generation_config=generation_config, continuous_batching_config=engine_config)
            return _drive(manager, prompts, output_lengths, arrivals_s, ranks, predictor)
        finally:
            if model.config._attn_implementation != original_attn:
                model.set_attn_implementation(original_attn)


def _drive(manager, prompts, output_lengths, arrivals_s, ranks, predictor) -> ServedRequests:
    step_starts: list[float] = []
    step_ends: list[float] = []
    outputs: dict[int, object] = {}
    feeder = None

    def submit(index: int) -> None:
        manager.add_request(list(prompts[index]), request_id=str(index),
                            max_new_tokens=output_lengths[index], eos_token_id=[],
                            record_timestamps=True)

    try:
        manager.warmup()  # allocates the cache and the batch processor the loop will use
        rank_waiting_queue(manager, {str(i): int(rank) for i, rank in enumerate(ranks)})
        time_steps(manager, step_starts, step_ends)
        feeder = ArrivalFeeder(arrivals_s, predictor, submit)
        if not predictor:  # a burst with nothing to predict is one queue at the first step
            feeder.feed()
        manager.start()
        while len(outputs) < len(prompts):
            feeder.feed()
            output = finished_output(manager, timeout_s=feeder.wait_s())
            if output is not None:
                outputs[int(output.request_id)] = output
    finally:
        if feeder is not None:
            feeder.close()
        manager.stop(block=True, keep_for_next_session=False,
                     hard_stop=len(outputs) < len(prompts))
        manager.destroy()
    ordered = [outputs[i] for i in range(len(prompts))]
    return feeder.served([o.timestamps[0] for o in ordered], [o.timestamps[-1] for o in ordered],
                         [len(o.generated_tokens) for o in ordered], step_starts, step_ends)
