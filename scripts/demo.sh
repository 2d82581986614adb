#!/usr/bin/env bash
# The main job on demo data, end to end: demo clinics and patients → preview → send → worker → status.
# Uses its own data directory (var/demo) so it never touches other data; run it as often as you like.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export MASSPOST_DATA_DIR=${MASSPOST_DATA_DIR:-$PWD/var/demo}
unset DATABASE_URL
rm -f "$MASSPOST_DATA_DIR"/outbox-*.jsonl
mp() { echo; echo "\$ masspost $*"; .venv/bin/masspost "$@"; }

mp demo --patients "${DEMO_PATIENTS:-2000}" --seed 1 --reset --yes
mp preview examples/recall.json --csv-dir "$MASSPOST_DATA_DIR/preview"
token=$(.venv/bin/masspost preview examples/recall.json --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
mp send examples/recall.json --token "$token" --yes
mp send examples/recall.json --token "$token" --yes   # a second confirmation sends nothing new
mp worker --until-idle
campaign=$(.venv/bin/masspost send examples/recall.json --token "$token" --yes --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["campaign"])')
mp status "$campaign"
echo
echo "Delivered through the file gateway (one JSON line per message):"
wc -l "$MASSPOST_DATA_DIR"/outbox-sms.jsonl "$MASSPOST_DATA_DIR"/outbox-email.jsonl
echo "Full recipient and exclusion lists: $MASSPOST_DATA_DIR/preview/"
