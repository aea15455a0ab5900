"""Prompts, answer parsing and tuning-set construction for response length perception.

The paper asks the served model itself how long its answer will be, in two ways:

* Perception in Advance (PiA): the model states the length on the first line, then answers.
* Length query: the model outputs only one number; a LoRA adapter is instruction-tuned on this
  prompt with targets built from sampled answer lengths (see `build_tuning_example`).

Both prompts are verbatim copies of the suffixes in the reference code
(zhengzangw/Sequence-Scheduling, `src/utils.py`: `PIA_PROMPT`, `QUERY_PROMPT`; the query prompt
is repeated in `src/construct.py` and `src/eval.py`). There the suffix is appended to the user
turn of the Vicuna v1.1 chat template, i.e. right after the instruction and before
" ASSISTANT:"; wrapping the result of `make_*_prompt` in a chat template is left to the caller.

Usage::

    prompt = make_query_prompt("List three primes.")
    length = parse_length(model_output)  # int or None
    example = build_tuning_example("List three primes.", max_length=73)  # target "100"
"""

from __future__ import annotations

import re

from seqsch.perception.buckets import DEFAULT_BUCKET_SIZE, round_up_to_bucket

PIA_SUFFIX = (
    "\nBefore responding to the above instruction, you have to predict the length of your "
    "response. Print the estimated number of tokens in your response in the first line. "
    "Then change to a new line to respond to the instruction."
)
QUERY_SUFFIX = (
    "\nDon't output the response for the above instruction. Instead, you need to predict the "
    "number of tokens in your response. Output one number only."
)
PIA_PROMPT = "{instruction}" + PIA_SUFFIX
QUERY_PROMPT = "{instruction}" + QUERY_SUFFIX

# Temperatures at which the reference code samples each training instruction; the tuning
# target is the bucketed maximum of the resulting answer lengths (`src/lenpred.py`).
TUNING_TEMPERATURES = (0.0, 0.3, 0.5, 0.7)
MAX_PLAUSIBLE_LENGTH = 100_000

# Thousands commas, decimals, an exponent ("3e2") and a glued thousands suffix ("2k", "1.5K").
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?(?:[kK](?![A-Za-z]))?"
_NUMBER_RE = re.compile(rf"(?<!\d)(?<!\d\.){_NUMBER}(?!\d)")
_RANGE_TAIL_RE = re.compile(rf"[ \t]*(?:[-\u2013\u2014~]|to\b)[ \t]*({_NUMBER})(?!\d)")
_BETWEEN_TAIL_RE = re.compile(rf"[ \t]+and[ \t]+({_NUMBER})(?!\d)")
_BETWEEN_HEAD_RE = re.compile(r"\bbetween[ \t]+$", re.IGNORECASE)
_LIST_MARKER_TAIL_RE = re.compile(r"[.)][ \t]")
_MINUS_SIGNS = "-\u2212"


def make_pia_prompt(instruction: str) -> str:
    """Return the instruction followed by the Perception-in-Advance request."""
    return instruction + PIA_SUFFIX


def make_query_prompt(instruction: str) -> str:
    """Return the instruction followed by the length-only query used for instruction tuning."""
    return instruction + QUERY_SUFFIX


def _to_number(token: str) -> float:
    """Value of a `_NUMBER` match: "1,024" is 1024, "3e2" is 300, "1.5k" is 1500."""
    scale = 1000 if token[-1] in "kK" else 1
    return float(token.rstrip("kK").replace(",", "")) * scale


def _range_low(low: str, high: str) -> float:
    """The low end of a range, sharing the high end's thousands suffix in "1-2k" (not "500-1k")."""
    value = _to_number(low)
    shares_suffix = high[-1] in "kK" and low[-1] not in "kK" and value < _to_number(high[:-1])
    return value * 1000 if shares_suffix else value


def _round_half_up(value: float) -> int:
    return int(value + 0.5)


def _is_negative(line: str, start: int) -> bool:
    """A minus sign glued to the number and not used as a hyphen (as in "GPT-4")."""
    if start == 0 or line[start - 1] not in _MINUS_SIGNS:
        return False
    return start == 1 or not line[start - 2].isalnum()


def _is_list_marker(line: str, match: re.Match[str]) -> bool:
    """Numbers like "1. " or "2) " opening a line enumerate items, they are not lengths."""
    is_line_start = line[: match.start()].strip() == ""
    return is_line_start and _LIST_MARKER_TAIL_RE.match(line, match.end()) is not None


def _parse_line(line: str) -> tuple[bool, int | None]:
    """Return (is_found, value) for the first number or range on one line."""
    matches = list(_NUMBER_RE.finditer(line))
    if not matches:
        return False, None
    non_marker_matches = [match for match in matches if not _is_list_marker(line, match)]
    match = (non_marker_matches or matches)[0]
    if _is_negative(line, match.start()):
        return True, None
    tail = _RANGE_TAIL_RE.match(line, match.end())
    if tail is None and _BETWEEN_HEAD_RE.search(line[: match.start()]):
        tail = _BETWEEN_TAIL_RE.match(line, match.end())
    low = _range_low(match.group(), tail.group(1)) if tail else _to_number(match.group())
    value = (low + _to_number(tail.group(1))) / 2 if tail else low
    if max(low, value) > MAX_PLAUSIBLE_LENGTH:
        return True, None
    return True, _round_half_up(value)


def parse_length(text: str) -> int | None:
    """Read a predicted length from free model output.

    The first number of the first line that has one is used (PiA answers put the length on the
    first line, the numbers after it belong to the answer). A range "100-150", "100 to 150",
    "100~150" or "between 100 and 150" gives its midpoint, rounded half up; "1,200" is 1200;
    decimals are rounded half up; scientific notation is read as such ("3e2" is 300, not 3), and a
    glued thousands suffix too ("2k" is 2000; "1-2k" is the range 1000-2000, "500-1k" 500-1000);
    an enumeration marker such as "1. " opening a line is skipped when another number follows it
    on that line.
    Returns None when there is no number or the chosen number is negative or above
    `MAX_PLAUSIBLE_LENGTH`. (The reference code instead averages the first two numbers of the
    text, returns 0 when there is none, and reads tuned-model output with a bare `int()`.)
    """
    for line in text.splitlines():
        is_found, value = _parse_line(line)
        if is_found:
            return value
    return None


def build_tuning_example(
    instruction: str, max_length: int, bucket_size: int = DEFAULT_BUCKET_SIZE
) -> dict[str, str]:
    """One instruction-tuning pair in the format of the reference `src/construct.py`.

    `max_length` is the longest answer length (in tokens) among the samples drawn for the
    instruction at `TUNING_TEMPERATURES`. The prompt is the length query; the target is the
    bucket upper bound written as a bare decimal number, e.g. max_length 73 -> "100".
    """
    return {
        "prompt": make_query_prompt(instruction),
        "target": str(round_up_to_bucket(max_length, bucket_size)),
    }
