"""What a generation run returns, whichever engine ran it (static, scheduled, continuous, vLLM).

Results are per request (in input order) and per batch, and convert to the paper's metrics through
`seqsch.scheduling.metrics`. A run also records its dtype, device and decoding settings, since
answer lengths differ slightly between dtypes and engines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from seqsch.core.requests import Request
from seqsch.scheduling.metrics import BatchStats, completion_stats, summarize


@dataclass
class RequestResult:
    id: str
    text: str
    token_ids: list[int]
    num_prompt_tokens: int
    num_output_tokens: int  # generated tokens, EOS included
    is_finished: bool  # ended with EOS
    is_capped: bool  # cut at its cap without ending
    num_batch_steps: int = 0  # decoding steps its batch ran (static engines)
    batch_index: int = -1
    completion_s: float = 0.0  # from the start of the run until its answer was complete
    # engine steps from the start of the run until its answer was complete (vLLM): a clock that
    # the machine's speed does not move, so two orders compare without timing noise
    completion_step: int | None = None
    num_attempts: int = 1  # 2 when failure collection regenerated it


def request_result(request: Request, token_ids: Sequence[int], is_finished: bool,
                   max_new_tokens: int, num_prompt_tokens: int,
                   text_of: Callable[[list[int]], str], **timing) -> RequestResult:
    """One answer's result, every engine's, with the replay rule in one place: a request with a
    forced length (`Request.forced_output_tokens`) ends there, finished only when that length
    falls under the cap (a recorded length at the cap was cut there, censored, as a natural
    one is), and its tokens, never read, are neither kept nor decoded. `is_finished` is the
    engine's own verdict (ended with EOS or a stop id); `text_of` decodes the kept ids;
    `timing` fills the engine's timing fields (completion_s, completion_step, ...)."""
    ids = list(token_ids)
    num_tokens = len(ids)
    if request.forced_output_tokens is not None:
        is_finished, ids = num_tokens == request.forced_output_tokens < max_new_tokens, []
    return RequestResult(id=request.id, text=text_of(ids) if ids else "", token_ids=ids,
                         num_prompt_tokens=num_prompt_tokens, num_output_tokens=num_tokens,
                         is_finished=is_finished, is_capped=not is_finished, **timing)


@dataclass
class BatchResult:
    indices: list[int]  # positions in the run's request list
    max_new_tokens: int  # this batch's cap
    num_steps: int
    num_output_tokens: int  # tokens of rows that are final results (see seqsch.scheduling.metrics)
    num_failed: int  # rows cut at an FCR cap below the run's full cap, to be recomputed
    num_prompt_tokens: int  # padded prompt width
    prefill_s: float
    wall_s: float
    step_s: list[float] = field(default_factory=list)  # time of each decoding step after prefill
    is_recompute: bool = False

    @property
    def num_rows(self) -> int:
        return len(self.indices)

    def stats(self) -> BatchStats:
        return BatchStats(
            num_rows=self.num_rows,
            num_steps=self.num_steps,
            num_output_tokens=self.num_output_tokens,
            num_failed=self.num_failed,
            wall_s=self.wall_s,
            is_recompute=self.is_recompute,
        )


@dataclass
class GenerationRun:
    results: list[RequestResult]
    batches: list[BatchResult]
    wall_s: float
    engine: str
    device: str
    dtype: str
    decoding: dict
    extra: dict = field(default_factory=dict)  # engine-specific facts (e.g. prediction_s)

    def summary(self) -> dict:
        """The paper's metrics plus completion-time statistics, rounded for printing."""
        num = len(self.results)
        if self.batches:
            out = summarize([b.stats() for b in self.batches], num, self.wall_s)
        else:  # continuous engines: no static batches, so no padded slots to count
            num_tokens = sum(r.num_output_tokens for r in self.results)
            out = {
                "samples_per_s": num / self.wall_s,
                "tokens_per_s": num_tokens / self.wall_s,
                "avg_length": None,
                "effective_token_ratio": None,
                "failure_ratio": 0.0,
                "num_samples": num,
                "wall_s": self.wall_s,
            }
        out.update(completion_stats([r.completion_s for r in self.results]))
        steps = [r.completion_step for r in self.results]
        if None not in steps:
            out["mean_completion_steps"] = sum(steps) / num
        out["num_finished"] = sum(r.is_finished for r in self.results)
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}

    def to_dict(self, with_text: bool = False) -> dict:
        results = [asdict(r) for r in self.results]
        for r in results:
            r.pop("token_ids")
            if not with_text:
                r.pop("text")
        return {
            "engine": self.engine, "device": self.device, "dtype": self.dtype,
            "decoding": self.decoding, "summary": self.summary(), "extra": self.extra,
            "results": results,
            "batches": [asdict(b) for b in self.batches],
        }
