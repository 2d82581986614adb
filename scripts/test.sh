#!/usr/bin/env bash
# Install masspost with its test tools (scripts/bootstrap.sh --test) and run the whole test suite, with lint and
# type checks.
# DATABASE_URL=postgres://... runs it on PostgreSQL; unset, on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test
.venv/bin/ruff check masspost tests benchmarks
.venv/bin/mypy masspost
export MASSPOST_DATA_DIR=${MASSPOST_DATA_DIR:-$(mktemp -d)}
.venv/bin/pytest "$@"
