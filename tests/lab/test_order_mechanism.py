"""Notebook 06's mechanism: three layouts of the same answers, and what they show."""

import pytest

from seqsch.lab.order_mechanism import (
    FIRST_COME,
    SHORTEST_FIRST,
    STATIC,
    mechanism,
    mechanism_line,
    mechanism_text,
    mechanism_title,
)


def test_continuous_batching_frees_the_padding_and_shortest_first_cuts_the_wait():
    timeline = mechanism([10, 2, 6, 1], num_slots=2)
    static, first_come, shortest = (timeline["summaries"][k]
                                    for k in (STATIC, FIRST_COME, SHORTEST_FIRST))
    assert timeline["padding"] == static["padding"] == (10 - 2) + (6 - 1)
    assert first_come["padding"] == shortest["padding"] == 0
    assert first_come["busy"] == shortest["busy"] == 19  # the same work in either order
    assert shortest["mean_wait"] < first_come["mean_wait"]
    assert timeline["completion_x"] == pytest.approx(
        shortest["mean_completion"] / first_come["mean_completion"])
    lines = mechanism_text(timeline).splitlines()
    assert lines[0] == "answer lengths: [10, 2, 6, 1]" and len(lines) == 4
    assert lines[1].startswith(f"{STATIC:>27}: mean completion")
    assert mechanism_title(timeline).startswith(
        "4 answers on 2 slots: continuous batching frees 13 padded slot-steps; shortest first "
        "then cuts the mean wait from")
    assert mechanism_line(timeline).startswith("Mechanism (4 answers, 2 slots): continuous "
                                               "batching frees 13 padded slot-steps; shortest "
                                               "first cuts the mean wait from")
