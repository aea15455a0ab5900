"""A live slice says whether it can show the order's effect, and whether it agreed."""

from types import SimpleNamespace

import pytest

from seqsch.lab.live_verdicts import (
    direction,
    lengths_line,
    live_slice_line,
    order_verdict,
    runs_text,
    slice_check,
    slice_lengths,
    slice_line,
    slice_verdicts,
    verdicts_text,
    vllm_verdicts_text,
)


def test_a_slice_that_queues_varied_answers_can_show_the_order():
    check = slice_check([96, 96, 96, 10, 35, 54, 96, 21, 96], num_slots=3)
    assert check["queues"] and check["shows_order"]
    assert check["moved"] > 0 and check["replay_oracle_x"] == pytest.approx(0.767, abs=1e-3)
    assert slice_line(check).endswith("the slice can show the order's effect")


@pytest.mark.parametrize("lengths, slots", [([16, 16, 16, 16], 2),  # the cap cut every answer
                                            ([90, 10], 2),  # nothing waits
                                            ([16, 16, 16, 10], 2)])  # a cut smaller than noise
def test_a_slice_that_cannot_show_the_order_says_so(lengths, slots):
    check = slice_check(lengths, slots)
    assert not check["shows_order"]
    assert "CANNOT" in slice_line(check)


def test_a_verdict_agrees_when_both_ratios_point_the_same_way():
    assert direction(0.7) == "cuts" and direction(1.0) == "does not cut"
    agreed = order_verdict("oracle order", 0.81, 0.70, "step clock", replay_x=0.77)
    assert agreed["agrees"] and agreed["line"].endswith(": agrees")
    assert "its replay 0.77x" in agreed["line"]
    disagreed = order_verdict("oracle order", 1.16, 0.70, "step clock")
    assert not disagreed["agrees"] and disagreed["line"].endswith("DISAGREES")


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="num_slots"):
        slice_check([1, 2], 0)
    with pytest.raises(ValueError, match="no lengths"):
        slice_check([], 1)
    with pytest.raises(ValueError, match="live_x"):
        order_verdict("x", 0.0, 1.0, "step clock")


def test_a_verdict_names_its_reference():
    line = order_verdict("head order with its prediction", 0.93, 0.91, "its replay plus its "
                         "prediction time", reference="expected")["line"]
    assert "expected 0.91x" in line and "committed" not in line and line.endswith("agrees")


class FakeRun:
    """What the slice reads of an engine run: its summary, extra and per-request results."""

    def __init__(self, mean_s: float, lengths, prediction_s: float = 0.0, steps: float = 10.0):
        self.results = [SimpleNamespace(num_output_tokens=n, completion_s=mean_s) for n in lengths]
        self.extra = {"prediction_s": prediction_s} if prediction_s else {}
        self._summary = {"mean_completion_s": mean_s, "samples_per_s": 0.5,
                         "mean_completion_steps": steps}

    def summary(self) -> dict:
        return self._summary


LENGTHS = [96, 10, 35, 54, 21, 96]
CLOCK = {"reference": "seed 0", "steps": {"seed 0": {"vllm+oracle": 0.7, "vllm+rank-head": 0.8}},
         "seconds_specs": ["vllm", "vllm+oracle", "vllm+rank-head"],
         "seconds_done": {"vllm+rank-head": 1.05}, "num_rounds": 3}


def runs(head_s: float = 9.0, prediction_s: float = 2.0) -> dict:
    return {"first come": FakeRun(10.0, LENGTHS), "oracle order": FakeRun(8.0, LENGTHS),
            "head order": FakeRun(head_s, LENGTHS, prediction_s)}


def test_the_slice_reports_its_lengths_and_runs():
    assert slice_lengths(runs()) == LENGTHS
    assert lengths_line(runs()) == f"answer lengths: {LENGTHS}; the same in every order: True"
    other = {**runs(), "oracle order": FakeRun(8.0, LENGTHS[::-1])}
    assert lengths_line(other).endswith("the same in every order: False")
    lines = runs_text(runs(), num_data=6).splitlines()
    assert lines[0] == "   first come: mean completion 10.0 s, 0.500 samples/s"
    assert lines[2].endswith("(prediction 2.00 s, 333 ms a prompt)")


def test_the_head_is_judged_alone_and_with_its_prediction():
    check = slice_check(LENGTHS, 2)
    result = slice_verdicts(runs(), {"head order": LENGTHS}, check, CLOCK, "rank-head")
    oracle, alone, paid = result["verdicts"]
    assert result["note"] is None and oracle["live_x"] == pytest.approx(0.8)
    assert oracle["committed_x"] == 0.7 and oracle["agrees"]
    assert alone["live_x"] == pytest.approx((9.0 - 2.0) / 10.0) and alone["committed_x"] == 0.8
    replay_x = check["replay_oracle_x"]  # the head predicts the true lengths here
    assert paid["committed_x"] == pytest.approx(replay_x + 0.2)
    assert "expected" in paid["line"] and "median of 3 rounds" in paid["line"]
    assert verdicts_text(result).splitlines() == [v["line"] for v in result["verdicts"]]
    assert not paid["agrees"]  # 0.90x live, but its replay plus 0.2 expects no cut
    assert live_slice_line(check, result["verdicts"]).startswith(
        "Live slice (6 prompts, 2 slots, can show the order): 2 of 3 ratios agree")


def test_a_head_without_a_committed_run_is_noted():
    result = slice_verdicts(runs(), {"head order": LENGTHS}, slice_check(LENGTHS, 2), CLOCK,
                            "length-head")
    assert len(result["verdicts"]) == 1
    assert verdicts_text(result).startswith("no committed vLLM run orders by length-head")


def test_vllm_runs_are_read_on_the_step_clock():
    vllm = {"first come": FakeRun(1, LENGTHS, steps=100.0),
            "oracle order": FakeRun(1, LENGTHS, steps=120.0)}
    line, = vllm_verdicts_text(vllm, CLOCK, "rank-head").splitlines()
    assert line.startswith("vLLM live, oracle order: live 1.20x first come's (does not cut)")
    assert line.endswith("DISAGREES")
