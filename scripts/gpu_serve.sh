#!/usr/bin/env bash
# Serving under load on a GPU: the project's continuous engine (transformers' continuous
# batching, `python -m seqsch.bench serve`) serving the Vicuna-7B shape with random weights in
# bf16 (no checkpoint needed) to the first NUM_REQUESTS recorded-length test prompts, arriving
# as Poisson streams at RATES requests/s and as a burst, each answer forced to its recorded
# length. Policies: first come, the oracle, prompt-length order and the recorded head's
# committed test predictions, whose cost in each request's path is PREDICTOR_S (default: the
# head's measured share of a 7B request's FLOPs at the A100 model's capacity, as the results
# page's section 8 prices it). Each cell stands beside the simulator fitted to the run.
# Writes OUT_DIR/serving.jsonl and OUT_DIR/serving.log. Not yet run on a GPU: the defaults (64
# requests, 1 and 2 requests/s and a burst) aim at 8 minutes if a 16-row step of the 7B shape
# takes about 30 ms there; RATES and NUM_REQUESTS resize it.
#
#   bash scripts/gpu_serve.sh [OUT_DIR]        # default build/serving-gpu; torch + transformers
#   DEVICE=cpu MODEL=random:tiny DTYPE=float32 NUM_REQUESTS=8 RATES="50 inf" MAX_NEW_TOKENS=16 \
#     bash scripts/gpu_serve.sh build/serving-check   # the same path on a CPU, in seconds
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-build/serving-gpu}"
. scripts/gpu_common.sh
if [ "$DEVICE" != cuda ]; then
  export CUDA_VISIBLE_DEVICES=""  # the engine loads on the device torch picks: keep it off
fi
PREDICTOR_S="${PREDICTOR_S:-$("$PY" -c 'from seqsch.bench.serving_projection import project_serving
print(round(project_serving()["predictor_s_per_request"], 6))')}"
mkdir -p "$OUT_DIR"
"$PY" -m seqsch.bench serve --engine continuous --model "$MODEL" --dtype "${DTYPE:-bf16}" \
  --workload sharegpt-recorded --num-requests "${NUM_REQUESTS:-64}" \
  --max-new-tokens "${MAX_NEW_TOKENS:-512}" --num-slots "${NUM_SLOTS:-16}" \
  --request-rates ${RATES:-1 2 inf} --policies first-come oracle prompt-length recorded-head \
  --predictor-s "$PREDICTOR_S" --out "$OUT_DIR/serving.jsonl" | tee "$OUT_DIR/serving.log"
