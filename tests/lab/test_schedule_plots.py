"""The rows x steps picture: one panel per schedule, its area the row-steps computed."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from seqsch.lab.schedule_plots import CUT, PADDING, USEFUL, _row_segments, padding_map  # noqa: E402
from seqsch.scheduling.scheduler import SchedulerConfig  # noqa: E402
from seqsch.scheduling.simulate import simulate  # noqa: E402

LENGTHS = [10, 90, 20, 30, 5, 120]


def plans():
    vanilla = simulate(LENGTHS, [None] * 6, SchedulerConfig("vanilla", batch_size=2,
                                                            max_new_tokens=128))
    capped = simulate(LENGTHS, [10, 10, 20, 30, 5, 60],  # two answers overrun their bins
                      SchedulerConfig("bin", batch_size=2, max_new_tokens=128, fcr=True))
    return {"vanilla": vanilla, "bin+fcr": capped}


def test_segments_cover_every_row_step():
    for plan in plans().values():
        bars, blocks = _row_segments(plan, LENGTHS)
        assert sum(w for _, w, _, _ in bars) == sum(b.num_slots for b in plan.batches)
        useful = sum(w for _, w, _, c in bars if c == USEFUL)
        assert useful == sum(b.num_output_tokens for b in plan.batches)
        assert [steps for _, steps, _ in blocks] == [b.num_steps for b in plan.batches]


def test_only_fcr_cuts_are_red():
    vanilla, capped = plans().values()
    assert not [c for *_, c in _row_segments(vanilla, LENGTHS)[0] if c == CUT]
    cut = [y for *_, y, c in _row_segments(capped, LENGTHS)[0] if c == CUT]
    assert len(cut) == len(capped.failed_indices) > 0
    assert any(c == PADDING for *_, c in _row_segments(vanilla, LENGTHS)[0])


def test_padding_map_titles_each_schedule():
    fig = padding_map(plans(), LENGTHS, "sorting removes the grey", labels={"vanilla": "first"})
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[0].startswith("first: 3 batches") and "ETR" in titles[1]
    assert fig._suptitle.get_text() == "sorting removes the grey"
    with pytest.raises(ValueError):
        padding_map({}, LENGTHS, "empty")
