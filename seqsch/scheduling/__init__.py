"""Scheduling: the scheduler (sort, bin, VBS, FCR), priority order, the paper's metrics, cost
models and the simulator. Pure Python, no torch: instant to test and to drive from a slider."""
