#!/usr/bin/env bash
# Create .venv and install the project (editable) from pyproject.toml.
# Usage: scripts/setup.sh [--dev]    (--dev adds test and lint tools)
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
extra=""
if [ "${1:-}" = "--dev" ]; then extra="[dev]"; fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1" || true
fi
if [ -x .venv/bin/uv ]; then
  .venv/bin/uv pip install --quiet --python .venv/bin/python -e ".${extra}"
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extra}"
fi
