#!/usr/bin/env bash
# The README's first line: set up, then build the dataset, fine-tune, evaluate and label the
# example articles. Real news is used whenever it is found (see --help).
set -euo pipefail
usage() {
  cat <<'EOF'
usage: bash scripts/quickstart.sh [--help]

Creates .venv, installs the project, then runs the main job:
  stance-build   real gold (the corpora in ../shared/corpora beside this checkout, or CORPUS_DIR)
                 plus the bundled team-written corpus -> runs/quickstart/data
  stance-train   the quick recipe train/configs/quickstart.yaml -> runs/quickstart/model
                 (the classifier, and the span model for who said it in model/spans)
  stance-eval    scores on the real test split, per source -> runs/quickstart/report
  stance-predict the example articles in data/examples -> predictions.jsonl and predictions.html

Environment:
  CORPUS_DIR=DIR     corpora laid out like shared/corpora (seeds/, fnc1/, reuters/)
  AUTHORED_ONLY=1    ignore real text: a demo model that does not transfer to real news
  EPOCHS=N           train N epochs instead of the recipe's step budget
  OUT=DIR            where everything goes (default runs/quickstart)
  EXTRAS=a,b         optional dependency groups to install (default test,html; see pyproject.toml)
EOF
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
EXTRAS=${EXTRAS:-test,html} bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
BIN=.venv/bin
OUT=${OUT:-runs/quickstart}
build=()
if [ -n "${AUTHORED_ONLY:-}" ]; then
  build=(--authored-only)
elif [ -n "${CORPUS_DIR:-}" ]; then
  build=(--corpus-dir "$CORPUS_DIR")
fi
real=$($BIN/python -c 'import sys; from data.__main__ import real_corpus_dir as r; print(r(sys.argv[2] or None, bool(sys.argv[1])) or "")' \
  "${AUTHORED_ONLY:-}" "${CORPUS_DIR:-}")
DEMO="note: no real news found, so this is a DEMO model trained on team-written text only; it does not transfer to real news (about 0.40 macro-F1 there). Put real corpora in ../shared/corpora or set CORPUS_DIR (layout: README, 'Data')."
[ -z "$real" ] && echo "$DEMO"
# bf16 halves training time on CPUs with AVX512-BF16 or AMX; elsewhere fp32.
dtype=fp32
grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo 2>/dev/null && dtype=bf16
epochs=()
[ -n "${EPOCHS:-}" ] && epochs=(--epochs "$EPOCHS")
start=$(date +%s)
$BIN/stance-build --output-dir "$OUT/data" "${build[@]}"
$BIN/stance-train --data "$OUT/data" --output-dir "$OUT/model" --overwrite --config train/configs/quickstart.yaml \
  --dtype "$dtype" "${epochs[@]}"
$BIN/stance-eval --model "$OUT/model" --data "$OUT/data" --output-dir "$OUT/report"
$BIN/stance-predict --model "$OUT/model" --input data/examples --output "$OUT/predictions.jsonl" \
  --html "$OUT/predictions.html" --overwrite
cat <<MSG

Done in $(( $(date +%s) - start ))s (training in $dtype).
$($BIN/python - "$OUT/model/metrics.json" "$OUT/report/report.json" <<'PY'
import json, sys
from eval.report import text_kind
m, r = (json.load(open(f)) for f in sys.argv[1:])
print(f"  test split macro-F1 {m['test']['test_macro_f1']:.3f} on {', '.join(m.get('test_by_source', {})) or 'the test split'}:")
for src, s in m.get("test_by_source", {}).items():
    print(f"    {src:8s} {s['macro_f1']:.3f} on {s['n']} sentences ({text_kind(src)}, never seen in training)")
t = r.get("spans")
if t:
    f1 = lambda k, how: (lambda s: f"{s['f1']:.3f} [{s['ci95'][0]:.2f}, {s['ci95'][1]:.2f}]")(t["systems"]["span model"][k][how])
    print(f"  who said it (span model, on the sentences the model labels sourced), {t['sentences']} real test sentences,"
          " exact / token-overlap F1 [95% CI]:")
    for k in ("source", "cue", "figure"):
        print(f"    {k:7s} {f1(k, 'exact')} / {f1(k, 'overlap')}")
PY
)
  model:       $OUT/model        (pipeline("text-classification", model="$OUT/model"))
  span model:  $OUT/model/spans  (pipeline("token-classification", model="$OUT/model/spans", aggregation_strategy="simple"))
  report:      $OUT/report/report.md
  predictions: $OUT/predictions.jsonl
  HTML view:   $OUT/predictions.html
MSG
[ -z "$real" ] && echo "$DEMO"
exit 0
