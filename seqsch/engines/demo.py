"""The engines' demo: a model answers ShareGPT prompts with one engine; the paper's metrics.

`DemoConfig` holds the demo's settings (the fields are `python -m seqsch.engines`'s options);
`run_demo` runs it and returns the summary (engine, device, dtype, `GenerationRun.summary()`,
and with `compare_hf` the speed ratio and token agreement of `seqsch.engines.reference`):

    run_demo(DemoConfig(num_data=32, batch_size=16, max_new_tokens=128, compare_hf=True))
"""
from __future__ import annotations

from dataclasses import dataclass, field

from seqsch.core.cli import positive_int
from seqsch.core.config_args import arg
from seqsch.core.decoding import DECODING_PRESETS
from seqsch.core.models import DEFAULT, load_model
from seqsch.core.requests import encode_prompts
from seqsch.core.workloads import sharegpt_workload
from seqsch.engines.continuous import generate_continuous
from seqsch.engines.reference import compare_with_hf
from seqsch.engines.static import generate
from seqsch.engines.warm_up import warm_up_engines

DEMO_ENGINES = ("static", "continuous")


@dataclass
class DemoConfig:
    model: str = field(default=DEFAULT, metadata=arg("a model name, folder or random:SHAPE"))
    num_data: int = field(default=32, metadata=arg("ShareGPT prompts", type=positive_int))
    batch_size: int = field(default=16, metadata=arg(
        "rows per static batch; concurrent requests of the continuous engine",
        type=positive_int))
    max_new_tokens: int = field(default=128, metadata=arg("answers' cap", type=positive_int))
    max_prompt_tokens: int = field(default=256, metadata=arg("longest prompt drawn",
                                                             type=positive_int))
    temperature: float = field(default=0.0, metadata=arg("sampling temperature (0: greedy)"))
    top_p: float = field(default=1.0, metadata=arg("nucleus sampling's probability mass"))
    decoding: str = field(default="embedded", metadata=arg("a decoding preset",
                                                           choices=sorted(DECODING_PRESETS)))
    engine: str = field(default="static", metadata=arg(
        "static: the seqsch generator; continuous: transformers' continuous batching",
        choices=DEMO_ENGINES))
    compare_hf: bool = field(default=False, metadata=arg(
        "also run model.generate on the same batches, alternating with the seqsch generator "
        "batch by batch; report the speed ratio and the share of requests with identical "
        "tokens"))
    seed: int = field(default=0, metadata=arg("the prompts' draw and the sampling's seed"))
    device: str = field(default="auto", metadata=arg("auto, cpu, cuda, ..."))
    dtype: str = field(default="auto", metadata=arg("auto, float32, bf16, ..."))
    quiet: bool = field(default=False, metadata=arg("no progress bars"))

    def __post_init__(self) -> None:
        for name in ("num_data", "batch_size", "max_new_tokens", "max_prompt_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.engine not in DEMO_ENGINES:
            raise ValueError(f"engine must be one of {DEMO_ENGINES}, got {self.engine!r}")
        if self.decoding not in DECODING_PRESETS:
            raise ValueError(f"unknown decoding {self.decoding!r}; choose one of "
                             f"{sorted(DECODING_PRESETS)}")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"temperature must be >= 0 and top_p in (0, 1], got "
                             f"{self.temperature}, {self.top_p}")


def run_demo(config: DemoConfig) -> dict:
    """Generate with `config.engine` (after a short warm-up, not timed); the run's summary."""
    model, tokenizer = load_model(config.model, device=config.device, dtype=config.dtype)
    requests = sharegpt_workload(tokenizer, config.num_data, config.seed,
                                 config.max_prompt_tokens)
    decoding = DECODING_PRESETS[config.decoding].with_(
        max_new_tokens=config.max_new_tokens, temperature=config.temperature,
        top_p=config.top_p, seed=config.seed)
    prompts = encode_prompts(tokenizer, requests)
    warm_up_engines(model, tokenizer, requests, prompts, decoding,
                    num_slots=config.batch_size if config.engine == "continuous" else None)
    comparison = {}
    if config.engine == "continuous":
        run = generate_continuous(model, tokenizer, requests, decoding, prompts=prompts,
                                  max_requests=config.batch_size, quiet=config.quiet)
    elif config.compare_hf:
        comparison, run = compare_with_hf(model, tokenizer, requests, decoding,
                                          config.batch_size, prompts, quiet=config.quiet)
    else:
        run = generate(model, tokenizer, requests, decoding, config.batch_size,
                       quiet=config.quiet, prompts=prompts)
    summary = {"engine": run.engine, "device": run.device, "dtype": run.dtype, **run.summary()}
    if config.compare_hf and not comparison:
        comparison, _ = compare_with_hf(model, tokenizer, requests, decoding, config.batch_size,
                                        prompts, quiet=config.quiet)
    summary.update({k: round(v, 4) for k, v in comparison.items()})
    return summary
