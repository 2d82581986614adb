#!/usr/bin/env bash
# The main job on demo data, end to end: demo clinics and patients → preview → send → worker → status; then the
# web UI on it: a demo admin user, `masspost worker` in the background and `masspost serve` until Ctrl-C.
# Uses its own data directory (var/demo, or $MASSPOST_DATA_DIR) so it never touches other data; run it as often as
# you like. It installs only what running needs; scripts/test.sh adds the test tools.
#
#   scripts/demo.sh              … then serve the web UI on 127.0.0.1:${MASSPOST_PORT:-8000} until Ctrl-C
#   scripts/demo.sh --no-serve   the end-to-end run only, and exit (CI)
set -euo pipefail
serve=1
for arg in "$@"; do
  case $arg in
    --no-serve) serve=0 ;;
    -h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$arg' (only --no-serve)" >&2; exit 2 ;;
  esac
done
caller=$PWD
if [ -n "${MASSPOST_DATA_DIR:-}" ] && [ "${MASSPOST_DATA_DIR#/}" = "$MASSPOST_DATA_DIR" ]; then
  MASSPOST_DATA_DIR=$caller/$MASSPOST_DATA_DIR   # relative to where it was given, not to the checkout
fi
cd "$(dirname "$0")/.."
root=$PWD
port=${MASSPOST_PORT:-8000}

# Is 127.0.0.1:$port ours to take? Asked first, before minutes of installing, and again just before serving: a
# port held by another program is one line saying what to do, never a banner for a server that is not there.
port_free() {
  "${PYTHON:-python3}" - "$port" "$0" <<'PY'
import errno, socket, sys
port, script = int(sys.argv[1]), sys.argv[2]

def refusal(number):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as masspost serve (gunicorn) binds
        try:
            probe.bind(("127.0.0.1", number))
        except OSError as exc:
            return exc
    return None

exc = refusal(port)
if exc is None:
    sys.exit(0)
spare = next((n for n in range(port + 1, min(port + 100, 65536)) if refusal(n) is None), port + 1)
if exc.errno == errno.EADDRINUSE:
    why = f"port {port} is in use by another program: stop it, or choose another port"
else:
    why = f"cannot listen on 127.0.0.1 port {port} ({exc.strerror}): choose another port"
print(f"demo.sh: {why}: MASSPOST_PORT={spare} bash {script}", file=sys.stderr)
sys.exit(1)
PY
}
if [ "$serve" = 1 ]; then
  case $port in
    ''|*[!0-9]*) echo "demo.sh: MASSPOST_PORT='$port' is not a port (1-65535)" >&2; exit 2 ;;
  esac
  if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    echo "demo.sh: MASSPOST_PORT=$port is not a port (1-65535)" >&2; exit 2
  fi
  port_free || exit 1
fi

bash scripts/bootstrap.sh
export MASSPOST_DATA_DIR=${MASSPOST_DATA_DIR:-$root/var/demo}
# The demo's messages go to the file gateways in the data directory, never to a real SMS or e-mail gateway.
unset_here=()
for name in DATABASE_URL MASSPOST_SMS_URL MASSPOST_EMAIL_URL; do
  if [ -n "${!name+set}" ]; then unset_here+=(-u "$name"); fi
done
unset DATABASE_URL MASSPOST_SMS_URL MASSPOST_EMAIL_URL
# The README's commands on the demo's data: the same data directory and, if this shell sets a database or a gateway,
# without it — as a line to copy, with paths as seen from where the demo was started.
shown() { if [ "$caller" = "$root" ]; then printf '%q' "${1#"$root"/}"; else printf '%q' "$1"; fi; }
on_demo_data="MASSPOST_DATA_DIR=$(shown "$MASSPOST_DATA_DIR") $(shown "$root/.venv/bin/masspost")"
if [ ${#unset_here[@]} -gt 0 ]; then on_demo_data="env ${unset_here[*]} $on_demo_data"; fi
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
echo "The README's commands on this data (masspost alone uses ./var):"
echo "  $on_demo_data campaigns"
[ "$serve" = 1 ] || exit 0

# --- the web UI on the same data --------------------------------------------------------------------------------
port_free || exit 1
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
# Ready when it says it listens (its first line, kept in serve.log too): an answer on the port alone could come from
# another program that took the port meanwhile.
serve_log=$MASSPOST_DATA_DIR/serve.log
: > "$serve_log"
.venv/bin/masspost serve --host 127.0.0.1 --port "$port" 2> >(trap '' INT TERM; exec tee -a "$serve_log" >&2) &
server=$!
pids+=("$server")
listening=0
for _ in $(seq 300); do   # up to a minute for it to listen
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server" || exit $?   # it failed to start (its one line said why)
    exit 1
  fi
  if grep -q "masspost web UI at" "$serve_log"; then
    listening=1
    break
  fi
  sleep 0.2
done
if [ "$listening" = 0 ]; then
  echo "demo.sh: masspost serve did not start listening within a minute (its output: $serve_log)" >&2
  exit 1
fi
echo
echo "================================================================"
echo "  The masspost web UI: http://127.0.0.1:$port/"
echo "  Sign in as:          demo"
echo "  Password:            $password"
echo "  (an admin of every demo clinic; messages go to $MASSPOST_DATA_DIR/outbox-*.jsonl)"
echo "  The REST API:        http://127.0.0.1:$port/api/docs (docs/api.md); its token is in $token_file:"
echo "    curl -H \"Authorization: Bearer \$(cat $token_file)\" http://127.0.0.1:$port/api/v1/campaigns"
echo "  The README's commands on this data (masspost alone uses ./var):"
echo "    $on_demo_data campaigns"
echo "  Ctrl-C stops the server and the worker."
echo "================================================================"
wait "$server"
