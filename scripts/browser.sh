#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser): installed with apt-get when /usr/bin/chromium is missing
# and we are root with apt-get; otherwise left as it is. Idempotent and quiet: prints one line.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "chromium: $CHROMIUM missing and not root with apt-get; the browser tests will skip (or fail with MASSPOST_REQUIRE_BROWSER=1)"
  exit 0
fi
log=$(mktemp)
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 \
   && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$log" 2>&1; then
  rm -f "$log"
  echo "chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
else
  status=$?
  echo "chromium: apt-get install failed (exit $status); its output:" >&2
  cat "$log" >&2
  rm -f "$log"
  exit "$status"
fi
