"""seqsch's repetition penalty as a vLLM logits processor, so vLLM decodes like the other engines.

vLLM's own `repetition_penalty` looks at the prompt too (the chat template's end-of-turn token,
which is the embedded model's EOS, included), so a penalty there keeps answers from ending. This one
divides the logits of the last `window` *generated* tokens and spares the stop ids, as
`seqsch.core.decoding.apply_repetition_penalty` does for the static and continuous engines. A
request opts in through `SamplingParams(extra_args={EXTRA_ARGS_KEY: {...}})`;
`seqsch.engines.vllm_engine` sets it from a `DecodingConfig`. Kept apart from `vllm_engine` because
it imports vLLM at module level (the engine process imports the class by name). It runs per request
and per step in Python (a small tensor of recent ids each time), a cost vLLM's vectorised penalties
do not have: greedy decoding without it (`--decoding greedy`) shows vLLM at full speed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import AdapterLogitsProcessor

from seqsch.core.decoding import apply_repetition_penalty

EXTRA_ARGS_KEY = "seqsch_recent_penalty"


def penalty_args(penalty: float, window: int, spare_token_ids: Sequence[int]) -> dict:
    """The `extra_args` entry that turns the penalty on for one request."""
    return {EXTRA_ARGS_KEY: {"penalty": float(penalty), "window": int(window),
                             "spare_token_ids": [int(i) for i in spare_token_ids]}}


class RecentPenaltyProcessor(AdapterLogitsProcessor):
    """Per request: penalise the latest generated tokens (a live view of the output ids)."""

    def is_argmax_invariant(self) -> bool:
        return False  # it changes which token greedy decoding picks

    def new_req_logits_processor(self, params: SamplingParams):
        options = (params.extra_args or {}).get(EXTRA_ARGS_KEY)
        if not options or options["penalty"] == 1.0:
            return None
        penalty, window = options["penalty"], options["window"]
        spare = tuple(options["spare_token_ids"])

        def penalise(output_ids: list[int], logits: torch.Tensor) -> torch.Tensor:
            recent = output_ids[-window:]
            if not recent:
                return logits
            ids = torch.tensor([recent], dtype=torch.long, device=logits.device)  # [1, W]
            return apply_repetition_penalty(logits.unsqueeze(0), ids, penalty, spare)[0]

        return penalise
