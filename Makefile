# The two commands of the README, and a few helpers. Each sets up what it needs first.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PROFILE ?= cpu

.PHONY: figures test test-fast lint setup lab vllm-test results

setup:
	@bash scripts/setup.sh >/dev/null

# Main job: run every notebook headless, regenerate figures/ and the results page (docs/results.md).
figures:
	@PY=$$(bash scripts/setup.sh | tail -n 1) && $$PY -m seqsch.lab --profile $(PROFILE)

# The test suite (CI runs exactly this).
test:
	@PY=$$(bash scripts/setup.sh | tail -n 1) && $$PY -m pytest -q -ra --durations=15

test-fast:
	@PY=$$(bash scripts/setup.sh | tail -n 1) && $$PY -m pytest -q -m "not slow"

lint:
	@PY=$$(bash scripts/setup.sh | tail -n 1) && $$PY -m ruff check seqsch tests

lab:
	@PY=$$(bash scripts/setup.sh | tail -n 1) && $$PY -m pip install -q jupyterlab && $$PY -m jupyter lab notebooks

# The optional vLLM engine, in its own environment (.venv-vllm, ~3.4 GB): its tests, unskipped.
vllm-test:
	@PY=$$(bash scripts/setup_vllm.sh | tail -n 1) && $$PY -m pytest -q -ra tests/engines/test_vllm_engine.py \
		tests/bench/test_serving_bench.py -k vllm

# The results page alone, from data/ (instant; make figures also writes it).
results:
	@PY=$$(bash scripts/setup.sh | tail -n 1) && $$PY -m seqsch.lab --results
