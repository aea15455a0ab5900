"""Tests of seqsch.scheduling.scheduler: strategies, VBS, merging, FCR caps and errors."""

import random
from collections import defaultdict

import pytest

from seqsch.scheduling.scheduler import (
    PAPER_VBS_TABLE,
    Batch,
    SchedulerConfig,
    group_ranges,
    order_for_priority,
    recompute_batches,
    schedule,
    schedule_groups,
    vbs_batch_size,
)


def _indices(batches):
    return [batch.indices for batch in batches]


def _paper_schedule(lengths, mini_batch_size, vbs):
    """Transcription of the paper's src/utils.py `schedule` (for lengths >= 1)."""
    table = {50: 256, 100: 128, 150: 64, 200: 32, 250: 16, 300: 16}

    def buckit(x, cell=50):
        return (x // cell + 1) * cell if x % cell != 0 else x

    order = sorted(enumerate(lengths), key=lambda x: x[1])
    if not vbs:
        return [
            (
                [i for i, _ in order[k : k + mini_batch_size]],
                max(n for _, n in order[k : k + mini_batch_size]),
            )
            for k in range(0, len(order), mini_batch_size)
        ]
    buckets = defaultdict(list)
    for i, n in order:
        buckets[buckit(n)].append(i)
    batches, max_l = [], max(lengths)
    for upper, ids in buckets.items():
        size = table.get(upper, 16)
        for k in range(0, len(ids), size):
            batch = ids[k : k + size]
            if upper < max_l and len(batch) < max(size // 2, 16):
                nxt = upper + 50
                while nxt not in buckets:
                    nxt += 50
                buckets[nxt].extend(batch)
                break
            batches.append((batch, upper))
    return batches


def test_vanilla_keeps_dataset_order_and_accepts_missing_predictions():
    batches = schedule([None] * 5, SchedulerConfig("vanilla", batch_size=2))
    assert _indices(batches) == [(0, 1), (2, 3), (4,)]
    assert all(b.max_new_tokens == 512 and not b.is_recompute for b in batches)


def test_sort_batches_by_prediction_with_max_prediction_cap_under_fcr():
    lengths = [30, 10, 20, 10]
    plain = schedule(lengths, SchedulerConfig("sort", batch_size=2))
    assert _indices(plain) == [(1, 3), (2, 0)]
    assert [b.max_new_tokens for b in plain] == [512, 512]
    capped = schedule(lengths, SchedulerConfig("sort", batch_size=2, fcr=True, max_new_tokens=25))
    assert [b.max_new_tokens for b in capped] == [10, 25]


def test_bin_batches_within_buckets_and_caps_at_bucket_bound():
    lengths = [10, 60, 20, 70, 120]
    batches = schedule(lengths, SchedulerConfig("bin", batch_size=2, fcr=True))
    assert batches == [Batch((0, 2), 50), Batch((1, 3), 100), Batch((4,), 150)]


def test_bin_merges_small_last_batch_into_next_nonempty_bucket():
    batches = schedule([10, 10, 10, 260, 270], SchedulerConfig("bin", batch_size=2, fcr=True))
    assert batches == [Batch((0, 1), 50), Batch((3, 4), 300), Batch((2,), 300)]
    merged = schedule([10, 60, 70, 80], SchedulerConfig("bin", batch_size=2, fcr=True))
    assert merged == [Batch((1, 2), 100), Batch((3, 0), 100)]


def test_vbs_table_reproduces_paper_and_falls_back_to_batch_size():
    config = SchedulerConfig("bin", vbs=True)
    assert config.vbs_table == PAPER_VBS_TABLE
    sizes = [vbs_batch_size(upper, config) for upper in (50, 100, 150, 200, 250, 300, 500)]
    assert sizes == [256, 128, 64, 32, 16, 16, 16]
    assert vbs_batch_size(250, SchedulerConfig("bin", vbs=True, batch_size=8)) == 8


def test_vbs_token_budget_replaces_table_with_clamping():
    config = SchedulerConfig("bin", vbs=True, vbs_token_budget=6400)
    assert [vbs_batch_size(u, config) for u in (50, 100, 400, 1000)] == [128, 64, 16, 16]
    big = SchedulerConfig("bin", vbs=True, vbs_token_budget=10**6, max_vbs_batch_size=200)
    assert vbs_batch_size(50, big) == 200


def test_vbs_batches_and_merge_of_small_remainder():
    lengths = [10] * 300 + [120] * 20
    batches = schedule(lengths, SchedulerConfig("bin", vbs=True, fcr=True))
    assert [len(b.indices) for b in batches] == [256, 64]
    assert [b.max_new_tokens for b in batches] == [50, 150]


@pytest.mark.parametrize("vbs", [False, True])
def test_matches_transcription_of_paper_code(vbs):
    rng = random.Random(7)
    for _ in range(20):
        lengths = [rng.choice([rng.randint(1, 120), rng.randint(1, 500)]) for _ in range(700)]
        config = SchedulerConfig("bin" if vbs else "sort", vbs=vbs, fcr=True, max_new_tokens=10**4)
        ours = [(list(b.indices), b.max_new_tokens) for b in schedule(lengths, config)]
        assert ours == _paper_schedule(lengths, 16, vbs)


@pytest.mark.parametrize(
    "config",
    [
        SchedulerConfig("vanilla", batch_size=3),
        SchedulerConfig("sort", batch_size=5, fcr=True),
        SchedulerConfig("bin", batch_size=4, bin_size=20),
        SchedulerConfig("bin", vbs=True, fcr=True),
    ],
)
def test_every_index_once(config):
    rng = random.Random(1)
    lengths = [rng.randint(0, 600) for _ in range(997)]
    indices = [i for b in schedule(lengths, config) for i in b.indices]
    assert sorted(indices) == list(range(len(lengths)))
    assert all(1 <= b.max_new_tokens <= config.max_new_tokens for b in schedule(lengths, config))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strategy": "fifo"}, "unknown strategy"),
        ({"strategy": "bin", "bin_size": 0}, "bin_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"strategy": "sort", "vbs": True}, "vbs=True needs strategy='bin'"),
        ({"strategy": "vanilla", "fcr": True}, "fcr=True needs predictions"),
        ({"strategy": "bin", "vbs_token_budget": 0}, "vbs_token_budget"),
    ],
)
def test_bad_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SchedulerConfig(**kwargs)


def test_bad_predictions_raise():
    with pytest.raises(ValueError, match="no requests"):
        schedule([], SchedulerConfig())
    with pytest.raises(ValueError, match=">= 0"):
        schedule([5, -1], SchedulerConfig("sort"))
    with pytest.raises(ValueError, match=">= 0"):
        schedule([float("nan")], SchedulerConfig("bin"))
    with pytest.raises(ValueError, match="no predicted length"):
        schedule([5, None], SchedulerConfig("bin"))


def test_recompute_batches():
    config = SchedulerConfig("bin", batch_size=2, fcr=True)
    batches = recompute_batches([7, 3, 5], config)
    assert batches == [Batch((7, 3), 512, True), Batch((5,), 512, True)]
    assert recompute_batches([], config) == []
    budget = SchedulerConfig("bin", batch_size=2, vbs=True, fcr=True, vbs_token_budget=4 * 550)
    assert [len(b.indices) for b in recompute_batches(list(range(9)), budget)] == [4, 4, 1]
    with pytest.raises(ValueError, match="distinct"):
        recompute_batches([1, 1], config)


def test_order_for_priority_is_stable_shortest_first():
    assert order_for_priority([30, 10, 20, 10]) == [1, 3, 2, 0]
    with pytest.raises(ValueError):
        order_for_priority([3, None])


def test_groups_are_scheduled_apart_in_order():
    assert group_ranges(10, 4) == [range(0, 4), range(4, 8), range(8, 10)]
    assert group_ranges(3, None) == [range(0, 3)]
    predicted = [400, 10, 300, 20, 30, 500, 5, 200]
    config = SchedulerConfig("sort", batch_size=2, group_size=4)
    groups = schedule_groups(predicted, config)
    # each group sorted on its own: no request crosses into another group's batches
    assert [[b.indices for b in g] for g in groups] == [[(1, 3), (2, 0)], [(6, 4), (7, 5)]]
    assert schedule(predicted, config) == [b for g in groups for b in g]
    whole = schedule(predicted, SchedulerConfig("sort", batch_size=2))
    assert [b.indices for b in whole] == [(6, 1), (3, 4), (7, 2), (0, 5)]


def test_group_size_must_be_positive():
    with pytest.raises(ValueError, match="group_size"):
        SchedulerConfig(group_size=0)
