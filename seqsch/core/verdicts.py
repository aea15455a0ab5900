"""Verdicts that put a ratio measured live beside a committed (or reference) one.

A notebook's live slice is small and its machine shared, so each headline ratio is printed beside
the committed measurement of the same thing, with a verdict: `direction_line` asks whether the
two move the same way from 1 (within a flat band), `magnitude_line` whether two ratios that are
both above 1 by nature (a step of more rows never costs less) are within a tolerance of each
other. Each names why they may differ, when they do.

    direction_line("ETR, batch 16 over 4", 0.72, 0.70, "the committed replay")
    magnitude_line("step, 16 rows over 8", 1.4, 1.1, "the analytic A100", "a CPU's rows")
"""

from __future__ import annotations

FLAT_BAND = 0.05  # a ratio within 5% of 1 counts as no move
TOLERANCE = 0.25  # two ratios within 25% of each other agree
MOVES = ("rises", "falls", "flat")  # the words for a ratio above, below and at 1


def direction(ratio: float, band: float = FLAT_BAND,
              words: tuple[str, str, str] = MOVES) -> str:
    """Where a ratio moved from 1: `words` = (above, below, within `band`)."""
    return words[0] if ratio > 1 + band else words[1] if ratio < 1 - band else words[2]


def direction_line(label: str, live: float, committed: float, committed_label: str,
                   why_differ: str = "", band: float = FLAT_BAND,
                   words: tuple[str, str, str] = MOVES) -> str:
    """`label: here 0.72x (falls), <committed_label> 0.70x (falls): agree`, or `differ: why`."""
    moves = direction(live, band, words), direction(committed, band, words)
    verdict = "agree" if moves[0] == moves[1] else "differ" + (f": {why_differ}" * bool(why_differ))
    return (f"{label}: here {live:.2f}x ({moves[0]}), {committed_label} {committed:.2f}x "
            f"({moves[1]}): {verdict}")


def magnitude_line(label: str, live: float, reference: float, reference_label: str,
                   why_differ: str = "", tolerance: float = TOLERANCE) -> str:
    """`label: here 1.40x, <reference_label> 1.10x: differ by +27%: why`, or `agree` when the
    two are within `tolerance` of each other."""
    gap = live / reference - 1
    verdict = ("agree" if abs(gap) <= tolerance
               else f"differ by {gap:+.0%}" + (f": {why_differ}" * bool(why_differ)))
    return f"{label}: here {live:.2f}x, {reference_label} {reference:.2f}x: {verdict}"
