#!/usr/bin/env bash
# The demo campaign delivered through a local SMTP server and a local SMSC (SMPP), instead of files. The peers are
# the tests' (tests/peers: aiosmtpd, smpp34), so this installs the test tools too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test
.venv/bin/python scripts/demo_delivery.py
