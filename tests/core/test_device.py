"""Tests of seqsch.core.device's dtype policy: "auto" is float32 on every CPU, bf16 is asked for."""

from __future__ import annotations

import warnings

import pytest
import torch

from seqsch.core import device


@pytest.fixture(params=[True, False], ids=["native-bf16", "emulated-bf16"])
def native_bf16(request, monkeypatch) -> bool:
    """Pretend the CPU has (or lacks) native bf16; the once-per-process warning is re-armed."""
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: request.param)
    device.warn_emulated_bf16.cache_clear()
    yield request.param
    device.warn_emulated_bf16.cache_clear()


def test_auto_is_float32_on_every_cpu(native_bf16):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "auto" never warns
        assert device.resolve_dtype("auto", "cpu") is torch.float32
        assert device.resolve_dtype("auto", torch.device("cpu")) is torch.float32


def test_explicit_bf16_is_bf16_and_warns_only_where_emulated(native_bf16):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert device.resolve_dtype("bf16", "cpu") is torch.bfloat16
        assert device.resolve_dtype(torch.bfloat16, "cpu") is torch.bfloat16  # warned once
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if native_bf16:
        assert messages == []
    else:
        assert len(messages) == 1 and "emulates it" in messages[0]
        assert "--dtype float32" in messages[0]


def test_other_explicit_dtypes_pass_through_and_unknown_ones_name_the_choices():
    assert device.resolve_dtype("fp32", "cpu") is torch.float32
    assert device.resolve_dtype("float16", "cpu") is torch.float16
    with pytest.raises(ValueError, match="choose one of auto"):
        device.resolve_dtype("float8", "cpu")
