"""The playground's "Try this" section tells the learner what to expect; these tests hold the
panel to it. Each experiment is built the way the playground's own cell builds it (one
`shipped_panel` per choice, on the simulator: no model, a fraction of a second each), and the
thresholds are the words of the text ("nearly half", "hardly moves", "most", "exactly 1.00x").
A test that fails here means the text no longer says what the panel shows: fix the text (or the
panel), not the threshold."""

import json

import pytest

from seqsch.lab.notebooks import PLAYGROUND
from seqsch.lab.playground_experiments import scheduled, share_at_cap, share_in_top_bin

CPU, A100 = "cpu-smollm2-135m", "a100-80gb-vicuna7b"
PAPER = {"workload": "paper-vicuna", "cost_model": A100, "group_size": 256}


@pytest.fixture(scope="module")
def try_this() -> str:
    cells = json.loads(PLAYGROUND.read_text())["cells"]
    texts = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return " ".join(next(t for t in texts if t.startswith("## Try this")).split())


def test_the_text_still_makes_the_claims_tested_here(try_this):
    # so that an edit of a claim meets its test
    for words in ("`priority-head-l4`", "nearly half", "hardly moves", "`lora`", "top bin",
                  "orange warning", "the warning goes", "larger than on the CPU",
                  "more so with VBS", "`oracle`, `oracle-max4` and `standin`", "`constant`",
                  "close to the stand-in, or passes it", "speed-up 1.00x", "keeps a gain"):
        assert words in try_this, words


def test_fcr_with_the_layer_4_head_fails_nearly_half_and_hardly_moves_the_speed_up():
    (off_panel, off), (on_panel, on) = (scheduled(predictor="priority-head-l4"),
                                        scheduled(predictor="priority-head-l4", fcr=True))
    assert off["failure_ratio"] == 0  # "from zero"
    assert 0.4 <= on["failure_ratio"] <= 0.5  # "nearly half of the requests"
    assert on["effective_token_ratio"] > off["effective_token_ratio"] + 0.02  # "goes up"
    assert abs(on_panel.speedup - off_panel.speedup) < 0.05  # "hardly moves"
    # relatively, the waste moves more than the throughput: the recomputations eat the gain
    etr_gain = on["effective_token_ratio"] / off["effective_token_ratio"] - 1
    assert abs(on_panel.speedup / off_panel.speedup - 1) < etr_gain / 2


def test_lora_puts_most_predictions_in_the_top_bin_and_stays_close_to_vanilla():
    (off_panel, _), (on_panel, on) = scheduled(predictor="lora"), scheduled(predictor="lora",
                                                                             fcr=True)
    assert share_in_top_bin(on_panel, "lora") > 0.5  # "most of its predictions"
    assert share_at_cap(on_panel, "oracle-max4") > 0.5  # its target hits the cap for most
    for panel in (off_panel, on_panel):
        assert abs(panel.speedup - 1) < 0.05  # "close to vanilla"
    assert on["failure_ratio"] < 0.05  # "FCR finds next to nothing to cut"
    oracle, _ = scheduled()
    assert oracle.speedup > off_panel.speedup + 0.3  # close to vanilla, not to the oracle


@pytest.mark.parametrize("choices", [{"vbs": True}, {"batch_size": 65}],
                         ids=["vbs", "batch-65"])
def test_past_the_calibrated_batch_sizes_a_warning_that_the_a100_model_lifts(choices):
    cpu, _ = scheduled(cost_model=CPU, **choices)
    a100, _ = scheduled(cost_model=A100, **choices)
    assert cpu.biggest_batch > 64 and "Extrapolation" in cpu.warning.value  # orange warning
    assert a100.warning.value == "" and "analytic" in a100.notes.value  # "the warning goes"
    assert a100.speedup > cpu.speedup  # "larger than on the CPU"


def test_the_a100_gain_over_the_cpu_is_larger_with_vbs():
    plain = {m: scheduled(cost_model=m)[0].speedup for m in (CPU, A100)}
    vbs = {m: scheduled(cost_model=m, vbs=True)[0].speedup for m in (CPU, A100)}
    assert plain[A100] > plain[CPU]
    assert vbs[A100] - vbs[CPU] > plain[A100] - plain[CPU]  # "more so with VBS"


def test_on_the_paper_workload_better_lengths_buy_a_larger_speed_up():
    speedup = {name: scheduled(predictor=name, vbs=True, fcr=True, **PAPER)[0].speedup
               for name in ("oracle", "oracle-max4", "standin", "constant")}
    assert speedup["oracle"] > speedup["oracle-max4"] > speedup["standin"] > 1
    # "comes close to the stand-in, or passes it"
    assert speedup["constant"] > 0.95 * speedup["standin"]


def test_without_vbs_and_fcr_the_constant_is_vanilla_and_the_standin_keeps_a_gain():
    constant, _ = scheduled(predictor="constant", **PAPER)
    standin, _ = scheduled(predictor="standin", **PAPER)
    assert f"{constant.speedup:.2f}x" == "1.00x" and constant.speedup == pytest.approx(1.0)
    assert standin.speedup > 1.1  # "keeps a gain"
