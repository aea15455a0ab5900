"""How much the cap on new tokens hides: censored answers, the spread of one prompt's lengths,
and the loop that sends an answer to the cap.

Notebook 02 sets the paper's Vicuna-7B lengths (they nearly all end on their own) beside the
embedded SmolLM2-135M's (they often loop until the cap cuts them). These functions hold the
counting behind its printed lines, so the notebook only calls them and a test can check them:

- `paper_lengths_path`: where the paper's length file is, or an error saying where to put it;
- `length_file_settings`: the cap and dtype a length file was collected at;
- `capped_share_table`: the shares of answers at the cap (`capped_shares`), one row per file;
- `benchmark_cap_share`: a benchmark's cap and the share of its vanilla answers that reach it;
- `length_spread`: how far one prompt's answers at different temperatures lie apart;
- `sample_answers`, `loop_line`: one prompt sampled under several seeds, and whether its
  longest answer was cut while repeating itself.

    path = paper_lengths_path("auto")
    print("\\n".join(capped_share_table({"paper": capped_shares(read_length_file(path))})))
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from seqsch.bench.records import load_records
from seqsch.core.decoding import DECODING_PRESETS
from seqsch.core.length_records import LengthRecord, load_length_file
from seqsch.core.paths import ROOT
from seqsch.core.requests import Request
from seqsch.core.workloads import find_paper_lengths
from seqsch.engines.results import RequestResult
from seqsch.engines.static import generate

CAPPED_COLUMNS = {"answer": "every answer", "greedy": "greedy answer", "longest": "longest of 4"}
LOOP_TAIL_TOKENS = 100  # the answer's last tokens a loop check reads
LOOP_DISTINCT_SHARE = 0.5  # under this share of distinct tokens, the tail repeats itself


def paper_lengths_path(setting: str = "auto") -> Path:
    """The paper's length file: `auto` finds it (data/paper, $SEQSCH_PAPER_DIR or the cache),
    anything else is a repository-relative path. A FileNotFoundError says where it belongs."""
    path = find_paper_lengths() if setting == "auto" else ROOT / setting
    if not path or not Path(path).exists():
        raise FileNotFoundError(f"the paper's length file is not at {path}: data/paper/ ships it "
                                "(or set SEQSCH_PAPER_DIR)")
    return Path(path)


def length_file_settings(path: Path) -> tuple[int, str | None]:
    """(cap on new tokens, dtype) of the first settings line of a length file (512 and None
    when it has none, as the paper's files)."""
    length_file = load_length_file(path)
    settings = length_file.settings[0]["settings"] if length_file.settings else {}
    return settings.get("decoding", {}).get("max_new_tokens", 512), settings.get("dtype")


def capped_share_table(rows: Mapping[str, Mapping[str, float]]) -> list[str]:
    """A header and one line per file: its `capped_shares` (answer, greedy, longest) as %."""
    first = next(iter(rows.values()))
    lines = [f"{'share of answers that reach the cap':<58}"
             + "".join(f"{CAPPED_COLUMNS[k]:>15}" for k in first)]
    for name, shares in rows.items():
        lines.append(f"{name:<58}" + "".join(f"{v:>15.1%}" for v in shares.values()))
    return lines


def benchmark_cap_share(path: Path) -> tuple[int, list[int], float]:
    """(cap, greedy lengths, share at the cap) of a benchmark record file's vanilla run."""
    vanilla = load_records(path)["vanilla"]
    cap, lengths = vanilla["config"]["max_new_tokens"], vanilla["actual_lengths"]
    return cap, lengths, sum(n >= cap for n in lengths) / len(lengths)


def length_spread(records: Sequence[LengthRecord], cap: int) -> dict[str, float]:
    """Over prompts: the median and mean gap between a prompt's longest and shortest answer
    across temperatures, and the share of prompts with one answer at the cap and another
    under half of it (the loop shows there)."""
    spread = [max(r.lengths.values()) - min(r.lengths.values()) for r in records]
    split = sum(max(r.lengths.values()) >= cap > 2 * min(r.lengths.values()) for r in records)
    return {"median": statistics.median(spread), "mean": statistics.mean(spread),
            "loop_share": split / len(records)}


def sample_answers(model, tokenizer, request: Request, num_seeds: int, max_new_tokens: int,
                   seed: int = 0, temperature: float = 0.7) -> list[RequestResult]:
    """`request` answered `num_seeds` times at `temperature` (seeds seed, seed + 1, ...) with
    the embedded decoding preset: how far one prompt's lengths spread."""
    decoding = DECODING_PRESETS["embedded"].with_(max_new_tokens=max_new_tokens,
                                                  temperature=temperature)
    return [generate(model, tokenizer, [request], decoding.with_(seed=seed + k),
                     quiet=True).results[0] for k in range(num_seeds)]


def loop_line(answers: Sequence[RequestResult], tokenizer) -> str | None:
    """Whether the longest answer, if the cap cut it, repeats itself: a loop has few distinct
    tokens in its tail. None when the longest answer ended on its own. (The answer's text is
    not printed: it is unchecked model output.)"""
    longest = max(answers, key=lambda a: a.num_output_tokens)
    if not longest.is_capped:
        return None
    tail = tokenizer.encode(longest.text, add_special_tokens=False)[-LOOP_TAIL_TOKENS:]
    distinct = len(set(tail)) / len(tail)
    return (f"the longest answer was cut at the cap; {distinct:.0%} of its last {len(tail)} "
            "tokens are distinct: " + ("it repeats itself, a loop" if distinct < LOOP_DISTINCT_SHARE
                                       else "no loop yet at this cap, it was still writing"))
