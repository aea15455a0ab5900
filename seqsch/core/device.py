"""Device and dtype choices, in one place.

Every model load, generator and benchmark asks this module which device and dtype to use, so a
CPU laptop, this 2-core machine and a CUDA server run the same code. Usage::

    from seqsch.core.device import resolve_device, resolve_dtype, synchronize
    device = resolve_device("auto")          # "cuda" when present, else "cpu"
    dtype = resolve_dtype("auto", device)    # bf16/fp16 on CUDA; float32 on every CPU

One dtype policy: `"auto"` is float32 on every CPU, because the shipped length files, oracles
and results are float32 and greedy answers (hence lengths) differ between dtypes: a run on a
laptop compares with the shipped data whatever its CPU. bf16 on a CPU is an explicit speed
option (`--dtype bf16`): faster on CPUs that compute it natively (AMX, AVX512-BF16), slower
where it is emulated, which `resolve_dtype` warns about.
"""

from __future__ import annotations

import functools
import platform
import time
import warnings
from pathlib import Path

import torch
import transformers

import seqsch

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`"auto"` picks CUDA when available, else the CPU; anything else is passed to torch."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available; use 'cpu'")
    return torch.device(device)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 natively (AMX or AVX512-BF16), where bf16 decodes faster
    than fp32; elsewhere bf16 is emulated and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in ("amx_bf16", "avx512_bf16"))


def resolve_dtype(
    dtype: str | torch.dtype = "auto", device: str | torch.device = "cpu"
) -> torch.dtype:
    """`"auto"`: bf16 on CUDA with bf16 support (else fp16); float32 on every CPU, the dtype of
    the shipped data (answer lengths differ slightly between dtypes, so results record it).
    An explicit bf16 on a CPU that emulates it warns: it runs slower than float32 there."""
    if dtype == "auto":
        device = resolve_device(device)
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if not isinstance(dtype, torch.dtype):
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose one of auto, {', '.join(DTYPES)}")
        dtype = DTYPES[dtype]
    if dtype is torch.bfloat16 and resolve_device(device).type == "cpu" and not (
            cpu_has_native_bf16()):
        warn_emulated_bf16()
    return dtype


@functools.cache
def warn_emulated_bf16() -> None:
    """Warn, once per process, that bf16 on this CPU is emulated (every model load asks)."""
    warnings.warn(
        "bf16 was asked for on a CPU without native bf16 (no AMX or AVX512-BF16): torch "
        "emulates it, which decodes slower than float32, and its answer lengths differ from "
        "the shipped float32 data. Use --dtype float32 (what 'auto' gives on a CPU).",
        UserWarning, stacklevel=3)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def synchronize(device: str | torch.device) -> None:
    """Wait for queued GPU work so that a timer measures it; a no-op on the CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def now_s(device: str | torch.device) -> float:
    """A timestamp taken after the device has finished its queued work."""
    synchronize(device)
    return time.perf_counter()


def versions() -> dict:
    """Versions of the packages that change numbers, for every saved result."""
    return {"seqsch": seqsch.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version(),
            "machine": platform.machine(), "num_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
