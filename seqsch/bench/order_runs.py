"""Orders of one live slice, run back to back on one loaded model: first come, the oracle's
order, a predictor's order.

`seqsch.bench.runner.run_sweep` measures specs for the record (resumable JSONL, calibration,
rounds). A notebook's live slice needs less and something else: the model loaded once and warmed
up, the runs themselves (to draw their completion times), each labelled by what orders it, and
the oracle's lengths taken from the first-come run of the same engine (greedy answers are
deterministic, so first come's lengths are the oracle's). `live_orders` prepares the slice,
`run_orders` runs a list of specs on it, first come first:

    live = live_orders(SweepConfig(specs=("continuous", "continuous+oracle"), num_data=6,
                                   batch_size=2, data="sharegpt", quiet=True))
    runs, predicted = run_orders(live, live.config.specs)
    runs["oracle order"].summary()["mean_completion_s"]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seqsch.bench.runner import run_spec
from seqsch.bench.specs import RunSpec, SweepConfig
from seqsch.bench.workload import load_workload
from seqsch.core.decoding import DECODING_PRESETS, DecodingConfig
from seqsch.core.models import load_model
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.warm_up import warm_up_engines

# what orders a run, by its spec's source
ORDER_RUN_LABELS = {"vanilla": "first come", "oracle": "oracle order", "rank-head": "head order",
                    "length-head": "head order", "lora": "LoRA order"}


@dataclass
class LiveOrders:
    """A live slice ready to run: its settings, the loaded model, the requests and their encoded
    prompts, and the decoding every order shares."""

    config: SweepConfig
    model: Any
    tokenizer: Any
    requests: list[Request]
    prompts: list
    decoding: DecodingConfig


def live_orders(config: SweepConfig) -> LiveOrders:
    """Load `config`'s model and workload, encode the prompts, and warm up the static and the
    continuous engine on two requests (the first pass of each path pays its set-up, which no
    order should be charged for)."""
    model, tokenizer = load_model(config.model, device=config.device, dtype=config.dtype)
    requests, _ = load_workload(config, tokenizer)
    prompts = encode_prompts(tokenizer, requests)
    decoding = DECODING_PRESETS[config.decoding].with_(max_new_tokens=config.max_new_tokens,
                                                       seed=config.seed)
    warm_up_engines(model, tokenizer, requests, prompts, decoding, num_slots=config.batch_size)
    return LiveOrders(config, model, tokenizer, requests, prompts, decoding)


def run_orders(live: LiveOrders, spec_names: Sequence[str],
               labels: Mapping[str, str] = ORDER_RUN_LABELS) -> tuple[dict, dict]:
    """Run each spec in turn on the slice: ({label: run}, {label: its predicted lengths}),
    labelled by `labels[spec.source]`. A first-come run (source "vanilla") gives its answers'
    lengths to the specs after it as the oracle's, so it must come first; a ValueError when
    two specs share a label (one run would hide the other)."""
    specs = [RunSpec.parse(name) for name in spec_names]
    named = [labels[spec.source] for spec in specs]
    if len(set(named)) != len(named):
        raise ValueError(f"two specs share a label: {dict(zip(spec_names, named))}")
    runs, predicted, oracle_lengths = {}, {}, {}
    for spec, label in zip(specs, named):
        run, predicted[label] = run_spec(spec, live.model, live.tokenizer, live.requests,
                                         live.prompts, live.decoding, oracle_lengths, live.config)
        if spec.source == "vanilla":  # same prompts, decoding and engine: the oracle
            oracle_lengths = {r.id: r.num_output_tokens for r in run.results}
        runs[label] = run
    return runs, predicted
