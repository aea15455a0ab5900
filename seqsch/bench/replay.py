"""Trace replay: the paper's own workload, run on any model and any hardware.

What scheduling does to throughput depends on the length distribution and on how a decoding
step's cost grows with its rows and context, not on which weights write the tokens. So, as
serving benchmarks do (vLLM's replays recorded output lengths with EOS ignored), each request
here carries the length its answer must have (`Request.forced_output_tokens`) and the engines
stop it exactly there. With the paper's Vicuna-7B lengths and a model of the paper's shape
(random weights, `seqsch.core.random_weights`) the paper's table can be measured on a GPU, and the
same lengths on this CPU check the simulator row by row.

The workload (`paper_workload`) reproduces the paper's benchmark:
- lengths: `data/paper/alpaca-val-10k-length.json`, Vicuna-7B's answers to 10,000 Alpaca
  validation instructions at temperatures 0, 0.3, 0.5 and 0.7 (max 512 new tokens), published
  with the paper's code;
- the sample: `EvalDataset.sample(1024, seed=42)`, a numpy permutation of the 10,000 records,
  scheduled in consecutive groups of 256 (`--group-size 256`), batch 16, cap 512, greedy: each
  answer is forced to its greedy length `L_t0.0`;
- the oracle (`oracle`, the paper's gt): the longest of the four sampled lengths;
- prompts: the file holds no prompt lengths, so every prompt is assumed to be
  `PAPER_PROMPT_TOKENS` tokens (Vicuna v1.1's system turn is about 40 Llama tokens, a typical
  Alpaca instruction about 20), of seeded random token ids;
- a **stand-in** for the paper's tuned module (its weights are not published): predictions
  drawn, seeded, so that their error, Acc-50 and Acc-100 against the oracle equal the reported
  62 tokens, 59% and 81% (`standin_predictions`). It is not a predictor: it shows what a
  predictor of that accuracy does to the schedule.

    from seqsch.bench.replay import paper_workload
    workload = paper_workload(num_data=256, vocab_size=32000)
    workload.requests[0].forced_output_tokens, workload.oracle[0], workload.standin[0]
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from seqsch.core.length_records import (  # paper_sample lives in core: the simulator draws it
    paper_sample,
    read_length_file,
)
from seqsch.core.paper import (  # noqa: F401 - PAPER_ROWS, PAPER_MODULE_ACCURACY: read from here
    PAPER_BATCH_SIZE,
    PAPER_GROUP_SIZE,
    PAPER_MAX_NEW_TOKENS,
    PAPER_MODULE_ACCURACY,
    PAPER_ROWS,
    PAPER_SAMPLE_SEED,
    PAPER_SAMPLE_SIZE,
)
from seqsch.core.paths import DATA_DIR, DEFAULT_RECORDED_EVAL
from seqsch.core.recorded import read_evaluation
from seqsch.core.requests import Request
from seqsch.core.sources import RECORDED_HEAD_SOURCE

PAPER_VAL_LENGTHS = DATA_DIR / "paper" / "alpaca-val-10k-length.json"
PAPER_NUM_DATA, PAPER_SEED = PAPER_SAMPLE_SIZE, PAPER_SAMPLE_SEED  # the replay's names
PAPER_PROMPT_TOKENS = 64  # assumed: the length file holds no prompt lengths
REPLAYS = ("paper-val", "sharegpt-recorded")


@dataclass
class ReplayWorkload:
    """Requests with forced lengths, their prompts as token ids, and the predictions."""

    name: str
    requests: list[Request]  # forced_output_tokens = the recorded (greedy) length
    prompts: list[list[int]]
    oracle: list[int]  # the paper's gt: the longest of the sampled answers
    standin: list[int]  # the stand-in for the tuned module (paper-val)
    learned: list[int] = field(default_factory=list)  # the recorded head's (sharegpt-recorded)
    learned_s: float = 0.0  # its measured seconds for these prompts

    def predictions_by_source(self) -> dict[str, tuple[dict[str, int], float]]:
        """{source: ({request id: prediction}, seconds spent predicting)} of the replay's own
        predictions: the stand-in's (free), or the recorded head's (its measured time)."""
        sources = {"standin": (self.standin, 0.0), RECORDED_HEAD_SOURCE: (self.learned,
                                                                     self.learned_s)}
        return {name: ({r.id: n for r, n in zip(self.requests, predicted)}, seconds)
                for name, (predicted, seconds) in sources.items() if predicted}

    @property
    def true_lengths(self) -> list[int]:
        return [r.forced_output_tokens for r in self.requests]


def synthetic_prompts(num: int, num_tokens: int, vocab_size: int,
                      seed: int = 0) -> list[list[int]]:
    """`num` prompts of `num_tokens` seeded random ids (ids 0-2 left out: pad, BOS, EOS)."""
    if num_tokens < 1 or vocab_size < 4:
        raise ValueError(f"need num_tokens >= 1 and vocab_size >= 4, got {num_tokens}, "
                         f"{vocab_size}")
    rng = random.Random(seed)
    return [[rng.randrange(3, vocab_size) for _ in range(num_tokens)] for _ in range(num)]


def standin_predictions(oracle: Sequence[int], seed: int = 0,
                        error: float = PAPER_MODULE_ACCURACY["error"],
                        acc50: float = PAPER_MODULE_ACCURACY["acc50"],
                        acc100: float = PAPER_MODULE_ACCURACY["acc100"],
                        max_length: int = PAPER_MAX_NEW_TOKENS) -> list[int]:
    """Predictions whose mean |prediction - oracle| is `error` and whose shares within 50 and
    100 tokens are `acc50` and `acc100` (exactly, up to rounding to whole prompts).

    Each prompt draws a band (within 50, 51-100, over 100 tokens) in those shares, an error
    uniform in its band (the top band's width set so that the mean error comes out right) and a
    random sign, flipped where the prediction would leave 1..max_length."""
    n = len(oracle)
    if n == 0 or not 0 <= acc50 <= acc100 <= 1:
        raise ValueError(f"need predictions to draw and 0 <= acc50 <= acc100 <= 1; got {n} "
                         f"prompts, {acc50}, {acc100}")
    rng = random.Random(seed)
    num_50, num_100 = round(acc50 * n), round(acc100 * n)
    bands = [0] * num_50 + [1] * (num_100 - num_50) + [2] * (n - num_100)
    rng.shuffle(bands)
    errors = [rng.randint(0, 50) if b == 0 else rng.randint(51, 100) if b == 1 else 0
              for b in bands]
    top = [i for i, b in enumerate(bands) if b == 2]
    if top:  # the top band carries what the mean error still needs
        mean_top = (error * n - sum(errors)) / len(top)
        if not 101 <= mean_top <= (max_length - 1) / 2:
            raise ValueError(f"error={error} cannot be met with these shares (the errors over "
                             f"100 tokens would need a mean of {mean_top:.0f})")
        width = 2 * (mean_top - 101)
        for i in top:
            errors[i] = round(101 + rng.random() * width)
        excess = sum(errors) - round(error * n)  # rounding: spread whole tokens over the band
        for k in range(abs(excess)):
            errors[top[k % len(top)]] -= 1 if excess > 0 else -1
    predicted = []
    for length, magnitude in zip(oracle, errors):
        up, down = length + magnitude, length - magnitude
        fits_up, fits_down = up <= max_length, down >= 1
        if not (fits_up or fits_down):
            raise ValueError(f"no prediction within 1..{max_length} is {magnitude} tokens from "
                             f"{length}")
        predicted.append(up if fits_up and (rng.random() < 0.5 or not fits_down) else down)
    return predicted


def recorded_workload(num_data: int = PAPER_GROUP_SIZE, vocab_size: int = 32000,
                      max_new_tokens: int = PAPER_MAX_NEW_TOKENS, seed: int = 0,
                      eval_path=DEFAULT_RECORDED_EVAL) -> ReplayWorkload:
    """The first `num_data` prompts of the recorded-lengths test split, in the order of its
    committed evaluation: each answer forced to its recorded length cut at `max_new_tokens`
    (the oracle), each prompt `num_prompt_tokens` seeded random ids, and the recorded head's
    predictions with the seconds they took on this CPU (`ms_per_prompt` of the evaluation)."""
    evaluation, prompt_lengths = read_evaluation(eval_path)
    if not 1 <= num_data <= len(evaluation["ids"]):
        raise ValueError(f"num_data must be between 1 and {len(evaluation['ids'])} (the "
                         f"{evaluation['split']} split), got {num_data}")
    if vocab_size < 4:
        raise ValueError(f"vocab_size must be >= 4, got {vocab_size}")
    source = evaluation["sources"][RECORDED_HEAD_SOURCE]
    lengths = [max(1, min(n, max_new_tokens))
               for n in evaluation["recorded_lengths"][:num_data]]
    requests = [Request(f"recorded-{i}", "", forced_output_tokens=n)
                for i, n in zip(evaluation["ids"], lengths)]
    rng = random.Random(seed)  # ids 0-2 left out: pad, BOS, EOS
    prompts = [[rng.randrange(3, vocab_size) for _ in range(n)]
               for n in prompt_lengths[:num_data]]
    return ReplayWorkload("sharegpt-recorded", requests, prompts, lengths, [],
                          source["predictions"][:num_data],
                          source["ms_per_prompt"] * num_data / 1000)


def replay_workload(name: str, num_data: int, vocab_size: int,
                    prompt_tokens: int = PAPER_PROMPT_TOKENS,
                    max_new_tokens: int = PAPER_MAX_NEW_TOKENS, seed: int = 0) -> ReplayWorkload:
    """The replay `name` (one of REPLAYS): `paper_workload` or `recorded_workload`."""
    if name == "paper-val":
        return paper_workload(num_data, vocab_size, prompt_tokens, standin_seed=seed)
    if name == "sharegpt-recorded":
        return recorded_workload(num_data, vocab_size, max_new_tokens, seed)
    raise ValueError(f"unknown replay {name!r}; choose one of {REPLAYS}")


def paper_workload(num_data: int = PAPER_NUM_DATA, vocab_size: int = 32000,
                   prompt_tokens: int = PAPER_PROMPT_TOKENS, seed: int = PAPER_SEED,
                   standin_seed: int = 0, path=PAPER_VAL_LENGTHS) -> ReplayWorkload:
    """The first `num_data` prompts of the paper's 1,024-prompt sample, ready to replay."""
    records = paper_sample(read_length_file(path), PAPER_NUM_DATA, seed)
    oracle_all = [r.max_length for r in records]
    standin_all = standin_predictions(oracle_all, standin_seed)  # drawn over the whole sample
    if not 1 <= num_data <= len(records):
        raise ValueError(f"num_data must be between 1 and {len(records)}, got {num_data}")
    records = records[:num_data]
    requests = [Request(f"alpaca-val-{r.id}", "", forced_output_tokens=max(1, r.greedy_length))
                for r in records]
    prompts = synthetic_prompts(num_data, prompt_tokens, vocab_size, seed)
    return ReplayWorkload("paper-val", requests, prompts, oracle_all[:num_data],
                          standin_all[:num_data])
