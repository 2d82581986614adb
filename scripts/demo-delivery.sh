#!/usr/bin/env bash
# The demo campaign delivered through a local SMTP server and a local SMSC (SMPP), instead of files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/python scripts/demo_delivery.py
