#!/usr/bin/env bash
# Set up, then run the main job on the bundled data: build the dataset, fine-tune,
# evaluate, and label the bundled example articles.
#   CORPUS_DIR=../shared/corpora bash scripts/quickstart.sh   # also use real news when present
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
PY=.venv/bin/python
OUT=${OUT:-runs/quickstart}
EPOCHS=${EPOCHS:-4}
corpus=()
[ -n "${CORPUS_DIR:-}" ] && corpus=(--corpus-dir "$CORPUS_DIR")
start=$(date +%s)
$PY -m data build --out "$OUT/data" "${corpus[@]}"
$PY -m train --data "$OUT/data" --output-dir "$OUT/model" --overwrite --epochs "$EPOCHS"
$PY -m eval --model "$OUT/model" --data "$OUT/data" --out "$OUT/report"
$PY scripts/predict.py --model "$OUT/model" --input data/examples --output "$OUT/predictions.jsonl" \
    --html "$OUT/predictions.html"
cat <<MSG

Done in $(( $(date +%s) - start ))s.
  model:       $OUT/model        (pipeline("text-classification", model="$OUT/model"))
  report:      $OUT/report/report.md
  predictions: $OUT/predictions.jsonl
  HTML view:   $OUT/predictions.html
MSG
