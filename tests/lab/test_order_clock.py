"""Notebook 06's committed vLLM runs: each order's ratios against first come on the step clock
and in seconds, as the results page reads them (`seqsch.lab.result_files.step_clock`)."""

import pytest

from seqsch.lab.order_clock import (
    ORDER_LABELS,
    clock_line,
    clock_rows,
    clock_text,
    clock_title,
    committed_clock,
)
from seqsch.lab.result_files import STEP_FILES, VLLM_FILE, step_clock

FILES = {"seed 0": STEP_FILES["benchmark's prompts"],
         "seed 1": STEP_FILES["second workload (--seed 1)"]}


@pytest.fixture(scope="module")
def clock():
    return committed_clock(FILES, VLLM_FILE)


def test_the_ratios_are_the_results_pages(clock):
    assert clock["reference"] == "seed 0" and clock["num_rounds"] == 3
    page = step_clock(VLLM_FILE)
    for spec in ORDER_LABELS:
        assert clock["steps"]["seed 0"][spec] == pytest.approx(page[spec]["order_steps"])
        assert clock["seconds_rate"][spec] == pytest.approx(page[spec]["throughput"])
        assert clock["predict_s"][spec] == pytest.approx(page[spec]["predict_s"])
    assert clock["steps"]["seed 0"]["vllm+oracle"] < 1  # the oracle's order cuts the mean
    assert clock["total_steps"]["seed 0"]["vllm+oracle"] > 0
    assert "vllm" in clock["seconds_specs"]


def test_the_words_and_the_rows_read_the_same_numbers(clock):
    lines = clock_text(clock).splitlines()
    assert [line.split(":")[0].strip() for line in lines] == list(ORDER_LABELS.values())
    oracle = clock["steps"]["seed 0"]["vllm+oracle"]
    assert f"seed 0: steps {oracle:.2f}x" in lines[0]
    rows = clock_rows(clock)
    assert rows[0]["label"] == "oracle order" and rows[0]["seed 0"]["done"] == oracle
    assert rows[0]["seconds"]["done"] == clock["seconds_done"]["vllm+oracle"]
    assert f"cuts mean completion to {oracle:.2f}x" in clock_title(clock)
    assert clock_line(clock).startswith(f"vLLM step clock (CPU, 128 prompts): oracle {oracle:.2f}x")


def test_no_step_file_is_refused():
    with pytest.raises(ValueError, match="at least one sweep file"):
        committed_clock({}, VLLM_FILE)
