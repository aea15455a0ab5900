"""A live slice says whether it can show the order's effect, and whether it agreed."""

import pytest

from seqsch.lab.live_verdicts import direction, order_verdict, slice_check, slice_line


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
