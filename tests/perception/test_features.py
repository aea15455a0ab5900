"""Prompt features at a depth: the truncated prefill reads the same states as a full one."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_llama

from seqsch.core.requests import encode_prompts
from seqsch.engines.static import left_pad, positions_from_mask
from seqsch.perception.features import extract_features, extract_features_by_depth, shared_prefix


@pytest.fixture(scope="module")
def four_layers(tokenizer):
    return tiny_llama(tokenizer, num_hidden_layers=4, hidden_size=32, seed=1), tokenizer


def test_last_layer_features_are_the_models_last_hidden_state(four_layers, short_requests):
    model, tokenizer = four_layers
    features = extract_features(model, tokenizer, short_requests, batch_size=3, quiet=True)
    prompts = encode_prompts(tokenizer, short_requests)
    ids, mask = left_pad(prompts, tokenizer.pad_token_id, model.device)
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions_from_mask(mask),
                    output_hidden_states=True, use_cache=False)
    last = out.hidden_states[-1][:, -1]  # HF's last hidden state is after the final norm
    assert torch.allclose(features["last"], last, atol=1e-4)


def test_a_shallow_probe_skips_the_deeper_layers(four_layers, short_requests):
    model, tokenizer = four_layers
    by_depth = extract_features_by_depth(model, tokenizer, short_requests, [0, 2, 4],
                                         batch_size=8, quiet=True)
    calls = []
    hooks = [layer.register_forward_hook(lambda *_, i=i: calls.append(i))
             for i, layer in enumerate(model.model.layers)]
    try:
        shallow = extract_features(model, tokenizer, short_requests, batch_size=8, quiet=True,
                                   num_layers=2)
    finally:
        for hook in hooks:
            hook.remove()
    assert calls == [0, 1, 0, 1]  # the shared prefix, then the batch: 3 and 4 never ran
    for key in ("mean", "last"):
        assert torch.allclose(shallow[key], by_depth[2][key], atol=1e-5)
        assert not torch.allclose(by_depth[0][key], by_depth[4][key], atol=1e-3)
    with pytest.raises(ValueError, match="outside 0..4"):
        extract_features(model, tokenizer, short_requests, quiet=True, num_layers=5)


def test_the_shared_prefix_is_prefilled_once_and_changes_nothing(four_layers, short_requests):
    model, tokenizer = four_layers
    prompts = encode_prompts(tokenizer, short_requests)
    prefix = shared_prefix(tokenizer, prompts)
    assert len(prefix) > 10 and all(p[: len(prefix)] == prefix for p in prompts)
    assert shared_prefix(tokenizer, [prefix + [7]]) == prefix  # a prompt keeps a token of its own
    seen = []
    hook = model.model.layers[0].register_forward_hook(lambda _m, args, _o: seen.append(
        args[0].shape[:2]))
    try:
        reused = extract_features_by_depth(model, tokenizer, short_requests, [0, 2, 4],
                                           batch_size=3, quiet=True)
    finally:
        hook.remove()
    # one pass over the prefix alone, then batches of 3, 3 and 2 rows without it
    assert seen[0] == (1, len(prefix)) and [rows for rows, _ in seen[1:]] == [3, 3, 2]
    assert max(width for _, width in seen[1:]) == max(len(p) for p in prompts) - len(prefix)
    plain = extract_features_by_depth(model, tokenizer, short_requests, [0, 2, 4],
                                      batch_size=3, quiet=True, reuse_prefix=False)
    for depth in (0, 2, 4):
        for key in ("mean", "last"):
            assert torch.allclose(reused[depth][key], plain[depth][key], atol=1e-4)
