"""Tests of seqsch.scheduling.simulate against a step-by-step brute-force count."""

import json
import random

import pytest

from seqsch.scheduling.__main__ import main
from seqsch.scheduling.cost_model import CostModel, load_cost_model
from seqsch.scheduling.scheduler import SchedulerConfig, schedule
from seqsch.scheduling.simulate import simulate


def _brute_force(true_lengths, predicted, config):
    """Generate token by token; returns (slots, final tokens, steps, failed indices)."""
    slots = final_tokens = num_steps = 0
    failed = []

    def run(indices, cap, is_recompute):
        nonlocal slots, final_tokens, num_steps
        generated = dict.fromkeys(indices, 0)
        is_done = dict.fromkeys(indices, False)
        step = 0
        while not all(is_done.values()) and step < cap:
            step += 1
            for i in indices:
                if not is_done[i]:
                    generated[i] += 1
                    # a row ends with its EOS token, or at the full cap
                    is_done[i] = generated[i] == min(true_lengths[i], config.max_new_tokens)
        slots += step * len(indices)
        num_steps += step
        for i in indices:
            if is_done[i]:
                final_tokens += generated[i]
            else:
                assert not is_recompute
                failed.append(i)

    for batch in schedule(predicted, config):
        run(batch.indices, batch.max_new_tokens, False)
    for k in range(0, len(failed), config.batch_size):
        run(failed[k : k + config.batch_size], config.max_new_tokens, True)
    return slots, final_tokens, num_steps, failed


def test_hand_made_vanilla():
    result = simulate([3, 10, 5, 1], [None] * 4, SchedulerConfig(batch_size=2, max_new_tokens=8))
    assert [(b.num_rows, b.num_steps, b.num_output_tokens) for b in result.batches] == [
        (2, 8, 11),
        (2, 5, 6),
    ]
    assert result.num_steps_total == 13
    assert result.summary["effective_token_ratio"] == pytest.approx(17 / 26)
    assert result.summary["avg_length"] == pytest.approx(26 / 4)
    assert result.summary["samples_per_s"] is None


def test_hand_made_fcr_failure_is_recomputed():
    config = SchedulerConfig("sort", batch_size=2, fcr=True)
    result = simulate([40, 5, 30, 6], [20, 5, 30, 6], config)
    # batches: (1, 3) cap 6 -> 6 steps; (0, 2) cap 30 -> 0 fails; recompute (0,) 40 steps
    assert [(b.num_steps, b.num_output_tokens, b.num_failed) for b in result.batches] == [
        (6, 11, 0),
        (30, 30, 1),
        (40, 40, 0),
    ]
    assert result.failed_indices == [0]
    assert result.plan[-1].is_recompute and result.plan[-1].indices == (0,)
    assert result.summary["failure_ratio"] == pytest.approx(0.25)
    assert result.summary["effective_token_ratio"] == pytest.approx(81 / (12 + 60 + 40))


@pytest.mark.parametrize(
    "config",
    [
        SchedulerConfig("vanilla", batch_size=4, max_new_tokens=64),
        SchedulerConfig("sort", batch_size=3, max_new_tokens=64),
        SchedulerConfig("sort", batch_size=3, max_new_tokens=64, fcr=True),
        SchedulerConfig("bin", batch_size=2, max_new_tokens=64, bin_size=10, fcr=True),
        SchedulerConfig("bin", max_new_tokens=300, vbs=True, fcr=True),
    ],
)
def test_matches_brute_force(config):
    rng = random.Random(3)
    for _ in range(5):
        true_lengths = [rng.randint(1, 320) for _ in range(150)]
        predicted = [max(0, n + rng.randint(-40, 40)) for n in true_lengths]
        result = simulate(true_lengths, predicted, config)
        slots, final_tokens, num_steps, failed = _brute_force(true_lengths, predicted, config)
        assert result.num_steps_total == num_steps
        assert result.failed_indices == failed
        assert result.summary["effective_token_ratio"] == pytest.approx(final_tokens / slots)
        assert result.summary["avg_length"] == pytest.approx(slots / len(true_lengths))
        # every request yields exactly one final answer of its full length
        expected_tokens = sum(min(n, config.max_new_tokens) for n in true_lengths)
        assert sum(b.num_output_tokens for b in result.batches) == expected_tokens
        first_pass = [i for b in result.plan if not b.is_recompute for i in b.indices]
        assert sorted(first_pass) == list(range(len(true_lengths)))
        assert [i for b in result.plan if b.is_recompute for i in b.indices] == failed


def test_cost_model_time_and_completion():
    unit = CostModel("unit", "test", 1.0, 0.0, 0.0, 1.0, 0.0)  # every forward pass: 1 s
    config = SchedulerConfig(batch_size=2, max_new_tokens=8)
    result = simulate([3, 10, 5, 1], [None] * 4, config, unit, prediction_s=2.0)
    assert result.summary["wall_s"] == pytest.approx(2.0 + 13)
    assert result.completion_s == pytest.approx([10.0, 10.0, 15.0, 15.0])
    assert result.summary["samples_per_s"] == pytest.approx(4 / 15)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="one predicted length"):
        simulate([1, 2], [1], SchedulerConfig())
    with pytest.raises(ValueError, match=">= 1"):
        simulate([0], [None], SchedulerConfig())


def test_ten_thousand_requests_every_one_served_once():
    # How fast this is (the slider's budget) is printed by `python -m seqsch.scheduling`
    # (`simulate_s`), not asserted here: timings belong in benchmarks.
    rng = random.Random(0)
    true_lengths = [rng.randint(1, 600) for _ in range(10_000)]
    predicted = [max(0, n + rng.randint(-80, 80)) for n in true_lengths]
    config = SchedulerConfig("bin", vbs=True, fcr=True)
    result = simulate(true_lengths, predicted, config, CostModel("u", "t", 1, 0, 0, 1, 0))
    assert result.summary["num_samples"] == 10_000
    assert result.summary["failure_ratio"] > 0  # noisy predictions: some recomputed


def test_cli_on_jsonl(tmp_path, capsys):
    path = tmp_path / "lengths.jsonl"
    lines = [{"settings": {"model": "m"}}] + [
        {
            "id": str(k),
            "split": "val",
            "num_prompt_tokens": 20,
            "max_new_tokens": 64,
            "samples": [
                {"temperature": 0.0, "seed": 0, "num_output_tokens": n, "is_capped": n >= 64}
            ],
        }
        for k, n in enumerate([5, 64, 12, 30, 7])
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    main(
        [
            "--lengths",
            str(path),
            "--max-new-tokens",
            "64",
            "--batch-size",
            "2",
            "--cost-model",
            "cpu-smollm2-135m",
            "--fcr",
            "--split",
            "val",
        ]
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["num_samples"] == 5
    vanilla = summary["results"]["vanilla"]
    assert vanilla["effective_token_ratio"] == pytest.approx(
        (5 + 64 + 12 + 30 + 7) / (128 + 60 + 7)
    )
    assert summary["results"]["sort+fcr"]["samples_per_s"] > vanilla["samples_per_s"]


def test_paper_vanilla_effective_token_ratio(capsys, paper_val_path):
    main(
        [
            "--lengths",
            str(paper_val_path),
            "--num-data",
            "1024",
            "--strategies",
            "vanilla",
            "bin",
            "--vbs",
            "--fcr",
        ]
    )
    output = capsys.readouterr().out
    summary = json.loads(output.strip().splitlines()[-1])
    vanilla = summary["results"]["vanilla"]
    assert 0.30 <= vanilla["effective_token_ratio"] <= 0.38  # paper: 33.9%
    assert summary["results"]["bin+vbs+fcr"]["samples_per_s"] > vanilla["samples_per_s"]
    assert "paper's reported numbers" in output


def test_groups_recompute_their_failures_before_the_next_group():
    true = [300, 20, 20, 20, 20, 20, 20, 20]
    predicted = [20] * 8  # the first request overruns its cap of 50
    config = SchedulerConfig("bin", batch_size=4, fcr=True, group_size=4)

    result = simulate(true, predicted, config, load_cost_model("a100-80gb-vicuna7b"), [10] * 8)
    assert [(b.indices, b.is_recompute) for b in result.plan] == [
        ((0, 1, 2, 3), False), ((0,), True), ((4, 5, 6, 7), False)]
    assert result.failed_indices == [0]
    # the second group finishes after the first group's recomputation
    assert result.completion_s[4] > result.completion_s[0] > result.completion_s[1]
