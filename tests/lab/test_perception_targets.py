"""Notebook 03's censored targets: the tuning set's labels, the module's collapse, the
retrained module, each number read from its data file."""

import json

import pytest

from seqsch.core.length_records import LengthRecord
from seqsch.core.paths import DATA_DIR, DEFAULT_LENGTHS
from seqsch.lab.perception_targets import (
    censored_targets,
    collapse_text,
    eval_predictions,
    greedy_label_text,
    module_collapse,
    predictions_against,
    share_at_least,
    targets_text,
    top_bin_edge,
)
from seqsch.perception.buckets import bucket_of, bucket_to_length


@pytest.fixture(scope="module")
def targets():
    return censored_targets(DEFAULT_LENGTHS)


def test_the_cap_bucket_share_is_the_share_of_longest_answers_at_the_cap(targets):
    train = targets["train_records"]
    assert targets["cap"] == 512 and targets["cap_label"] == "550"
    assert len(targets["tuning_set"]) == len(train) == 800
    in_cap_bucket = [bucket_to_length(bucket_of(r.max_length)) == 550 for r in train]
    assert targets["cap_share"] == pytest.approx(sum(in_cap_bucket) / len(train))
    assert targets["cap_share"] >= sum(r.max_length >= 512 for r in train) / len(train)
    assert 0.5 < targets["cap_share"] < 0.6  # the notebook's "56%"
    text = targets_text(targets)
    assert text.startswith("800 tuning examples; one of them:\n")
    assert text.endswith(f"{targets['cap_share']:.0%} of the targets are the cap's bucket \"550\" "
                         "(the longest of 4 answers reached the 512-token cap)")


def test_predictions_meet_their_truths_by_prompt_id():
    predictions = [{"id": "b", "pred": 30}, {"id": "a", "pred": 10}]
    assert predictions_against(predictions, {"a": 1, "b": 2}) == ([30, 10], [2, 1])
    with pytest.raises(ValueError, match="no truth for 1"):
        predictions_against(predictions, {"a": 1})


def test_shares_and_the_top_bin():
    assert share_at_least([1, 5, 5, 9], 5) == 0.75 and share_at_least([], 1) == 0.0
    assert top_bin_edge(512) == 500 and top_bin_edge(500) == 450


def test_the_module_collapses_onto_the_cap_bucket(targets):
    collapse = module_collapse(targets)
    shipped = eval_predictions("lora-generate")
    assert collapse["top"] == 500 and len(collapse["lora"]) == len(targets["val_records"])
    assert collapse["share_top_generate"] == pytest.approx(
        sum(p["pred"] >= 500 for p in shipped) / len(shipped))
    assert collapse["share_top"] > 0.5  # most bucket medians land in the top bin too
    assert sum(collapse["outputs"].values()) == len(shipped)
    main = {"constant": {"error": 139.25, "kendall_tau": 0.0}}
    text = collapse_text(collapse, main)
    assert f"error {collapse['generate']['error']:.1f} tokens" in text
    assert text.endswith("(the constant train median: 139.2, 0.00)")


def test_the_retrained_module_is_read_against_its_constant(targets, tmp_path):
    summaries = {"lora-greedy": {"error": 100.0, "acc50": 0.2, "acc100": 0.3, "kendall_tau": 0.1},
                 "constant-greedy": {"error": 120.0, "acc50": 0.25, "acc100": 0.3,
                                     "kendall_tau": 0.0}}
    for stem, summary in summaries.items():
        (tmp_path / f"perception-eval-{stem}.json").write_text(json.dumps({"summary": summary}))
    few = {**targets, "cap_share": 0.5,
           "train_records": [LengthRecord(f"r{n}", {0.0: n, 0.7: 512}, {})
                             for n in (512, 40, 9, 7)]}
    text = greedy_label_text(few, tmp_path)
    assert text.startswith("the greedy answer reaches the 512-token cap for 25% of the train "
                           "prompts (the longest of 4: 50%)")
    assert text.splitlines()[2] == ("retrained module (bucket median)        100.0   20.0%    "
                                    "30.0%  +0.10")
    assert text.endswith("beats the constant on 2 of the 4 metrics (error, kendall_tau).")
    shipped = greedy_label_text(targets, DATA_DIR)
    assert "the greedy answer reaches the 512-token cap for 25% of the train prompts" in shipped
