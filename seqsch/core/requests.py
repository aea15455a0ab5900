"""The request type and how a prompt becomes tokens.

A `Request` is one query of a workload (id, prompt, reference answer, token counts once a
tokenizer has seen it, and in trace replay the length its answer must have). `chat_prompt`
formats a message with the model's chat template; `encode_prompts` turns requests into the token
ids every engine and predictor reads; `count_tokens` and `filter_by_prompt_tokens` fill and
filter by the prompt's length as the model sees it.

    from seqsch.core.requests import Request, encode_prompts
    prompts = encode_prompts(tokenizer, [Request("a", "What is the capital of France?")])
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Request:
    """One query of a workload. Token counts are filled in once a tokenizer has seen it."""

    id: str
    prompt: str
    reference: str | None = None
    num_prompt_tokens: int | None = None
    num_reference_tokens: int | None = None
    # Trace replay: the answer must have exactly this many tokens (EOS ignored until then), so a
    # schedule is timed on a recorded length distribution whatever the weights write. Tokens
    # written in replay are never answers (`seqsch.bench.replay`).
    forced_output_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.forced_output_tokens is not None and self.forced_output_tokens < 1:
            raise ValueError(f"request {self.id!r}: forced_output_tokens must be >= 1 (it counts "
                             f"the final token), got {self.forced_output_tokens}")


def count_tokens(requests: Sequence[Request], tokenizer, chat: bool = True) -> list[Request]:
    """Fill `num_prompt_tokens` (as the model sees the prompt, chat template included) and
    `num_reference_tokens`."""

    out = []
    for request in requests:
        text = chat_prompt(tokenizer, request.prompt) if chat else request.prompt
        num_prompt = len(tokenizer(text, add_special_tokens=False).input_ids)
        num_ref = len(tokenizer(request.reference).input_ids) if request.reference else None
        out.append(replace(request, num_prompt_tokens=num_prompt, num_reference_tokens=num_ref))
    return out


def filter_by_prompt_tokens(
    requests: Sequence[Request], tokenizer, max_prompt_tokens: int = 256, chat: bool = True
) -> list[Request]:
    """Keep requests whose formatted prompt has at most `max_prompt_tokens` tokens."""
    if max_prompt_tokens < 1:
        raise ValueError("max_prompt_tokens must be >= 1")
    counted = count_tokens(requests, tokenizer, chat=chat)
    return [r for r in counted if r.num_prompt_tokens <= max_prompt_tokens]


def chat_prompt(tokenizer, message: str, system: str | None = None) -> str:
    """Format one user message with the tokenizer's chat template, ready for generation.

    Tokenizers without a chat template get the message as it is."""
    if not getattr(tokenizer, "chat_template", None):
        return message
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": message})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def encode_prompts(tokenizer, requests: Sequence[Request], chat: bool = True) -> list[list[int]]:
    """Token ids of each request's prompt, formatted with the chat template."""
    texts = [chat_prompt(tokenizer, r.prompt) if chat else r.prompt for r in requests]
    return [tokenizer(t, add_special_tokens=not chat).input_ids for t in texts]
