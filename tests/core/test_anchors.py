"""The published anchors: each label names its measurement, and the targets stand on them."""

from __future__ import annotations

from seqsch.core.anchors import RANKER_COMPARISON_ANCHORS, RECORDED_RANKER_ANCHORS


def test_two_reruns_of_one_ranker_are_told_apart():
    labels = [*RECORDED_RANKER_ANCHORS, *RANKER_COMPARISON_ANCHORS]
    assert len(set(labels)) == len(labels)
    opt = [label for label in labels if "OPT-125M" in label]
    assert len(opt) == 2 and any("published" in label for label in opt)
    assert any("comparison" in label for label in opt)


def test_the_recorded_target_is_the_published_figure():
    published = [tau for label, tau in RECORDED_RANKER_ANCHORS.items() if "published" in label]
    assert published == [0.52]
    assert all(0 < tau < 1 for tau in [*RECORDED_RANKER_ANCHORS.values(),
                                       *RANKER_COMPARISON_ANCHORS.values()])
