"""Live slices: planned without a model, refused when they cannot show their mechanism, and
every notebook profile's slice sized to show it."""

import pytest
import torch

from seqsch.bench.live_slice import (
    check_slice,
    run_live_slice,
    run_paper_slice,
    slice_plans,
    slice_problems,
    verdict_lines,
    verdicts,
)
from seqsch.bench.paper_table import PAPER_SPECS
from seqsch.bench.replay import PAPER_GROUP_SIZE
from seqsch.bench.specs import SweepConfig
from seqsch.core.paper import PAPER_BATCH_SIZE
from seqsch.lab.notebooks import PROFILES

SPECS = ("vanilla", "oracle", "oracle+vbs+fcr", "standin+vbs+fcr")


def replay_config(num_data: int, max_new_tokens: int = 512, batch_size: int = 16,
                  specs=SPECS, **kwargs) -> SweepConfig:
    return SweepConfig(replay="paper-val", model="random:tiny", specs=tuple(specs),
                       num_data=num_data, max_new_tokens=max_new_tokens, batch_size=batch_size,
                       group_size=PAPER_GROUP_SIZE, **kwargs)


def test_plans_follow_the_scheduler():
    plans = slice_plans(replay_config(64))
    assert list(plans) == list(SPECS)
    assert len(plans["vanilla"].plan) == 4  # 64 prompts in batches of 16, arrival order
    assert [b.indices for b in plans["vanilla"].plan][0] == tuple(range(16))
    # sorting by the true lengths cuts the steps and raises the effective token ratio
    assert plans["oracle"].num_steps_total < plans["vanilla"].num_steps_total
    assert (plans["oracle"].summary["effective_token_ratio"]
            > plans["vanilla"].summary["effective_token_ratio"])
    assert slice_problems(plans) == []
    check_slice(plans)


def test_a_single_batch_is_refused():
    plans = slice_plans(replay_config(16))
    problems = slice_problems(plans)
    assert len(problems) == len(SPECS) and all("single batch" in p for p in problems)
    with pytest.raises(ValueError, match="cannot show its mechanism"):
        check_slice(plans)


def test_a_schedule_that_pads_like_vanilla_is_refused():
    # at a cap of 8 tokens nearly every answer reaches it: every batch runs 8 steps however
    # it is sorted, so the sort computes vanilla's row-steps
    problems = slice_problems(slice_plans(replay_config(64, max_new_tokens=8,
                                                        specs=("vanilla", "oracle"))))
    assert problems and problems[0].startswith("oracle")


def test_bad_slices_name_what_is_wrong():
    with pytest.raises(ValueError, match="trace replay"):
        slice_plans(SweepConfig(specs=("vanilla",), model="random:tiny"))
    with pytest.raises(ValueError, match="continuous"):
        slice_plans(replay_config(32, specs=("vanilla", "continuous")))
    with pytest.raises(ValueError, match="reference"):
        slice_problems({"oracle": slice_plans(replay_config(32))["oracle"]})


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_slice_can_show_its_mechanism(profile):
    """Notebooks 02 and 05 (NUM_LIVE_DATA, at the paper's batch and the profile's) and 07
    (NUM_REPLAY_DATA) replay the paper's lengths live: each schedule has several batches and
    differs from vanilla's."""
    values = PROFILES[profile]
    slices = [(values["NUM_LIVE_DATA"], values["LIVE_MAX_NEW_TOKENS"], PAPER_BATCH_SIZE),
              (values["NUM_LIVE_DATA"], values["LIVE_MAX_NEW_TOKENS"], values["BATCH_SIZE"]),
              (values["NUM_REPLAY_DATA"], values["REPLAY_MAX_NEW_TOKENS"], PAPER_BATCH_SIZE)]
    for num_data, max_new_tokens, batch_size in slices:
        plans = slice_plans(replay_config(num_data, max_new_tokens, batch_size,
                                          specs=PAPER_SPECS))
        assert slice_problems(plans) == [], (profile, num_data, max_new_tokens, batch_size)


def summaries(throughput: float, completion: float, etr: float) -> dict:
    return {"vanilla": {"samples_per_s": 1.0, "mean_completion_s": 1.0,
                        "effective_token_ratio": 0.5},
            "oracle": {"samples_per_s": throughput, "mean_completion_s": completion,
                       "effective_token_ratio": 0.5 * etr}}


def test_verdicts_compare_directions():
    rows = verdicts(summaries(1.5, 0.5, 1.8), summaries(1.2, 1.1, 1.8))
    by_metric = {r["metric"]: r for r in rows}
    assert by_metric["throughput"]["is_same_direction"]
    assert not by_metric["completion"]["is_same_direction"]
    assert by_metric["etr"]["live"] == pytest.approx(1.8)
    lines = verdict_lines(rows)
    assert "DISAGREES" in lines[1] and lines[-1].startswith("2 of 3")
    # a spec the committed run lacks gets no verdict
    assert verdicts(summaries(1.5, 0.5, 1.8), {"vanilla": summaries(1, 1, 1)["vanilla"]}) == []


def test_run_live_slice_measures_and_compares(tmp_path):
    config = replay_config(32, max_new_tokens=64, batch_size=8, specs=("vanilla", "oracle"),
                           device="cpu", out=tmp_path / "live.jsonl", quiet=True)
    threads = torch.get_num_threads()
    first = run_live_slice(config)
    assert torch.get_num_threads() == threads  # restored
    assert first.records["vanilla"]["environment"]["num_threads"] == 1
    assert first.rows == [] and set(first.records) == {"vanilla", "oracle"}
    assert len(first.true_lengths) == 32
    assert first.summaries["oracle"]["effective_token_ratio"] == pytest.approx(
        first.plans["oracle"].summary["effective_token_ratio"], abs=1e-3)
    again = run_live_slice(config, committed=tmp_path / "live.jsonl")  # resumes: same records
    assert {r["metric"] for r in again.rows} == {"throughput", "completion", "etr"}
    assert all(r["is_same_direction"] for r in again.rows)


def test_run_paper_slice_replaces_its_file_and_reports_steps(tmp_path):
    out = tmp_path / "nb_live_32x64.jsonl"
    out.write_text("stale\n")  # a fresh measurement: never resumed from an old file
    live = run_paper_slice("nb_live", "random:tiny", ["vanilla", "oracle"], 32, 64,
                           batch_size=8, device="cpu", out_dir=tmp_path)
    assert out.exists() and "stale" not in out.read_text()
    assert live.num_steps == {n: p.num_steps_total for n, p in live.plans.items()}
    assert live.num_steps["oracle"] < live.num_steps["vanilla"]
    assert live.rows == [] and live.num_agree == 0
    assert live.records["vanilla"]["config"]["group_size"] == PAPER_GROUP_SIZE
