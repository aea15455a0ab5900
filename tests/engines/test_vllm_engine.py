"""The vLLM engine: HF's greedy tokens, and priorities that serve short answers first.

Skipped where vLLM is absent; run them with `bash scripts/setup_vllm.sh` and then
`make vllm-test`."""

from dataclasses import replace

import pytest
import torch

from seqsch.bench.lengths import collect_chunk, collect_chunk_vllm
from seqsch.bench.specs import RunSpec, order_specs
from seqsch.core.decoding import DECODING_PRESETS
from seqsch.core.models import load_model
from seqsch.core.workloads import sharegpt_workload
from seqsch.engines.static import generate
from seqsch.engines.vllm_engine import VllmEngine, is_vllm_available, priorities_from_lengths

needs_vllm = pytest.mark.skipif(not is_vllm_available(), reason="vLLM is not installed "
                                "(bash scripts/setup_vllm.sh)")


def test_priorities_are_ranks_shortest_first():
    assert priorities_from_lengths([300, 20, 150, 20]) == [3, 0, 2, 1]


def test_vllm_spec_takes_only_length_sources_it_can_order_by():
    assert RunSpec.parse("vllm+rank-head").name == "vllm+rank-head"
    with pytest.raises(ValueError, match="static batches"):
        RunSpec.parse("vllm+oracle+fcr")
    with pytest.raises(ValueError, match="priorities"):
        RunSpec.parse("vllm+po")


def test_each_engines_first_come_run_goes_first():
    specs = [RunSpec.parse(t) for t in ("vllm+oracle", "oracle+vbs+fcr", "continuous+oracle",
                                        "vllm", "continuous", "vanilla", "length-head+vbs+fcr")]
    assert [s.name for s in order_specs(specs)] == [
        "vanilla", "oracle+vbs+fcr", "length-head+vbs+fcr", "continuous", "continuous+oracle",
        "vllm", "vllm+oracle"]


@pytest.fixture(scope="module")
def engine():
    return VllmEngine(dtype="float32", max_num_seqs=4, max_model_len=1024, compile=False)


@pytest.fixture(scope="module")
def workload(engine):
    return sharegpt_workload(engine.tokenizer, 8, seed=0)


@needs_vllm
def test_penalty_is_requested_only_when_it_does_something():
    from vllm import SamplingParams

    from seqsch.engines.vllm_penalty import (  # noqa: PLC0415 (it imports vLLM)
        EXTRA_ARGS_KEY,
        RecentPenaltyProcessor,
        penalty_args,
    )

    args = penalty_args(1.2, 64, [2])
    assert args[EXTRA_ARGS_KEY] == {"penalty": 1.2, "window": 64, "spare_token_ids": [2]}
    processor = RecentPenaltyProcessor.__new__(RecentPenaltyProcessor)  # no engine needed
    assert processor.new_req_logits_processor(SamplingParams(extra_args=penalty_args(1.0, 64,
                                                                                     [2]))) is None
    penalise = processor.new_req_logits_processor(SamplingParams(extra_args=args))
    logits = torch.tensor([1.2, 2.4, -1.0, 3.0])
    out = penalise([1, 2, 2], logits.clone())  # token 2 is the spared stop id
    assert out.tolist() == pytest.approx([1.2, 2.0, -1.0, 3.0])


@needs_vllm
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["greedy", "embedded"])
def test_vllm_gives_the_static_generators_greedy_tokens(engine, workload, preset):
    model, tokenizer = load_model(dtype="float32")  # the engine's dtype, whatever the CPU has
    config = DECODING_PRESETS[preset].with_(max_new_tokens=48)
    ours = generate(model, tokenizer, workload, config, batch_size=8, quiet=True)
    theirs = engine.generate(workload, config, quiet=True)
    assert [r.id for r in theirs.results] == [r.id for r in workload]  # input order
    assert [r.token_ids for r in theirs.results] == [r.token_ids for r in ours.results]


@needs_vllm
@pytest.mark.slow
def test_priorities_serve_the_shortest_first(engine, workload):
    config = DECODING_PRESETS["embedded"].with_(max_new_tokens=64)
    first_come = engine.generate(workload, config, quiet=True)
    lengths = [r.num_output_tokens for r in first_come.results]
    shortest_first = engine.generate(workload, config, priorities=lengths, quiet=True)
    reverse = [max(lengths) - n for n in lengths]
    longest_first = engine.generate(workload, config, priorities=reverse, quiet=True)
    assert [r.num_output_tokens for r in shortest_first.results] == lengths
    shortest = min(range(len(lengths)), key=lengths.__getitem__)
    done_s = [r.completion_s for r in shortest_first.results]
    if lengths.count(lengths[shortest]) == 1:  # a tie would end in the same step, either order
        assert done_s[shortest] == min(done_s)
    assert done_s[shortest] < longest_first.results[shortest].completion_s
    # (Mean completion times in seconds of 8 mostly capped requests differ by noise only; on the
    # engine's step clock the orders compare exactly.)
    steps = {name: run.summary()["mean_completion_steps"] for name, run in
             [("first come", first_come), ("shortest", shortest_first),
              ("longest", longest_first)]}
    assert steps["shortest"] <= steps["first come"] and steps["shortest"] < steps["longest"]
    done_steps = [r.completion_step for r in shortest_first.results]
    assert max(done_steps) == shortest_first.extra["num_steps"]
    if lengths.count(lengths[shortest]) == 1:
        assert done_steps[shortest] == min(done_steps)
    again = engine.generate(workload, config, priorities=lengths, quiet=True)  # the same order:
    assert [r.completion_step for r in again.results] == done_steps  # the same steps


@needs_vllm
@pytest.mark.slow
def test_vllm_length_collection_matches_the_static_collector_when_greedy(engine, workload):
    config = DECODING_PRESETS["embedded"].with_(max_new_tokens=40)
    requests = workload[:4]
    model, tokenizer = load_model(dtype="float32")
    ours = collect_chunk_vllm(engine, tokenizer, requests, config, (0.0, 0.7), seed=3, quiet=True)
    again = collect_chunk_vllm(engine, tokenizer, requests[::-1], config, (0.7, 0.0), seed=3,
                               quiet=True)
    static = collect_chunk(model, tokenizer, requests, config, (0.0, 0.7), batch_size=4, seed=3)
    assert [r.id for r in ours] == [r.id for r in requests]
    assert [r.lengths[0.0] for r in ours] == [r.lengths[0.0] for r in static]
    for record in ours:
        assert set(record.lengths) == {0.0, 0.7}
        assert record.is_capped[0.7] == (record.lengths[0.7] == 40)
    seeds = [r.seeds[0.7] for r in ours]
    assert len(set(seeds)) == len(seeds)  # each sampled answer has its own seed
    assert all(3000 <= s < 4000 for s in seeds)  # inside chunk seed 3's stride
    # Greedy answers do not depend on batching or order.
    assert {r.id: r.lengths[0.0] for r in again} == {r.id: r.lengths[0.0] for r in ours}


@needs_vllm
@pytest.mark.slow
def test_vllm_replays_forced_lengths_exactly(engine, workload):
    forced = [3, 40, 1, 17, 60, 8, 25, 64]  # 64: the cap, censored as a natural answer would be
    requests = [replace(r, forced_output_tokens=n) for r, n in zip(workload, forced)]
    config = DECODING_PRESETS["embedded"].with_(max_new_tokens=64)
    run = engine.generate(requests, config, quiet=True)
    assert [r.num_output_tokens for r in run.results] == forced  # EOS ignored until then
    assert [r.is_finished for r in run.results] == [n < 64 for n in forced]
    assert all(r.text == "" and r.token_ids == [] for r in run.results)  # never an answer
