"""Step-cost curves of several models measured on this machine, beside the A100 models of
Vicuna-7B: notebook 07's section 5, why a CPU and an A100 gain differently from VBS.

`step_models` picks the models (the live replay's model, and on a CPU also the committed
replay's 30-layer shape); `measure_model_curves` times one decoding step of each at several
batch sizes (`seqsch.bench.calibration.step_cost_curve`, short prompts: cheap prefills), each on
the threads its replay ran on; `step_table_lines` prints them beside the A100 models, and
`growth_title` and `growth_lines` say how much a step of the most rows costs over a 16-row one.

    measured = measure_model_curves(["random:tiny"], [1, 4, 16, 64])
    print("\\n".join(step_table_lines(measured, [1, 4, 16, 64], a100, calibrated)))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seqsch.bench.calibration import step_cost_curve
from seqsch.bench.live_slice import torch_threads
from seqsch.bench.replay import synthetic_prompts
from seqsch.core.models import load_model
from seqsch.scheduling.cost_model import CostModel

COMMITTED_SHAPE = "random:smollm2-135m"  # the committed CPU replay's model
PROMPT_TOKENS = 16  # the timed steps' prompts: short, so that prefills stay cheap
GPU_CONTEXT = 128  # tokens in the KV cache at which the A100 models price a step


def step_models(choices: Sequence[str], replay_model: str, has_gpu: bool) -> list[str]:
    """The models to time: `choices` without "auto"; if none is left, the replay's model and,
    on a CPU, the committed replay's shape too (its curve explains that replay's ratios)."""
    chosen = [m for m in choices if m != "auto"]
    if chosen:
        return chosen
    extra = [] if has_gpu or replay_model == COMMITTED_SHAPE else [COMMITTED_SHAPE]
    return [replay_model, *extra]


def measure_model_curves(names: Sequence[str], rows: Sequence[int], device: str = "auto",
                         dtype: str = "auto", num_threads: Mapping[str, int] | None = None,
                         ) -> dict[str, dict[int, float]]:
    """{model: {rows: median seconds of one decoding step}}; each model is loaded in turn (and
    dropped), on `num_threads[model]` CPU threads where given (the threads its replay ran on),
    else torch's setting."""
    curves = {}
    for name in names:
        with torch_threads((num_threads or {}).get(name)):
            model, tokenizer = load_model(name, device=device, dtype=dtype)
            prompts = synthetic_prompts(max(rows), PROMPT_TOKENS, len(tokenizer))
            curves[name] = step_cost_curve(model, prompts, rows)
            del model
    return curves


def priced_curves(models: Mapping[str, CostModel], rows: Sequence[int],
                  context: int = GPU_CONTEXT) -> dict[str, dict[int, float]]:
    """{label: {rows: seconds of one step}} of cost models at `context` tokens."""
    return {label: {n: m.step_s(n, context) for n in rows} for label, m in models.items()}


def step_table_lines(measured: Mapping[str, Mapping[int, float]], rows: Sequence[int],
                     a100: CostModel, calibrated: CostModel,
                     context: int = GPU_CONTEXT) -> list[str]:
    """One line per batch size: each measured model's step in ms, then the analytic A100's and
    the one calibrated on the paper's vanilla row."""
    return [f"{n:>4} rows: " + ", ".join(f"{1000 * curve[n]:.1f} ms ({name})"
                                        for name, curve in measured.items())
            + f" per step here; A100 model {1000 * a100.step_s(n, context):.1f} ms, calibrated "
              f"{1000 * calibrated.step_s(n, context):.1f} ms" for n in rows]


def growth_rows(measured: Mapping[int, float], rows: Sequence[int]) -> tuple[int, int]:
    """(base, top): the 16-row step (else the fewest rows measured) and the most rows."""
    return (16 if 16 in measured else min(measured)), max(rows)


def model_growth(model: CostModel, base: int, top: int, context: int = GPU_CONTEXT) -> float:
    """A cost model's step of `top` rows over one of `base` rows."""
    return model.step_s(top, context) / model.step_s(base, context)


def growth_title(growth: Mapping[str, float], base: int, top: int, device_label: str,
                 a100: CostModel, calibrated: CostModel, fitted: CostModel) -> str:
    """The step-cost chart's title: each measured model's growth from `base` to `top` rows,
    then the three A100 models'."""
    return (f"{top} rows over {base}: " + ", ".join(f"{g:.1f}x on {name}"
                                                    for name, g in growth.items())
            + f" ({device_label}, measured);\nA100 models: "
              f"{model_growth(a100, base, top):.1f}x analytic, "
              f"{model_growth(calibrated, base, top):.1f}x calibrated on vanilla, "
              f"{model_growth(fitted, base, top):.1f}x fitted to the paper's two rows")


def growth_lines(growth: Mapping[str, float], base: int, top: int, device_label: str,
                 a100: CostModel, fitted: CostModel) -> list[str]:
    """The takeaway: per measured model, its growth beside the analytic and fitted A100's."""
    return [f"On {name}, a step of {top} rows costs {g:.1f}x a {base}-row step here "
            f"({device_label}); the analytic A100 model {model_growth(a100, base, top):.1f}x, "
            f"the A100 fitted to the paper's rows {model_growth(fitted, base, top):.1f}x: the "
            "steeper a step grows with its rows, the less VBS's big batches gain."
            for name, g in growth.items()]
