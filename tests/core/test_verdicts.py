"""Verdicts: a live ratio beside a committed one, by direction or by size."""

from seqsch.core.verdicts import direction, direction_line, magnitude_line


def test_direction_names_a_move_from_one_with_a_flat_band():
    assert [direction(r) for r in (1.3, 0.8, 1.01, 0.96)] == ["rises", "falls", "flat", "flat"]
    assert direction(1.01, band=0.005) == "rises"
    assert direction(2.0, words=("worse", "better", "even")) == "worse"


def test_direction_line_agrees_on_the_same_move_and_says_why_not():
    assert direction_line("ETR", 1.0, 0.98, "committed") == (
        "ETR: here 1.00x (flat), committed 0.98x (flat): agree")
    line = direction_line("ETR", 0.6, 1.0, "committed", "the cap censors the waste")
    assert line.endswith("(falls), committed 1.00x (flat): differ: the cap censors the waste")
    assert direction_line("ETR", 0.6, 1.0, "committed").endswith(": differ")


def test_magnitude_line_compares_sizes_within_a_tolerance():
    assert magnitude_line("step", 1.2, 1.1, "A100") == "step: here 1.20x, A100 1.10x: agree"
    assert magnitude_line("step", 1.5, 1.0, "A100", "noisy").endswith("differ by +50%: noisy")
    assert magnitude_line("step", 0.5, 1.0, "A100").endswith("differ by -50%")
