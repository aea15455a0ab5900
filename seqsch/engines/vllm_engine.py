"""vLLM as a seqsch engine: continuous batching with predicted lengths as request priorities.

vLLM batches continuously (a finished request's slot is refilled at once), so the static-batch
waste that sequence scheduling removes is already gone; what a length prediction still buys is
*order*. With `scheduling_policy="priority"` vLLM admits waiting requests lowest priority value
first, so giving each request the rank of its predicted length serves short answers first and
cuts the mean completion time at the same throughput. Equal priorities fall back to arrival
order, so one engine serves both first-come and priority runs (one start, one compile).

    from seqsch.engines.vllm_engine import VllmEngine
    engine = VllmEngine("smollm2-135m-embedded", dtype="float32", max_num_seqs=16)
    run = engine.generate(requests, DECODING_PRESETS["embedded"])              # first come
    run = engine.generate(requests, config, priorities=predicted_lengths)      # shortest first

Install: `bash scripts/setup_vllm.sh` (its own environment, `.venv-vllm`). On a cluster, pass
`tensor_parallel_size` / `pipeline_parallel_size` (and start Ray across nodes first); the rest of
the code is the same. The engine core runs in this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`)
so notebooks work without a `__main__` guard; scripts that start worker processes still need one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from seqsch.core.decoding import DecodingConfig
from seqsch.core.models import eos_token_ids, resolve_model_path
from seqsch.core.requests import Request, encode_prompts
from seqsch.engines.results import GenerationRun, request_result
from seqsch.scheduling.scheduler import order_for_priority

if TYPE_CHECKING:
    from vllm import SamplingParams

CPU_KV_CACHE_GIB = 4  # 64 requests of 800 tokens of SmolLM2-135M in fp32 take ~2.3 GiB
VLLM_INSTALL = "bash scripts/setup_vllm.sh (a separate environment, .venv-vllm)"


def is_vllm_available() -> bool:
    """Whether `import vllm` works here (a broken install counts as absent)."""
    try:
        import vllm  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken install (torchvision mismatch) counts as absent
        return False
    return True


def priorities_from_lengths(predicted_lengths: Sequence[float]) -> list[int]:
    """Each request's rank in shortest-predicted-first order (0 = served first)."""
    ranks = [0] * len(predicted_lengths)
    for rank, index in enumerate(order_for_priority(predicted_lengths)):
        ranks[index] = rank
    return ranks


class VllmEngine:
    """One vLLM engine (the model loaded and compiled once) that runs seqsch workloads."""

    def __init__(self, model: str = "smollm2-135m-embedded", dtype: str = "auto",
                 max_num_seqs: int = 16, max_model_len: int = 2048, seed: int = 0,
                 compile: bool = True, tensor_parallel_size: int = 1,
                 pipeline_parallel_size: int = 1, trust_remote_code: bool = False,
                 **llm_options) -> None:
        if max_num_seqs < 1 or max_model_len < 2:
            raise ValueError(f"need max_num_seqs >= 1 and max_model_len >= 2, got "
                             f"{max_num_seqs} and {max_model_len}")
        if not is_vllm_available():
            raise ImportError(f"vLLM is not installed here (or fails to import); set it up "
                              f"with {VLLM_INSTALL}")
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        # The penalty is a V1-interface logits processor; vLLM's V2 model runner (the default
        # on CUDA with Triton) accepts only V2 processors.
        os.environ.setdefault("VLLM_USE_V2_MODEL_RUNNER", "0")
        from vllm import LLM

        from seqsch.engines.vllm_penalty import (  # noqa: PLC0415 (it imports vLLM)
            RecentPenaltyProcessor,
        )

        self.model_path = resolve_model_path(model)
        self.dtype, self.max_num_seqs, self.max_model_len = dtype, max_num_seqs, max_model_len
        if not compile:  # eager: starts in seconds instead of ~2 minutes of compilation
            llm_options.setdefault("compilation_config", {"mode": 0})
            llm_options.setdefault("enforce_eager", True)
        if (_is_cpu() and "gpu_memory_utilization" not in llm_options
                and "VLLM_CPU_KVCACHE_SPACE" not in os.environ):
            # On CPU vLLM reserves a share of the NUMA node's memory and refuses to start when
            # slightly less is free; a fixed KV cache size skips that check. Larger models or
            # contexts: pass kv_cache_memory_bytes, or set VLLM_CPU_KVCACHE_SPACE (GiB).
            llm_options.setdefault("kv_cache_memory_bytes", CPU_KV_CACHE_GIB << 30)
        start_s = time.perf_counter()
        self.llm = LLM(
            model=self.model_path, dtype=dtype, max_num_seqs=max_num_seqs,
            max_model_len=max_model_len, seed=seed, scheduling_policy="priority",
            tensor_parallel_size=tensor_parallel_size,
            pipeline_parallel_size=pipeline_parallel_size, trust_remote_code=trust_remote_code,
            logits_processors=[RecentPenaltyProcessor], **llm_options,
        )
        self.start_s = time.perf_counter() - start_s
        self.tokenizer = self.llm.get_tokenizer()
        self.stop_ids = eos_token_ids(self.model_path, self.tokenizer)
        self.num_runs = 0  # request ids stay unique across runs on one engine

    def sampling_params(self, config: DecodingConfig, index: int = 0,
                        forced_output_tokens: int | None = None) -> SamplingParams:
        """vLLM's sampling settings for a request: when sampling, seeded with `config.seed +
        index` (each request of a run has its own random stream). A forced length (trace
        replay) ignores EOS and stops after exactly that many tokens (`ignore_eos`, its own
        `max_tokens`), as vLLM's serving benchmarks replay recorded lengths."""
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        from seqsch.engines.vllm_penalty import penalty_args  # noqa: PLC0415 (it imports vLLM)

        sampling = {"temperature": 0.0} if config.is_greedy else {
            "temperature": config.temperature, "top_p": config.top_p, "seed": config.seed + index}
        if forced_output_tokens is not None:
            return SamplingParams(
                max_tokens=min(forced_output_tokens, config.max_new_tokens), ignore_eos=True,
                output_kind=RequestOutputKind.FINAL_ONLY, **sampling)
        return SamplingParams(
            max_tokens=config.max_new_tokens, stop_token_ids=self.stop_ids,
            output_kind=RequestOutputKind.FINAL_ONLY,  # one output per request, when it ends
            extra_args=penalty_args(config.repetition_penalty, config.penalty_window,
                                    self.stop_ids), **sampling,
        )

    def generate(self, requests: Sequence[Request], config: DecodingConfig | None = None,
                 priorities: Sequence[float] | None = None,
                 prompts: Sequence[Sequence[int]] | None = None,
                 quiet: bool = False,
                 configs: Sequence[DecodingConfig] | None = None) -> GenerationRun:
        """Answer `requests`; results in input order. `priorities` (e.g. predicted lengths)
        become ranks, shortest first; None is first come, first served. `completion_s` is when
        each answer was complete, from the start of the run, and `completion_step` after how
        many engine steps (the same for the same order, however busy the machine). `configs`
        gives each request its own decoding, seed included (e.g. one temperature and seed per
        request), overriding `config`; with one `config`, request i samples with seed
        `config.seed + i`."""

        config = config or DecodingConfig()
        if not requests:
            raise ValueError("no requests given: pass at least one Request")
        if priorities is not None and len(priorities) != len(requests):
            raise ValueError(f"{len(priorities)} priorities for {len(requests)} requests")
        if configs is not None and len(configs) != len(requests):
            raise ValueError(f"{len(configs)} decoding configs for {len(requests)} requests")
        seed_offsets = [0] * len(requests) if configs is not None else range(len(requests))
        configs = list(configs) if configs is not None else [config] * len(requests)
        prompts = prompts if prompts is not None else encode_prompts(self.tokenizer, requests)
        longest = max(len(p) + c.max_new_tokens for p, c in zip(prompts, configs))
        if longest > self.max_model_len:
            raise ValueError(f"the longest prompt plus max_new_tokens is {longest} tokens, over "
                             f"max_model_len={self.max_model_len}: start the engine with a "
                             f"larger max_model_len or filter long prompts")
        ranks = priorities_from_lengths(priorities) if priorities is not None else None
        engine = self.llm.llm_engine
        if engine.has_unfinished_requests():
            raise RuntimeError("the engine still holds requests from another caller")
        # Each run starts cold: prompt blocks cached by an earlier run would favour later runs.
        self.llm.reset_prefix_cache()
        self.num_runs += 1
        index_of = {f"seqsch-{self.num_runs}-{i}": i for i in range(len(prompts))}
        outputs, completion_s, completion_step, num_steps = {}, {}, {}, 0
        start_s = time.perf_counter()
        try:
            for request_id, index in index_of.items():  # equal priorities: served in order
                params = self.sampling_params(configs[index], seed_offsets[index],
                                              requests[index].forced_output_tokens)
                engine.add_request(request_id, {"prompt_token_ids": list(prompts[index])},
                                   params, priority=ranks[index] if ranks else 0)
            with tqdm(total=len(prompts), desc="requests (vllm)", disable=quiet) as bar:
                while engine.has_unfinished_requests():
                    step_outputs = engine.step()
                    num_steps += 1
                    for output in step_outputs:
                        if output.finished:
                            index = index_of[output.request_id]
                            outputs[index] = output.outputs[0]
                            completion_s[index] = time.perf_counter() - start_s
                            completion_step[index] = num_steps
                            bar.update(1)
        except BaseException:  # interrupted: leave the engine empty for the next run
            if engine.has_unfinished_requests():
                engine.abort_request([rid for rid, i in index_of.items() if i not in outputs])
            raise
        wall_s = time.perf_counter() - start_s

        results = []
        for index, request in enumerate(requests):
            output = outputs[index]
            results.append(request_result(
                request, output.token_ids,
                output.finish_reason == "stop",  # a stop id or the tokenizer's EOS
                configs[index].max_new_tokens, len(prompts[index]),
                lambda ids, text=output.text: text,  # vLLM has decoded them
                completion_s=completion_s[index], completion_step=completion_step[index]))
        extra = {"priorities": ranks, "max_num_seqs": self.max_num_seqs, "num_steps": num_steps,
                 "temperatures": sorted({c.temperature for c in configs}),
                 "engine_start_s": round(self.start_s, 1),
                 "model_path": Path(self.model_path).name}
        return GenerationRun(results=results, batches=[], wall_s=wall_s, engine="vllm",
                             device=self.run_device(), dtype=self.llm_dtype(),
                             decoding=configs[0].to_dict(), extra=extra)

    def run_device(self) -> str:
        """"cpu" or "cuda": where vLLM runs the model."""
        return "cpu" if _is_cpu() else "cuda"

    def llm_dtype(self) -> str:
        """The dtype vLLM resolved for the weights, e.g. "float32"."""
        return str(self.llm.llm_engine.model_config.dtype).replace("torch.", "")


def _is_cpu() -> bool:
    from vllm.platforms import current_platform

    return current_platform.is_cpu()
