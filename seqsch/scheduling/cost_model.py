"""Time cost of batched generation, for the simulator.

A forward pass over ``rows`` sequences whose key/value cache holds ``context`` tokens costs

    step_s    = step_fixed_s + step_per_row_s * rows + step_per_row_context_s * rows * context
    prefill_s = prefill_fixed_s + prefill_per_token_s * rows * prompt_len

(the linear model a + b*rows + c*rows*context and p0 + p1*rows*prompt_len). Models come
from a least-squares fit of measured timings (`fit_cost_model`), from the analytic
memory-bandwidth model of a GPU (`gpu_cost_model`, presets in `GPU_PRESETS`), or from JSON
files in ``seqsch/scheduling/cost_models/`` (`load_cost_model("cpu-smollm2-135m")`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

COST_MODEL_DIR = Path(__file__).parent / "cost_models"


@dataclass
class CostModel:
    name: str
    device: str
    step_fixed_s: float  # a: per forward pass (weights read, launch overhead)
    step_per_row_s: float  # b: per sequence in the batch
    step_per_row_context_s: float  # c: per cached token attended to, per sequence
    prefill_fixed_s: float  # p0
    prefill_per_token_s: float  # p1: per prompt token of every row
    source: str = ""  # provenance of the numbers

    def step_s(self, num_rows: int, context_len: int) -> float:
        """Seconds of one decode step."""
        return (
            self.step_fixed_s
            + self.step_per_row_s * num_rows
            + self.step_per_row_context_s * num_rows * context_len
        )

    def prefill_s(self, num_rows: int, prompt_len: int) -> float:
        """Seconds of the prefill pass (which also yields the first output token)."""
        return self.prefill_fixed_s + self.prefill_per_token_s * num_rows * prompt_len

    def batch_time_s(self, num_rows: int, num_steps: int, prompt_len: int) -> float:
        """Prefill plus num_steps - 1 decode steps; the context grows by one per step."""
        if num_rows < 1 or num_steps < 1 or prompt_len < 0:
            raise ValueError(
                f"need num_rows >= 1, num_steps >= 1, prompt_len >= 0; got "
                f"{num_rows}, {num_steps}, {prompt_len}"
            )
        num_decode = num_steps - 1
        # sum over k = 1..num_decode of context (prompt_len + k)
        sum_context = num_decode * prompt_len + num_decode * (num_decode + 1) // 2
        return (
            self.prefill_s(num_rows, prompt_len)
            + num_decode * (self.step_fixed_s + self.step_per_row_s * num_rows)
            + self.step_per_row_context_s * num_rows * sum_context
        )

    def save(self, path: str | Path | None = None) -> Path:
        """Write JSON to path, or to seqsch/scheduling/cost_models/NAME.json by default."""
        path = Path(path) if path is not None else COST_MODEL_DIR / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path


def load_cost_model(name_or_path: str | Path) -> CostModel:
    """A JSON file path, a packaged model name (seqsch/scheduling/cost_models/), or a GPU preset."""
    path = Path(name_or_path)
    if not path.is_file():
        path = COST_MODEL_DIR / f"{name_or_path}.json"
    if path.is_file():
        try:
            return CostModel(**json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError) as err:
            raise ValueError(f"{path}: not a cost model JSON ({err})") from err
    if str(name_or_path) in GPU_PRESETS:
        return replace(GPU_PRESETS[str(name_or_path)])
    packaged = sorted(p.stem for p in COST_MODEL_DIR.glob("*.json"))
    raise FileNotFoundError(
        f"no cost model {name_or_path!r}: give a JSON path or one of {packaged + list(GPU_PRESETS)}"
    )


def _least_squares(columns: list[list[float]], targets: list[float]) -> list[float]:
    """Least squares over the columns that add information, taken in order (a column that
    the earlier ones already explain, e.g. a constant row count, gets coefficient 0)."""
    import numpy as np  # noqa: PLC0415 (the scheduling layer loads no numpy at import)

    y = np.asarray(targets, dtype=float)
    used: list[int] = []
    for index in range(len(columns)):
        x = np.asarray([columns[i] for i in used + [index]], dtype=float).T
        if np.linalg.matrix_rank(x) == len(used) + 1:
            used.append(index)
    if not used:
        raise ValueError("cannot fit a cost model: the timings carry no information")
    x = np.asarray([columns[i] for i in used], dtype=float).T
    fitted = np.linalg.lstsq(x, y, rcond=None)[0].tolist()
    coefficients = [0.0] * len(columns)
    for index, value in zip(used, fitted, strict=True):
        coefficients[index] = value
    return coefficients


def fit_cost_model(
    step_records: Sequence[tuple[int, int, float]],
    prefill_records: Sequence[tuple[int, int, float]],
    name: str,
    device: str,
) -> CostModel:
    """Least-squares fit of (num_rows, context_len, step_s) and (num_rows, prompt_len, s).

    Terms the data cannot separate are set to 0: a per-row cost needs timings at several
    batch sizes (see `seqsch.bench.calibration.calibration_records`). Without
    prefill records the prefill is priced like one step with a prompt token per row costing
    as much as a decode row.
    """
    if len(step_records) < 1:
        raise ValueError("fit_cost_model needs at least one step timing")
    rows, contexts, step_s = zip(*step_records, strict=True)
    row_context = [r * n for r, n in zip(rows, contexts, strict=True)]
    a, b, c = _least_squares([[1.0] * len(rows), list(rows), row_context], list(step_s))
    if prefill_records:
        p_rows, prompt_lens, p_s = zip(*prefill_records, strict=True)
        row_prompt = [r * n for r, n in zip(p_rows, prompt_lens, strict=True)]
        p0, p1 = _least_squares([[1.0] * len(p_rows), row_prompt], list(p_s))
    else:
        p0, p1 = a, b
    source = (
        f"least-squares fit of {len(step_records)} step, {len(prefill_records)} prefill timings"
    )
    return CostModel(name, device, a, b, c, p0, p1, source=source)


def fit_mixed_cost_model(step_terms: Sequence[tuple[int, int, int, int, float]], name: str,
                         device: str) -> CostModel:
    """Least-squares fit of every engine step of a continuous batch, mixed steps included:
    (num_decoding, context_sum, num_admitted, prompt_sum, step_s), priced as the serving
    simulator prices a step, `step_s(rows, context)` when rows decode plus
    `prefill_s(admitted, prompt)` when requests are admitted. One fit over all steps, so that
    a step that prefills one request beside 15 decoding rows is not priced as a whole prefill.
    A term fitted below zero is dropped and the rest refitted, so that no step costs < 0 s."""
    if len(step_terms) < 1:
        raise ValueError("fit_mixed_cost_model needs at least one step timing")
    decoding, context_sums, admitted, prompt_sums, step_s = zip(*step_terms, strict=True)
    columns = [[float(n > 0) for n in decoding], list(map(float, decoding)),
               list(map(float, context_sums)), [float(n > 0) for n in admitted],
               list(map(float, prompt_sums))]
    coefficients = _least_squares(columns, list(step_s))
    while min(coefficients) < 0:  # a negative cost is no cost: drop that term and refit
        columns[coefficients.index(min(coefficients))] = [0.0] * len(step_s)
        coefficients = _least_squares(columns, list(step_s))
    a, b, c, p0, p1 = coefficients
    return CostModel(name, device, a, b, c, p0, p1,
                     source=f"least-squares fit of {len(step_terms)} engine steps, mixed "
                            f"prefill and decode steps included")


def gpu_cost_model(
    num_params_b: float,
    bytes_per_param: float,
    bandwidth_gb_s: float,
    kv_bytes_per_token: float,
    peak_tflops: float = 312.0,
    overhead_s: float = 0.002,
    compute_efficiency: float = 0.5,
    name: str = "gpu",
    device: str = "gpu",
) -> CostModel:
    """Analytic model: a decode step reads all weights plus every row's KV cache once.

    Per-row compute (2 FLOPs per parameter per token at ``compute_efficiency`` of peak) is
    added, not overlapped, so large batches are priced conservatively. The prefill reads the
    weights once and is compute-bound per prompt token.
    """
    bytes_per_s = bandwidth_gb_s * 1e9
    weights_s = num_params_b * 1e9 * bytes_per_param / bytes_per_s
    token_flops_s = 2 * num_params_b * 1e9 / (peak_tflops * 1e12 * compute_efficiency)
    return CostModel(
        name=name,
        device=device,
        step_fixed_s=overhead_s + weights_s,
        step_per_row_s=token_flops_s,
        step_per_row_context_s=kv_bytes_per_token / bytes_per_s,
        prefill_fixed_s=overhead_s + weights_s,
        prefill_per_token_s=token_flops_s,
        source=(
            f"analytic: {num_params_b}B params x {bytes_per_param} B at {bandwidth_gb_s} GB/s, "
            f"{kv_bytes_per_token:.0f} KV B/token, {peak_tflops} TFLOPS x {compute_efficiency}, "
            f"{overhead_s * 1e3:.1f} ms overhead/step"
        ),
    )


# Vicuna-7B = Llama-2-7B shape: 6.74B fp16 params, 32 layers, hidden 4096 (K and V, fp16).
_VICUNA7B = dict(num_params_b=6.74, bytes_per_param=2.0, kv_bytes_per_token=2 * 32 * 4096 * 2)
GPU_PRESETS: dict[str, CostModel] = {
    "a100-80gb-vicuna7b": gpu_cost_model(
        **_VICUNA7B,
        bandwidth_gb_s=2039.0,
        peak_tflops=312.0,
        name="a100-80gb-vicuna7b",
        device="NVIDIA A100 80GB SXM",
    ),
    # overhead calibrated so that vanilla batching of the paper's first 1,024 val prompts
    # runs at the paper's 1.39 samples/s: the per-step cost of its Python generate loop
    "a100-80gb-vicuna7b-hf": gpu_cost_model(
        **_VICUNA7B,
        bandwidth_gb_s=2039.0,
        peak_tflops=312.0,
        overhead_s=0.025,
        name="a100-80gb-vicuna7b-hf",
        device="NVIDIA A100 80GB SXM, HF generate loop",
    ),
    "h100-vicuna7b": gpu_cost_model(
        **_VICUNA7B,
        bandwidth_gb_s=3350.0,
        peak_tflops=989.0,
        name="h100-vicuna7b",
        device="NVIDIA H100 SXM",
    ),
}
