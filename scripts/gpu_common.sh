# Shared by the GPU scripts, sourced from the repository root: the python, the random-weight
# shape and the device (PYTHON, MODEL, DEVICE), the checkout on PYTHONPATH, and a clear stop
# where DEVICE is cuda but no CUDA device is.
PY="${PYTHON:-python3}"
MODEL="${MODEL:-random:llama2-7b}"
DEVICE="${DEVICE:-cuda}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # runs from the checkout, installed or not
if [ "$DEVICE" = cuda ]; then
  "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else
    'no CUDA device here: this script times a GPU (DEVICE=cpu runs the same path on a CPU)')"
fi
