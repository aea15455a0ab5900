"""The slot timeline draws every request in its slot, the padding and the wait."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from seqsch.lab.timeline_plots import slot_timeline_chart  # noqa: E402
from seqsch.scheduling.slot_timeline import continuous_timeline, static_timeline  # noqa: E402

LENGTHS = [5, 1, 2, 4]


def test_each_order_gets_a_slot_panel_and_a_waiting_strip():
    panels = {"static": static_timeline(LENGTHS, None, 2),
              "first come": continuous_timeline(LENGTHS, None, 2),
              "shortest first": continuous_timeline(LENGTHS, LENGTHS, 2)}
    fig = slot_timeline_chart(panels, "shortest first waits least")
    assert len(fig.axes) == 2 * len(panels)
    static_ax, first_come_ax = fig.axes[0], fig.axes[2]
    assert "6 slot-steps of padding" in static_ax.get_title(loc="left")
    assert "padding" not in first_come_ax.get_title(loc="left")
    assert "mean completion 4 steps" in first_come_ax.get_title(loc="left")  # (5 + 1 + 3 + 7) / 4
    assert len(static_ax.collections) == len(LENGTHS) + 2  # a bar each, #1 and #2 padded
    assert {t.get_text() for t in first_come_ax.texts} == {"#0", "#1", "#2", "#3"}
    assert fig._suptitle.get_text() == "shortest first waits least"
    plt.close(fig)


def test_an_empty_panel_is_refused():
    with pytest.raises(ValueError, match="every panel needs runs"):
        slot_timeline_chart({"first come": []}, "title")
    with pytest.raises(ValueError, match="every panel needs runs"):
        slot_timeline_chart({}, "title")
