"""Decoding settings: one dataclass, named presets, and the penalty that lets small models stop.

SmolLM2-135M loops on most ShareGPT prompts under plain greedy decoding and never emits its EOS.
A mild repetition penalty over the *recent generated* tokens (not the prompt, and never on EOS)
lets most answers end, which is what gives answer lengths the spread that scheduling exploits.
transformers' own `repetition_penalty` penalises every prompt token too, the chat template's
`<|im_end|>` (this model's EOS) included, so a stronger penalty there stops it from ending at all.

    from seqsch.core.decoding import DecodingConfig, DECODING_PRESETS
    config = DECODING_PRESETS["embedded"]             # the embedded model's defaults
    config = DecodingConfig(max_new_tokens=64)        # plain greedy
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch


@dataclass(frozen=True)
class DecodingConfig:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    repetition_penalty: float = 1.0  # 1 = off; >1 divides the logits of recent tokens
    penalty_window: int = 64  # how many of the latest generated tokens the penalty looks at
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must lie in (0, 1], got {self.top_p}")
        if self.repetition_penalty < 1:
            raise ValueError(f"repetition_penalty must be >= 1, got {self.repetition_penalty}")
        if self.penalty_window < 1:
            raise ValueError(f"penalty_window must be >= 1, got {self.penalty_window}")

    @property
    def is_greedy(self) -> bool:
        return self.temperature == 0

    def with_(self, **changes) -> DecodingConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


DECODING_PRESETS = {
    # Plain greedy decoding, what `model.generate(do_sample=False)` does.
    "greedy": DecodingConfig(),
    # Defaults for the embedded SmolLM2-135M: see the module docstring and data/README.md.
    "embedded": DecodingConfig(repetition_penalty=1.2, penalty_window=64),
}


def apply_repetition_penalty(
    logits: torch.Tensor, recent_tokens: torch.Tensor, penalty: float, spare_token_ids=()
) -> torch.Tensor:
    """Penalise tokens seen in `recent_tokens` ([B, W]) in `logits` ([B, V]), in place.

    Positive logits are divided by `penalty`, negative ones multiplied (as in CTRL and
    transformers), except the ids in `spare_token_ids` (EOS), which keep their logits."""
    if penalty == 1.0 or recent_tokens.shape[1] == 0:
        return logits
    seen = torch.gather(logits, 1, recent_tokens)
    seen = torch.where(seen < 0, seen * penalty, seen / penalty)
    spared = {int(i): logits[:, int(i)].clone() for i in spare_token_ids}
    logits.scatter_(1, recent_tokens, seen)
    for token_id, values in spared.items():
        logits[:, token_id] = values
    return logits


class RecentRepetitionPenalty:
    """The same penalty as a transformers logits processor, so `model.generate` can be given the
    exact decoding the seqsch generator uses (for equivalence checks)."""

    def __init__(self, penalty: float, window: int, prompt_width: int, spare_token_ids=()):
        self.penalty, self.window, self.prompt_width = penalty, window, prompt_width
        self.spare_token_ids = tuple(spare_token_ids)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        generated = input_ids[:, self.prompt_width :]
        recent = generated[:, -self.window :]
        return apply_repetition_penalty(scores, recent, self.penalty, self.spare_token_ids)
