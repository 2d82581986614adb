#!/usr/bin/env bash
# The main job on demo data, end to end: demo clinics and patients → preview → send → worker → status; then the
# web UI on it: a demo admin user, `masspost worker` in the background and `masspost serve` until Ctrl-C.
# Uses its own data directory (var/demo) so it never touches other data; run it as often as you like.
#
#   scripts/demo.sh              … then serve the web UI on 127.0.0.1:${MASSPOST_PORT:-8000} until Ctrl-C
#   scripts/demo.sh --no-serve   the end-to-end run only, and exit (CI)
set -euo pipefail
serve=1
for arg in "$@"; do
  case $arg in
    --no-serve) serve=0 ;;
    -h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$arg' (only --no-serve)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export MASSPOST_DATA_DIR=${MASSPOST_DATA_DIR:-$PWD/var/demo}
# The demo's messages go to the file gateways in the data directory, never to a real SMS or e-mail gateway.
unset DATABASE_URL MASSPOST_SMS_URL MASSPOST_EMAIL_URL
rm -f "$MASSPOST_DATA_DIR"/outbox-*.jsonl
mp() { echo; echo "\$ masspost $*"; .venv/bin/masspost "$@"; }
py() { .venv/bin/masspost shell --no-imports -c "$1"; }
demo_user_exists() {
  .venv/bin/masspost user list --json | .venv/bin/python -c \
    'import json,sys; sys.exit(0 if any(u["username"] == "demo" for u in json.load(sys.stdin)["users"]) else 1)'
}
demo_clinics() {
  py 'from masspost.clinic.models import Clinic; print(" ".join(Clinic.objects.order_by("code").values_list("code", flat=True)))'
}

# The demo user of an earlier run belongs to the demo clinics, which --reset deletes and makes anew: it lets go of
# them first and takes the new ones after.
had_user=0
if demo_user_exists; then
  had_user=1
  py 'from masspost.staff.models import StaffMember; StaffMember.clinics.through.objects.filter(staffmember__user__username="demo").delete()'
fi
mp demo --patients "${DEMO_PATIENTS:-2000}" --seed 1 --reset --yes
clinic_args=()
if [ "$serve" = 1 ] || [ "$had_user" = 1 ]; then
  for code in $(demo_clinics); do clinic_args+=(--clinic "$code"); done
fi
if [ "$had_user" = 1 ]; then
  .venv/bin/masspost user change demo --role admin "${clinic_args[@]}" > /dev/null
fi
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
[ "$serve" = 1 ] || exit 0

# --- the web UI on the same data --------------------------------------------------------------------------------
port=${MASSPOST_PORT:-8000}
password_file=$MASSPOST_DATA_DIR/demo-password.txt
if [ "$had_user" = 0 ]; then
  (umask 077; .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))' > "$password_file")
  mp user add demo "${clinic_args[@]}" --role admin --password-stdin < "$password_file"
fi
chmod 600 "$password_file" 2>/dev/null || true
if [ -f "$password_file" ]; then
  password=$(head -n 1 "$password_file")
else
  password="(unknown: $password_file is gone; set one with: .venv/bin/masspost changepassword demo)"
fi
# A REST API token for the demo user, kept beside the password (0600); made once.
token_file=$MASSPOST_DATA_DIR/demo-api-token.txt
if [ ! -s "$token_file" ]; then
  (umask 077; .venv/bin/masspost token create demo --json \
    | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])' > "$token_file")
fi
chmod 600 "$token_file" 2>/dev/null || true

pids=()
stop() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    echo "stopped the web UI and the worker (the worker's log: $MASSPOST_DATA_DIR/worker.log)"
  fi
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

echo
echo "\$ masspost worker > $MASSPOST_DATA_DIR/worker.log 2>&1 &"
.venv/bin/masspost worker > "$MASSPOST_DATA_DIR/worker.log" 2>&1 &
pids+=($!)
echo "\$ masspost serve --host 127.0.0.1 --port $port &"
.venv/bin/masspost serve --host 127.0.0.1 --port "$port" &
server=$!
pids+=("$server")
for _ in $(seq 300); do   # up to a minute for it to answer
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server" || exit $?   # it failed to start (its one line said why)
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    break
  fi
  sleep 0.2
done
echo
echo "================================================================"
echo "  The masspost web UI: http://127.0.0.1:$port/"
echo "  Sign in as:          demo"
echo "  Password:            $password"
echo "  (an admin of every demo clinic; messages go to $MASSPOST_DATA_DIR/outbox-*.jsonl)"
echo "  The REST API:        http://127.0.0.1:$port/api/docs (docs/api.md); its token is in $token_file:"
echo "    curl -H \"Authorization: Bearer \$(cat $token_file)\" http://127.0.0.1:$port/api/v1/campaigns"
echo "  Ctrl-C stops the server and the worker."
echo "================================================================"
wait "$server"
