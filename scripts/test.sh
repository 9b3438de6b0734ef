#!/usr/bin/env bash
# Set up, then run the whole test suite offline (it includes one real fine-tuning run).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test,scale bash scripts/setup.sh
HF_HUB_OFFLINE=1 .venv/bin/python -m pytest "$@"
