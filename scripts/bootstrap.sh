#!/usr/bin/env bash
# Create .venv (if needed) and install masspost into it, editable; compile the UI's translations. Idempotent, quiet.
#
#   scripts/bootstrap.sh          what running masspost needs (`pip install -e .`): scripts/demo.sh
#   scripts/bootstrap.sh --test   that and the test tools (`.[test]`: pytest, Playwright, mypy, schemathesis…)
#
# One stamp per kind of install, so a run-only install never passes for a test install: .venv/.masspost-run and
# .venv/.masspost-test, each older than pyproject.toml or setup.py means install again. A test install covers a run.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=
case ${1:-} in
  "") ;;
  --test) extra=test ;;
  *) echo "bootstrap.sh: unknown argument '$1' (only --test)" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
fresh() { [ -f "$1" ] && [ ! pyproject.toml -nt "$1" ] && [ ! setup.py -nt "$1" ]; }
test_stamp=.venv/.masspost-test
run_stamp=.venv/.masspost-run
if [ -n "$extra" ]; then stamp=$test_stamp; target=".[test]"; else stamp=$run_stamp; target="."; fi
if ! fresh "$stamp" && ! fresh "$test_stamp"; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target"
  touch "$stamp"
fi
# The UI's translations, compiled from the .po files of this checkout (the editable install compiled them once;
# this keeps them up to date with the .po files, e.g. after a pull).
.venv/bin/python scripts/compile_messages.py
