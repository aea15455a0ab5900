#!/usr/bin/env bash
# The paper's table on a GPU, by trace replay: the Vicuna-7B shape with random weights in bf16
# (no checkpoint needed), the first NUM_DATA prompts (default 256, one group) of the paper's
# 1,024-prompt sample, its five rows back to back in one process with the simulator's
# prediction beside each (cost model fitted to this GPU's own vanilla and calibration steps).
# Writes OUT_DIR/replay.jsonl, OUT_DIR/replay.md and OUT_DIR/replay_<model>.png.
#
#   bash scripts/gpu_replay.sh [OUT_DIR]     # default build/replay-gpu; needs torch + transformers
#   NUM_DATA=1024 bash scripts/gpu_replay.sh  # the paper's whole sample (four groups, ~4x longer)
#   REPLAY=sharegpt-recorded bash scripts/gpu_replay.sh build/replay-gpu-recorded
#                                             # the recorded-lengths test split, the recorded head
#   DEVICE=cpu MODEL=random:tiny DTYPE=float32 NUM_DATA=32 MAX_NEW_TOKENS=32 \
#     bash scripts/gpu_replay.sh build/replay-check   # the same path on a CPU, in seconds
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-build/replay-gpu}"
. scripts/gpu_common.sh
if [ "$DEVICE" = cuda ]; then
  WHERE="$("$PY" -c 'import torch; print(torch.cuda.get_device_name())')"
else
  WHERE="$DEVICE"
fi
REPLAY="${REPLAY:-paper-val}"
case "$REPLAY" in  # each replay's learned source: the stand-in, or the recorded head
  paper-val) LEARNED=standin ;;
  sharegpt-recorded) LEARNED=recorded-head ;;
  *) echo "REPLAY must be paper-val or sharegpt-recorded, not $REPLAY" >&2; exit 2 ;;
esac
mkdir -p "$OUT_DIR"
"$PY" -m seqsch.bench sweep --replay "$REPLAY" --model "$MODEL" --device "$DEVICE" \
  --dtype "${DTYPE:-bf16}" --num-data "${NUM_DATA:-256}" --group-size 256 --batch-size 16 \
  --max-new-tokens "${MAX_NEW_TOKENS:-512}" \
  --specs vanilla "$LEARNED" "$LEARNED+vbs+fcr" oracle+vbs+fcr gt --out "$OUT_DIR/replay.jsonl"
NAME="replay_$(echo "${MODEL#random:}" | tr -c 'A-Za-z0-9\n' '_')"
SEQSCH_FIGURES="$OUT_DIR" "$PY" -m seqsch.bench paper-table --replay "$OUT_DIR/replay.jsonl" \
  --markdown "$OUT_DIR/replay.md" --figure "$NAME" \
  --title "The paper's table replayed on $WHERE ($MODEL, $REPLAY)"
