"""Static-batch waste by batch size, whichever way the lengths come: runs, replay records, a
committed record, the shipped files at scale."""

from types import SimpleNamespace

import pytest

from seqsch.bench.batch_waste import (
    BatchWaste,
    cap_batch_sizes,
    committed_replay_line,
    committed_waste,
    etr_at,
    etr_curves_at_scale,
    measured_waste,
    replayed_waste,
    scale_takeaway,
    workload_lines,
)

LENGTHS = [5, 17, 3, 24, 11, 1, 30, 8, 2, 30]


def test_cap_batch_sizes_are_a_quarter_a_half_and_the_whole_never_past_the_prompts():
    assert cap_batch_sizes(16, 32) == [4, 8, 16]
    assert cap_batch_sizes(4, 8) == [2, 4]  # a quarter and a half are both 2 at least
    assert cap_batch_sizes(16, 6) == [4, 6]


def test_committed_waste_is_exact_from_lengths_and_counts_batches_at_the_cap():
    record = {"actual_lengths": LENGTHS, "config": {"max_new_tokens": 30}}
    waste = committed_waste(record, [1, 2, 5])
    assert waste.etr[1] == 1.0 and waste.etr[1] > waste.etr[2] > waste.etr[5]
    assert waste.etr[5] == pytest.approx(sum(LENGTHS) / (5 * 24 + 5 * 30))
    assert waste.at_cap == {1: 0.2, 2: 0.4, 5: 0.5}
    assert waste.share_capped == 0.2 and waste.mean_over_cap == pytest.approx(131 / 300)
    assert waste.etr_list() == "100.0% at batch 1, 58.5% at batch 2, 48.5% at batch 5"
    assert waste.etr_ratio(1, 5) == pytest.approx(waste.etr[5])


def test_measured_waste_reads_each_run_and_its_batches_steps():
    def run(etr, steps):
        return SimpleNamespace(summary=lambda: {"effective_token_ratio": etr},
                               batches=[SimpleNamespace(num_steps=s) for s in steps],
                               results=[SimpleNamespace(num_output_tokens=n) for n in (8, 3, 8)])
    waste = measured_waste({2: run(0.6, [8, 3]), 4: run(0.55, [8])}, 8)
    assert waste.lengths == [8, 3, 8] and waste.at_cap == {2: 0.5, 4: 1.0}
    assert waste.share_capped == pytest.approx(2 / 3)
    assert waste.batch_lines() == ["batch   2: ETR 60.0%, 50% of its batches run to the cap",
                                   "batch   4: ETR 55.0%, 100% of its batches run to the cap"]
    assert "100% of its batches of 4 run to the cap" in waste.cap_takeaway()


def test_replayed_waste_keeps_the_measured_rates():
    records = {b: {"actual_lengths": LENGTHS, "summary": {"effective_token_ratio": e,
                                                          "samples_per_s": r}}
               for b, e, r in ((2, 0.7, 10.0), (5, 0.5, 15.0))}
    waste = replayed_waste(records, 512)
    assert waste.rate_ratio(2, 5) == 1.5 and waste.at_cap == {2: 0.0, 5: 0.0}
    assert waste.batch_lines()[1].endswith("0% of its batches run to the cap, 15.0 samples/s")
    assert waste.length_summary() == "mean answer 13 tokens, 0.0% at the 512-token cap"
    assert waste.percent() == {2: 70.0, 5: 50.0}


def test_curves_at_scale_sort_never_wastes_more_than_arrival_order():
    workloads = {"w": (LENGTHS, 30)}
    curves = etr_curves_at_scale(workloads, [1, 2, 16])
    assert list(curves) == ["w: vanilla", "w: sorted by true length"]
    assert curves["w: vanilla"][0] == curves["w: sorted by true length"][0] == 100.0
    assert all(s >= v for v, s in zip(curves["w: vanilla"], curves["w: sorted by true length"]))
    assert etr_at(curves, [1, 2, 16], 16)["w: vanilla"] == curves["w: vanilla"][2]
    with pytest.raises(ValueError, match="no batch size 4"):
        etr_at(curves, [1, 2, 16], 4)
    assert workload_lines(workloads) == [
        "w: 10 answers, mean 13 tokens, 20.0% at the 30-token cap"]


def test_takeaways_state_the_numbers():
    at16 = {"a: vanilla": 40.0, "a: sorted by true length": 80.0, "b: vanilla": 30.0,
            "b: sorted by true length": 90.0}
    line = scale_takeaway(at16, "a", "b")
    assert "40.0% on SmolLM2's lengths and 30.0% on Vicuna's" in line
    assert "gives 80.0% and 90.0%" in line
    record = {"actual_lengths": LENGTHS, "summary": {"effective_token_ratio": 0.4},
              "config": {"model": "m", "max_new_tokens": 30, "batch_size": 16}}
    line = committed_replay_line(record, BatchWaste(LENGTHS, 30, {4: 0.5}, {4: 0.0}))
    assert line.startswith("committed replay (m, 10 prompts, cap 30): measured ETR 40.0% at "
                           "batch 16") and line.endswith("from its lengths 50.0% at batch 4")
