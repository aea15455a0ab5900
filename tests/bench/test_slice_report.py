"""The lines printed about a live slice: its schedule table, ratios to vanilla, the
simulator's gap and the paper's agreement."""

from types import SimpleNamespace

import pytest

from seqsch.bench.live_slice import LiveSlice
from seqsch.bench.slice_report import (
    TABLE_HEADER,
    against_vanilla_line,
    paper_agreement_line,
    schedule_table,
    simulated_lines,
    sorted_gain_sentence,
)


def summary(samples_per_s, etr, completion_s):
    return {"samples_per_s": samples_per_s, "effective_token_ratio": etr,
            "mean_completion_s": completion_s}


SUMMARIES = {"vanilla": summary(10.0, 0.3, 8.0), "oracle": summary(20.0, 0.6, 4.0),
             "oracle+vbs+fcr": summary(25.0, 0.5, 3.0)}


def live(rows=()) -> LiveSlice:
    plans = {name: SimpleNamespace(plan=[None] * k, num_steps_total=steps)
             for name, k, steps in (("vanilla", 4, 2000), ("oracle", 4, 800),
                                    ("oracle+vbs+fcr", 2, 700))}
    records = {name: {"summary": s} for name, s in SUMMARIES.items()}
    return LiveSlice(plans, records, [1, 2], list(rows))


def test_schedule_table_rows_are_ratios_to_vanilla():
    lines = schedule_table(live(), {"vanilla": "arrival", "oracle": "sorted"})
    assert lines[0] == TABLE_HEADER and len(lines) == 3
    assert lines[2].split() == ["sorted", "4", "800", "60%", "20.0", "2.00", "0.50"]


def test_sorted_gain_sentence_counts_steps_and_agreement():
    sentence = sorted_gain_sentence(live())
    assert sentence.startswith("sorted by length, the same answers take 2.5x fewer steps")
    assert "(ETR 30% -> 60%) and run 2.00x vanilla's samples/s" in sentence
    assert sentence.endswith("binned with VBS + FCR 2.50x. ")  # no committed run: no count
    agreed = sorted_gain_sentence(live([{"is_same_direction": True},
                                        {"is_same_direction": False}]))
    assert agreed.endswith("1 of 2 live ratios move as the committed replay's did.")


def test_against_vanilla_line():
    assert against_vanilla_line(SUMMARIES, "oracle") == (
        "2.00x throughput, ETR 30% -> 60%, mean completion 0.50x")
    with pytest.raises(ValueError, match="was not run"):
        against_vanilla_line(SUMMARIES, "lora")


def test_simulated_lines_skip_records_without_a_simulation():
    records = {"vanilla": {"summary": {"samples_per_s": 2.0}, "simulated": {"samples_per_s": 2.2}},
               "oracle": {"summary": {"samples_per_s": 3.0}}}
    assert simulated_lines(records) == [
        "               vanilla: measured 2.00 samples/s, simulated 2.20 (+10%)"]


def test_paper_agreement_line():
    rows = [{"spec": "vanilla", "x_vanilla": 1.0, "paper_x_vanilla": 1.0},
            {"spec": "oracle", "x_vanilla": 1.3, "paper_x_vanilla": 1.9},
            {"spec": "standin", "x_vanilla": 0.9, "paper_x_vanilla": 1.2},
            {"spec": "query", "x_vanilla": 1.1, "paper_x_vanilla": None}]
    assert paper_agreement_line(rows) == ("against the paper's A100 (throughput): oracle 1.30x "
                                          "vs 1.90x: agrees; standin 0.90x vs 1.20x: DISAGREES")
