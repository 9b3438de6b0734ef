#!/usr/bin/env bash
# Kill scripts/predict.py with SIGKILL at random points, resume each time, and check
# the final output equals an uninterrupted run's.
#   bash scripts/chaos_predict.sh MODEL_DIR INPUT [KILLS]
set -euo pipefail
model=$1; input=$2; kills=${3:-5}
PY=${PY:-python}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
run() { $PY "$(dirname "$0")/predict.py" --model "$model" --input "$input" --output "$work/$1" --quiet --chunk-size 16 "${@:2}"; }
run clean.jsonl
for k in $(seq "$kills"); do
  run chaos.jsonl --resume & pid=$!
  sleep "0.$((RANDOM % 9 + 1))"$((RANDOM % 3))
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "kill $k: $(cat "$work/.chaos.jsonl.progress" 2>/dev/null || echo 'finished or not started')"
done
run chaos.jsonl --resume
if cmp -s "$work/clean.jsonl" "$work/chaos.jsonl"; then
  echo "OK: resumed output equals the clean run ($(wc -l < "$work/clean.jsonl") records)"
else
  echo "FAIL: resumed output differs from the clean run" >&2; exit 1
fi
