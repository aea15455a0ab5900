"""How much the cap hides: the paper's file found or an error naming where it belongs, shares at
the cap, the spread of one prompt's lengths, and a loop told from an answer still writing."""

from types import SimpleNamespace

import pytest

from seqsch.bench.censoring import (
    benchmark_cap_share,
    capped_share_table,
    length_file_settings,
    length_spread,
    loop_line,
    paper_lengths_path,
)
from seqsch.core.length_records import LengthRecord
from seqsch.core.paths import DEFAULT_LENGTHS, ROOT


def test_paper_lengths_path_names_where_the_file_belongs():
    with pytest.raises(FileNotFoundError, match="data/paper/ ships it"):
        paper_lengths_path("data/no-such-file.json")
    assert paper_lengths_path(str(DEFAULT_LENGTHS.relative_to(ROOT))) == DEFAULT_LENGTHS


def test_shipped_files_settings_and_benchmark_cap():
    cap, dtype = length_file_settings(DEFAULT_LENGTHS)
    assert cap == 512 and dtype
    bench_cap, lengths, share = benchmark_cap_share(
        ROOT / "data/benchmark-cpu-smollm2-sharegpt.jsonl")
    assert bench_cap == 256 and len(lengths) == 128
    assert share == pytest.approx(sum(n >= 256 for n in lengths) / 128) and 0 < share < 1


def test_capped_share_table_has_a_header_and_a_row_per_file():
    lines = capped_share_table({"ours": {"answer": 0.5, "greedy": 0.25, "longest": 0.75}})
    assert lines[0].startswith("share of answers that reach the cap")
    assert lines[0].endswith("   every answer  greedy answer   longest of 4")
    assert lines[1].split() == ["ours", "50.0%", "25.0%", "75.0%"]


def test_length_spread_counts_the_loops():
    records = [LengthRecord("a", {0.0: 512, 0.7: 100}, {}),
               LengthRecord("b", {0.0: 40, 0.7: 60}, {}),
               LengthRecord("c", {0.0: 512, 0.7: 300}, {})]
    spread = length_spread(records, 512)
    assert spread["median"] == 212 and spread["mean"] == pytest.approx((412 + 20 + 212) / 3)
    assert spread["loop_share"] == pytest.approx(1 / 3)  # only a: at the cap and under half


class Tokens:
    def encode(self, text, add_special_tokens=False):
        return [int(t) for t in text.split()]


def answer(text, is_capped):
    return SimpleNamespace(text=text, num_output_tokens=len(text.split()), is_capped=is_capped)


def test_loop_line_reads_the_longest_answer_only_when_the_cap_cut_it():
    assert loop_line([answer("1 2 3", False), answer("1", True)], Tokens()) is None
    loop = loop_line([answer(" ".join(["7", "8"] * 60), True)], Tokens())
    assert loop.startswith("the longest answer was cut at the cap; 2% of its last 100 tokens")
    assert loop.endswith("it repeats itself, a loop")
    writing = loop_line([answer(" ".join(map(str, range(50))), True)], Tokens())
    assert "100% of its last 50 tokens" in writing and writing.endswith("still writing")
