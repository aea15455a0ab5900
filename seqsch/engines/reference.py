"""The reference: the same batches through `model.generate`, to check and to time against.

`hf_generate` runs transformers' own generation on the static engine's batches;
`compare_with_hf` alternates the two batch by batch (a noisy machine slows both alike) and
reports the speed ratio and the share of requests whose greedy tokens are identical.

    python -m seqsch.engines --num-data 32 --batch-size 16 --max-new-tokens 128 --compare-hf
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm
from transformers import LogitsProcessorList

from seqsch.core.decoding import DecodingConfig, RecentRepetitionPenalty
from seqsch.core.device import dtype_name, now_s
from seqsch.core.models import eos_token_ids
from seqsch.core.requests import Request
from seqsch.engines.results import GenerationRun
from seqsch.engines.static import fixed_batches, generate, left_pad


@torch.inference_mode()
def hf_generate(
    model, tokenizer, prompts: Sequence[Sequence[int]], config: DecodingConfig,
    batch_size: int, quiet: bool = True,
) -> tuple[list[list[int]], float]:
    """The same batches through `model.generate` (the reference implementation): the tokens of
    each row up to and including EOS, and the wall seconds."""
    stop_ids = eos_token_ids(model, tokenizer)
    outputs, start = [], time.perf_counter()
    for first in tqdm(range(0, len(prompts), batch_size), desc="hf batches", disable=quiet):
        chunk = prompts[first : first + batch_size]
        input_ids, attention_mask = left_pad(chunk, tokenizer.pad_token_id, model.device)
        processors = LogitsProcessorList()
        if config.repetition_penalty != 1.0:
            processors.append(RecentRepetitionPenalty(
                config.repetition_penalty, config.penalty_window, input_ids.shape[1], stop_ids
            ))
        out = model.generate(
            input_ids=input_ids, attention_mask=attention_mask,
            max_new_tokens=config.max_new_tokens, do_sample=not config.is_greedy,
            temperature=config.temperature or None, top_p=config.top_p,
            logits_processor=processors, pad_token_id=tokenizer.pad_token_id,
            eos_token_id=stop_ids,
        )
        for row in out[:, input_ids.shape[1] :].tolist():
            ends = [i for i, t in enumerate(row) if t in stop_ids]
            outputs.append(row[: ends[0] + 1] if ends else row)
    now_s(model.device)
    return outputs, time.perf_counter() - start


def compare_with_hf(
    model, tokenizer, requests: Sequence[Request], config: DecodingConfig, batch_size: int,
    prompts: Sequence[Sequence[int]], quiet: bool = False,
) -> dict:
    """The seqsch generator and `model.generate` on the same batches, alternating batch by
    batch so that a noisy machine slows both alike: wall seconds, tokens/s and the share of
    requests whose tokens are identical."""
    batches = fixed_batches(len(requests), batch_size, config.max_new_tokens)
    wall_s = {"seqsch": 0.0, "hf": 0.0}
    num_tokens = {"seqsch": 0, "hf": 0}
    num_matches, results, batch_results = 0, [None] * len(requests), []
    for batch in tqdm(batches, desc="batches (seqsch, then hf)", disable=quiet):
        indices = list(batch.indices)
        start = now_s(model.device)
        run = generate(model, tokenizer, [requests[i] for i in indices], config,
                       batch_size=len(indices), quiet=True, prompts=[prompts[i] for i in indices])
        for index, result in zip(indices, run.results):
            result.completion_s += wall_s["seqsch"]  # seqsch time only, as if run alone
            results[index] = result
        wall_s["seqsch"] += now_s(model.device) - start
        run.batches[0].indices = indices
        batch_results += run.batches
        hf_tokens, hf_wall_s = hf_generate(model, tokenizer, [prompts[i] for i in indices],
                                           config, len(indices))
        wall_s["hf"] += hf_wall_s
        num_tokens["seqsch"] += sum(r.num_output_tokens for r in run.results)
        num_tokens["hf"] += sum(len(t) for t in hf_tokens)
        num_matches += sum(r.token_ids == t for r, t in zip(run.results, hf_tokens))
    tokens_per_s = {k: num_tokens[k] / wall_s[k] for k in wall_s}
    comparison = {"hf_tokens_per_s": tokens_per_s["hf"],
                  "hf_samples_per_s": len(requests) / wall_s["hf"],
                  "speedup_vs_hf": tokens_per_s["seqsch"] / tokens_per_s["hf"],
                  "greedy_match": num_matches / len(requests)}
    seqsch_run = GenerationRun(results, batch_results, wall_s["seqsch"], "static",
                               str(model.device), dtype_name(model.dtype), config.to_dict())
    return comparison, seqsch_run
