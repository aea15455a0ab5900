"""vLLM fed by arriving requests, for the serving benchmark (`seqsch.bench.serving_bench`,
which drives it).

The same measurement as `seqsch.engines.continuous_arrivals.serve_continuous`, on vLLM: the
driver owns vLLM's loop (`LLMEngine.add_request(request_id, prompt, params, priority=rank)` as
each request arrives, then `step()`), so the step clock is exact. The engine is built as
`seqsch.engines.vllm_engine.VllmEngine` builds it, `scheduling_policy="priority"`: waiting
requests are admitted lowest rank first (a first-come run ranks by arrival). vLLM preempts a
running request only when the KV cache runs out, which `VllmEngine`'s fixed cache avoids at
these sizes. Answers are forced to their lengths (`ignore_eos`); tokens are not detokenized.

    engine = vllm_engine_for("random:smollm2-135m", "auto", num_slots=16, max_model_len=1024)
    served = serve_vllm(engine, prompts, lengths, arrivals_s, ranks)

A `random:` shape becomes a folder vLLM can read (its config, the embedded tokenizer, weights
drawn by vLLM: `load_format="dummy"`). vLLM lives in `.venv-vllm` (scripts/setup_vllm.sh);
without it these functions raise ImportError and the tests that need it skip.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoConfig, GenerationConfig
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

from seqsch.core.device import dtype_name, resolve_dtype
from seqsch.core.models import load_tokenizer
from seqsch.core.paths import BUILD_DIR
from seqsch.core.random_weights import RANDOM_PREFIX, is_random_model_name, read_config
from seqsch.engines.continuous_arrivals import ArrivalFeeder, Predictor, ServedRequests
from seqsch.engines.vllm_engine import VllmEngine


def random_model_folder(name: str, root: Path = BUILD_DIR / "vllm-random") -> Path:
    """A folder holding the shape `name` (`random:SHAPE`) as vLLM reads a model: config.json
    with its architecture, a generation config, and the embedded model's tokenizer (prompts
    are token ids and answers are never read, so any tokenizer covering the ids will do)."""
    fields = read_config(name)
    model_type = fields.pop("model_type")
    config = AutoConfig.for_model(model_type, **fields)
    config.architectures = [MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[model_type]]
    folder = root / name.removeprefix(RANDOM_PREFIX).replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    GenerationConfig(eos_token_id=config.eos_token_id,
                     pad_token_id=config.pad_token_id).save_pretrained(folder)
    load_tokenizer().save_pretrained(folder)
    return folder


def vllm_engine_for(model: str, dtype: str, num_slots: int, max_model_len: int, seed: int = 0,
                    compile: bool = False) -> VllmEngine:
    """A `VllmEngine` with `num_slots` sequences; `random:` shapes get vLLM's dummy weights."""
    options = {}
    if is_random_model_name(model):
        model, options["load_format"] = str(random_model_folder(model)), "dummy"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return VllmEngine(model, dtype=dtype_name(resolve_dtype(dtype, device)),
                      max_num_seqs=num_slots, max_model_len=max_model_len, seed=seed,
                      compile=compile, **options)


def serve_vllm(engine: VllmEngine, prompts: Sequence[Sequence[int]],
               output_lengths: Sequence[int], arrivals_s: Sequence[float],
               ranks: Sequence[int], predictor: Predictor = None) -> ServedRequests:
    """Serve `prompts` on vLLM as they arrive (see the module docstring)."""
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    llm_engine = engine.llm.llm_engine
    if llm_engine.has_unfinished_requests():
        raise RuntimeError("the engine still holds requests from another caller")
    engine.llm.reset_prefix_cache()  # each run starts cold
    engine.num_runs += 1
    prefix = f"serve-{engine.num_runs}-"

    def submit(index: int) -> None:
        params = SamplingParams(max_tokens=output_lengths[index], ignore_eos=True,
                                temperature=0.0, detokenize=False,
                                output_kind=RequestOutputKind.DELTA)
        llm_engine.add_request(f"{prefix}{index}", {"prompt_token_ids": list(prompts[index])},
                               params, priority=int(ranks[index]))

    num_requests = len(prompts)
    first_at, finish_at = [0.0] * num_requests, [0.0] * num_requests
    num_tokens, num_finished = [0] * num_requests, 0
    step_starts: list[float] = []
    step_ends: list[float] = []
    feeder = ArrivalFeeder(arrivals_s, predictor, submit)
    try:
        while num_finished < num_requests:
            feeder.feed()
            if not llm_engine.has_unfinished_requests():
                time.sleep(feeder.wait_s())
                continue
            step_starts.append(time.perf_counter())
            step_outputs = llm_engine.step()
            step_ends.append(end := time.perf_counter())
            for output in step_outputs:
                index = int(output.request_id.removeprefix(prefix))
                new = sum(len(o.token_ids) for o in output.outputs)
                if new and not num_tokens[index]:
                    first_at[index] = end
                num_tokens[index] += new
                if output.finished:
                    finish_at[index], num_finished = end, num_finished + 1
    except BaseException:  # interrupted: leave the engine empty for the next run
        if llm_engine.has_unfinished_requests():
            llm_engine.abort_request([f"{prefix}{i}" for i in range(num_requests)])
        raise
    finally:
        feeder.close()
    return feeder.served(first_at, finish_at, num_tokens, step_starts, step_ends)


def vllm_version() -> str | None:
    try:
        import vllm
    except Exception:  # noqa: BLE001 - a broken install counts as absent
        return None
    return vllm.__version__
