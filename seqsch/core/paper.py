"""The paper's published numbers and settings, in one place.

*Response Length Perception and Sequence Scheduling* (Zheng et al., NeurIPS 2023, arXiv
2305.13144) and the defaults of its code: the benchmark's settings, its VBS table, what its
tuned length module scored, and the rows it measured on one A100. Every layer reads them from
here (the scheduler its VBS table, the replay its sample, the results page its reference
numbers); none of them is an input that a run measures.

    from seqsch.core.paper import PAPER_ROWS, PAPER_VBS_TABLE
"""

from __future__ import annotations

# The benchmark: Vicuna-7B answering Alpaca prompts, greedy, at most 512 new tokens, static
# batches of 16; its sample is `EvalDataset.sample(1024, seed=42)` of the 10,000 validation
# prompts, scheduled in consecutive groups of 256.
PAPER_MAX_NEW_TOKENS = 512
PAPER_BATCH_SIZE = 16
PAPER_SAMPLE_SIZE, PAPER_SAMPLE_SEED, PAPER_GROUP_SIZE = 1024, 42, 256
# The temperatures of its length files (the longest of the four answers is its target).
PAPER_TEMPERATURES = (0.0, 0.3, 0.5, 0.7)
# VBS: (bucket upper bound in tokens, batch size); longer buckets use the batch size (16).
PAPER_VBS_TABLE: tuple[tuple[int, int], ...] = ((50, 256), (100, 128), (150, 64), (200, 32))
# Its tuned length module on its validation set (Vicuna-7B): error in tokens, Acc-50, Acc-100.
PAPER_MODULE_ACCURACY = {"error": 62.0, "acc50": 0.59, "acc100": 0.81}
# Its measured rows (one A100, the 1,024 prompts in groups of 256), by run spec: vanilla, its
# module's sort (here the stand-in's), the module with VBS and FCR, the oracle with both.
PAPER_ROWS = {
    "vanilla": {"samples_per_s": 1.39, "effective_token_ratio": 0.3391, "avg_length": 370.84},
    "standin": {"samples_per_s": 1.64, "effective_token_ratio": 0.4217, "avg_length": 297.48},
    "standin+vbs+fcr": {"samples_per_s": 2.30, "effective_token_ratio": 0.4722,
                        "avg_length": 215.06, "failure_ratio": 0.165},
    "oracle+vbs+fcr": {"samples_per_s": 2.69, "effective_token_ratio": 0.6157,
                       "avg_length": 196.34},
}
