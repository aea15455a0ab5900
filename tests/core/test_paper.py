"""The paper's published numbers agree with one another (a typo here would move every chapter)."""

from __future__ import annotations

import pytest

from seqsch.core.paper import (
    PAPER_BATCH_SIZE,
    PAPER_GROUP_SIZE,
    PAPER_ROWS,
    PAPER_SAMPLE_SIZE,
    PAPER_VBS_TABLE,
)


def test_the_speedups_the_paper_states_follow_from_its_rows():
    vanilla = PAPER_ROWS["vanilla"]["samples_per_s"]
    assert PAPER_ROWS["standin+vbs+fcr"]["samples_per_s"] / vanilla == pytest.approx(1.65, abs=0.01)
    assert PAPER_ROWS["oracle+vbs+fcr"]["samples_per_s"] / vanilla == pytest.approx(1.94, abs=0.01)


def test_each_schedule_removes_padding_in_the_paper_order():
    ratios = [PAPER_ROWS[name]["effective_token_ratio"]
              for name in ("vanilla", "standin", "standin+vbs+fcr", "oracle+vbs+fcr")]
    assert ratios == sorted(ratios) and ratios[0] == pytest.approx(0.339, abs=1e-3)


def test_vbs_gives_shorter_buckets_bigger_batches():
    bounds = [bound for bound, _ in PAPER_VBS_TABLE]
    sizes = [size for _, size in PAPER_VBS_TABLE]
    assert bounds == sorted(bounds) and sizes == sorted(sizes, reverse=True)
    assert min(sizes) > PAPER_BATCH_SIZE and PAPER_SAMPLE_SIZE % PAPER_GROUP_SIZE == 0
