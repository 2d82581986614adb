#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser), with its translations (chromium-l10n): without them
# headless Chromium knows only en-US, and a date input reads mm/dd/yyyy whatever --lang or the page's locale says;
# with them an Estonian or Russian context shows dd.mm.yyyy, as a clinic PC in Estonia does.
# Installed with apt-get when missing and we are root with apt-get; otherwise left as it is. Idempotent: when both
# are there it only prints one line; when chromium is there but chromium-l10n is not, only chromium-l10n is installed.
set -euo pipefail
CHROMIUM=/usr/bin/chromium

installed() { dpkg -s "$1" >/dev/null 2>&1; }

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
command -v dpkg >/dev/null && ! installed chromium-l10n && missing+=(chromium-l10n)

if [ ${#missing[@]} -eq 0 ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") (with chromium-l10n)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  if [ -x "$CHROMIUM" ]; then
    echo "chromium: ${missing[*]} missing and not root with apt-get; dates in the browser tests' screenshots read" \
         "mm/dd/yyyy (install chromium-l10n for dd.mm.yyyy)"
  else
    echo "chromium: $CHROMIUM missing and not root with apt-get; the browser tests will skip" \
         "(or fail with MASSPOST_REQUIRE_BROWSER=1)"
  fi
  exit 0
fi
log=$(mktemp)
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 \
   && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>"$log" 2>&1; then
  rm -f "$log"
  echo "chromium: installed ${missing[*]}: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
else
  status=$?
  echo "chromium: apt-get install ${missing[*]} failed (exit $status); its output:" >&2
  cat "$log" >&2
  rm -f "$log"
  exit "$status"
fi
