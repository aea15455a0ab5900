"""Run a model on ShareGPT prompts with one engine and print the paper's metrics.

    python -m seqsch.engines --num-data 32 --batch-size 16 --max-new-tokens 128
    python -m seqsch.engines --num-data 32 --compare-hf          # beside model.generate
    python -m seqsch.engines --num-data 32 --engine continuous   # transformers' continuous batching

The last line is a JSON summary.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from seqsch.core.cli import parse_args, positive_int, run
from seqsch.core.decoding import DECODING_PRESETS
from seqsch.core.models import DEFAULT, load_model
from seqsch.core.requests import encode_prompts
from seqsch.core.workloads import sharegpt_workload
from seqsch.engines.continuous import generate_continuous
from seqsch.engines.reference import compare_with_hf
from seqsch.engines.static import generate


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Run a model on ShareGPT prompts and print "
                                     "the paper's metrics; the last line is a JSON summary.")
    parser.add_argument("--model", default=DEFAULT)
    parser.add_argument("--num-data", type=positive_int, default=32)
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--max-new-tokens", type=positive_int, default=128)
    parser.add_argument("--max-prompt-tokens", type=positive_int, default=256)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--decoding", choices=sorted(DECODING_PRESETS), default="embedded")
    parser.add_argument("--engine", choices=["static", "continuous"], default="static")
    parser.add_argument("--compare-hf", action="store_true",
                        help="also run model.generate on the same batches, alternating with "
                        "the seqsch generator batch by batch; report the speed ratio and the "
                        "share of requests with identical tokens")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--quiet", action="store_true")
    args = parse_args(parser, argv)

    model, tokenizer = load_model(args.model, device=args.device, dtype=args.dtype)
    requests = sharegpt_workload(tokenizer, args.num_data, args.seed, args.max_prompt_tokens)
    config = DECODING_PRESETS[args.decoding].with_(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
        seed=args.seed,
    )
    prompts = encode_prompts(tokenizer, requests)
    # Warm-up (excluded from timing): one short batch.
    generate(model, tokenizer, requests[:2], config.with_(max_new_tokens=4), quiet=True,
             prompts=prompts[:2])
    comparison = {}
    if args.engine == "continuous":
        run = generate_continuous(model, tokenizer, requests, config, prompts=prompts,
                                  max_requests=args.batch_size, quiet=args.quiet)
    elif args.compare_hf:
        comparison, run = compare_with_hf(model, tokenizer, requests, config, args.batch_size,
                                          prompts, quiet=args.quiet)
    else:
        run = generate(model, tokenizer, requests, config, args.batch_size, quiet=args.quiet,
                       prompts=prompts)
    summary = {"engine": run.engine, "device": run.device, "dtype": run.dtype, **run.summary()}
    if args.compare_hf and not comparison:
        comparison, _ = compare_with_hf(model, tokenizer, requests, config, args.batch_size,
                                        prompts, quiet=args.quiet)
    summary.update({k: round(v, 4) for k, v in comparison.items()})
    for key, value in summary.items():
        print(f"{key:>24}: {value}")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    run(main)
