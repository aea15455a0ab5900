"""Benchmarks: run specs, predictor provenance, workloads and oracles, calibration, the sweep
runner and its resumable records, reports, length collection and the paper's trace replay."""
