#!/usr/bin/env bash
# Set up, then run the whole test suite offline (it includes one real fine-tuning run).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test,scale bash scripts/setup.sh
# Label Studio pins older numpy/pyarrow, so it gets a venv of its own; the round-trip test starts
# its server from there (without it, that test skips and says why).
if [ ! -x .venv-labelstudio/bin/label-studio ]; then
  echo "installing Label Studio (for the round-trip test) into .venv-labelstudio ..."
  { python3 -m venv .venv-labelstudio && .venv-labelstudio/bin/pip install -q "label-studio==1.23.2" \
      "label-studio-sdk==2.1.2" 2>&1 | { grep -v "^WARNING: Location" || true; }; } \
    || echo "note: Label Studio could not be installed; the round-trip test will skip"
fi
[ -x .venv-labelstudio/bin/python ] && export LABEL_STUDIO_PYTHON="$PWD/.venv-labelstudio/bin/python"
HF_HUB_OFFLINE=1 .venv/bin/python -m pytest "$@"
