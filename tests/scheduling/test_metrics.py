"""Tests of seqsch.scheduling.metrics."""

import pytest

from seqsch.scheduling.metrics import (
    BatchStats,
    avg_length,
    completion_stats,
    effective_token_ratio,
    failure_ratio,
    summarize,
    throughput,
)

# 2 rows x 10 steps with 14 real tokens; a capped pass with one failed row whose tokens are
# waste; the recomputation of that row (30 tokens).
BATCHES = [
    BatchStats(num_rows=2, num_steps=10, num_output_tokens=14),
    BatchStats(num_rows=2, num_steps=20, num_output_tokens=12, num_failed=1),
    BatchStats(num_rows=1, num_steps=30, num_output_tokens=30, is_recompute=True),
]


def test_effective_token_ratio_counts_final_tokens_over_all_slots():
    assert effective_token_ratio(BATCHES) == pytest.approx((14 + 12 + 30) / (20 + 40 + 30))


def test_avg_length_and_failure_ratio_per_sample():
    assert avg_length(BATCHES, num_samples=4) == pytest.approx(90 / 4)
    assert failure_ratio(BATCHES, num_samples=4) == pytest.approx(0.25)


def test_throughput():
    assert throughput(10, 4.0) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="wall_s must be > 0"):
        throughput(10, 0.0)
    with pytest.raises(ValueError, match="num_samples"):
        throughput(0, 1.0)


def test_summarize_keys_and_values():
    summary = summarize(BATCHES, num_samples=4, wall_s=8.0)
    assert set(summary) == {
        "samples_per_s",
        "tokens_per_s",
        "avg_length",
        "effective_token_ratio",
        "failure_ratio",
        "num_samples",
        "wall_s",
    }
    assert summary["samples_per_s"] == pytest.approx(0.5)
    assert summary["tokens_per_s"] == pytest.approx(56 / 8)
    untimed = summarize(BATCHES, num_samples=4, wall_s=None)
    assert untimed["samples_per_s"] is None and untimed["tokens_per_s"] is None
    assert untimed["avg_length"] == summary["avg_length"]


def test_empty_and_invalid_input_raise():
    with pytest.raises(ValueError, match="no batches"):
        effective_token_ratio([])
    with pytest.raises(ValueError, match="no batches"):
        summarize([], num_samples=1, wall_s=1.0)
    with pytest.raises(ValueError, match="num_output_tokens"):
        BatchStats(num_rows=2, num_steps=3, num_output_tokens=7)
    with pytest.raises(ValueError, match="num_failed"):
        BatchStats(num_rows=2, num_steps=3, num_output_tokens=1, num_failed=3)
    with pytest.raises(ValueError, match="num_rows"):
        BatchStats(num_rows=0, num_steps=3, num_output_tokens=0)
    with pytest.raises(ValueError, match="0 steps"):
        effective_token_ratio([BatchStats(num_rows=1, num_steps=0, num_output_tokens=0)])


def test_completion_stats_interpolates_like_numpy():
    stats = completion_stats([float(t) for t in range(10, 0, -1)])
    assert stats == pytest.approx(
        {"mean_completion_s": 5.5, "median_completion_s": 5.5, "p90_completion_s": 9.1}
    )
    assert completion_stats([3.0])["p90_completion_s"] == 3.0
    with pytest.raises(ValueError, match="no completion times"):
        completion_stats([])
    with pytest.raises(ValueError, match="non-negative"):
        completion_stats([1.0, -1.0])
