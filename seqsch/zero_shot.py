"""Zero-shot Perception in Advance: ask the model itself how long its answer will be.

Runs the paper's two prompts on each request (the PiA prompt: the length on the first line,
then the answer; the query prompt: one number only), parses the numbers, and generates the plain
answer to measure the actual length. A small model mostly ignores these prompts; the counts of
answers without any number say how much.

    from seqsch.zero_shot import pia_experiment
    rows = pia_experiment(model, tokenizer, requests, decoding)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from seqsch.data import Request
from seqsch.decoding import DecodingConfig
from seqsch.generate import generate
from seqsch.pia import make_pia_prompt, make_query_prompt, parse_length


@dataclass
class PiaRow:
    id: str
    actual_length: int  # tokens of the plain answer (EOS included)
    is_capped: bool  # the plain answer hit the cap
    pia_first_line: str
    pia_prediction: int | None
    query_answer: str
    query_prediction: int | None


def pia_experiment(
    model, tokenizer, requests: Sequence[Request], decoding: DecodingConfig,
    batch_size: int = 16, max_query_tokens: int = 16, quiet: bool = True,
) -> list[PiaRow]:
    """Plain answers, PiA answers and query answers for `requests`, one row per request."""
    plain = generate(model, tokenizer, requests, decoding, batch_size, quiet=quiet)
    pia_requests = [replace(r, prompt=make_pia_prompt(r.prompt)) for r in requests]
    pia = generate(model, tokenizer, pia_requests, decoding.with_(max_new_tokens=32),
                   batch_size, quiet=quiet)
    query_requests = [replace(r, prompt=make_query_prompt(r.prompt)) for r in requests]
    query = generate(model, tokenizer, query_requests,
                     decoding.with_(max_new_tokens=max_query_tokens), batch_size, quiet=quiet)
    rows = []
    for request, a, p, q in zip(requests, plain.results, pia.results, query.results):
        first_line = next((line for line in p.text.splitlines() if line.strip()), "")
        rows.append(PiaRow(request.id, a.num_output_tokens, a.is_capped, first_line,
                           parse_length(first_line), q.text.strip(), parse_length(q.text)))
    return rows
