"""Published results of other length predictors: the anchors this project's targets stand beside.

Each number is another team's, measured on another model's answers; a comparison table shows it
as an anchor, never as a row of this project's own evaluations. The same ranker (vllm-ltr's
OPT-125M, NeurIPS 2024) appears in two public reruns with two numbers, so every label says which
measurement it quotes:

    from seqsch.core.anchors import RECORDED_RANKER_ANCHORS, RANKER_COMPARISON_ANCHORS
"""

from __future__ import annotations

# Kendall's tau of rankers trained on a workload's recorded answer lengths, on ShareGPT: the
# anchors of the recorded-lengths targets (tau >= 0.52, `seqsch.lab.recorded_results.TARGETS`).
RECORDED_RANKER_ANCHORS = {
    "vllm-ltr's OPT-125M ranker, fully fine-tuned on Llama-3-8B's ShareGPT answers "
    "(as published)": 0.52,
    "the same ranker, rerun on ShareGPT by an independent group": 0.50,
}
# One public comparison of length predictors that reruns vllm-ltr's ranker beside two others
# (another rerun than the ShareGPT one above, on that comparison's own model and workload).
RANKER_COMPARISON_ANCHORS = {
    "OPT-125M ranker, ListMLE loss (vllm-ltr, in a comparison rerun)": 0.559,
    "BERT pairwise ranker (the same comparison)": 0.596,
    "10-bucket length classifier (the same comparison)": 0.194,
}
