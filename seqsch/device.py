"""Device and dtype choices, in one place.

Every model load, generator and benchmark asks this module which device and dtype to use, so a
CPU laptop, this 2-core machine and a CUDA server run the same code. Usage::

    from seqsch.device import resolve_device, resolve_dtype, synchronize
    device = resolve_device("auto")          # "cuda" when present, else "cpu"
    dtype = resolve_dtype("auto", device)    # bf16/fp16 on CUDA; bf16 on CPUs with native bf16
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import torch

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
    """`"auto"`: bf16 on CUDA with bf16 support (else fp16); on CPU bf16 where the CPU has native
    bf16, else fp32. Answer lengths differ slightly between dtypes, so results record the dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype != "auto":
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose one of auto, {', '.join(DTYPES)}")
        return DTYPES[dtype]
    device = resolve_device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


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
