"""REST API benchmarks (issue 11): throughput and latency under `masspost serve`, and the preview against its selector.

Load: `masspost serve` (gunicorn, the project's own command and settings) on a free loopback port, with the API
rate limit off (MASSPOST_API_RATE=0), loaded for --duration seconds per endpoint after --warmup seconds by
--concurrency clients, each with its own keep-alive HTTP connection (gunicorn's sync workers close it after every
response: the client then reconnects, as any client would). The load generator is wrk when it is installed
(/usr/bin/wrk, or --client wrk), else a bounded Python client (threads + http.client). Endpoints:
  GET  /api/v1/campaigns/{id}                          one campaign, its status and counts per status
  POST /api/v1/sms/measure                             a 2-part Estonian SMS text
  GET  /api/v1/campaigns/{id}/messages?limit=100       the first page, and a page from the middle (after=)
  GET  /api/v1/campaigns/{id} again, on servers with the limiter on (MASSPOST_API_RATE=1000, BURST=100000) and with
       the token's per-request UPDATE patched out (in this script's server process only): what the limiter costs
For each: requests/s, p50 and p99 (ms), errors (non-2xx, connection errors), and the CPU per request of the
server's workers (/proc) and of the load generator.
Preview: POST /api/v1/campaigns/preview of an SMS campaign (et and ru, et as the fallback) over every patient,
against campaign_preview(spec, scope) called in this process on the same database in the same run, alternately,
median of --repeat; the token of both must be equal. Target: API ≤ 1.2× the selector.
Data: a database of --patients (100,000) demo patients (seed 1). SQLite (the default): under the temporary
directory (masspost-bench-api-N/, or --data-dir), copied from bench_web.py's cached database when that one exists
with the same count, else generated (about 15 s); PostgreSQL (DATABASE_URL): generated into that database when
it has no patients, else used as it is (its count must match). Then, once per database, a staff user
`bench-api` (sender, every clinic), and one campaign (`bench-api`, sent through campaign_send with its preview's
token: about 80,000 queued SMS, never delivered) for the campaign endpoints. Each run makes a fresh API token
(the last run's is revoked). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PARSER = argparse.ArgumentParser()
PARSER.add_argument("what", nargs="?", default="all", choices=["all", "load", "preview", "serve-no-update"])
PARSER.add_argument("--patients", type=int, default=100_000, help="demo patients (default 100,000)")
PARSER.add_argument("--duration", type=float, default=10.0, help="seconds of load per endpoint (default 10)")
PARSER.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measurement (default 2)")
PARSER.add_argument("--concurrency", type=int, default=4, help="concurrent clients (default 4)")
PARSER.add_argument("--workers", type=int, default=4, help="masspost serve --workers (default 4, its default)")
PARSER.add_argument("--threads", type=int, default=1, help="masspost serve --threads (default 1, its default)")
PARSER.add_argument("--client", choices=["auto", "wrk", "python"], default="auto",
                    help="load generator: wrk when installed (auto), or the Python client")
PARSER.add_argument("--repeat", type=int, default=5, help="preview: runs of each, median (default 5)")
PARSER.add_argument("--profile", action="store_true", help="preview: sample the server's workers with py-spy")
PARSER.add_argument("--no-variants", action="store_true", help="skip the rate-limiter variants of GET /campaigns/{id}")
PARSER.add_argument("--data-dir", default=None, help="SQLite only: where the database is kept")
PARSER.add_argument("--out", default=None)
PARSER.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)  # serve-no-update
OPTS = PARSER.parse_args()

POSTGRES = bool(os.environ.get("DATABASE_URL"))
PATIENTS = OPTS.patients
TMP = Path(tempfile.gettempdir())
if not POSTGRES:
    data_dir = Path(OPTS.data_dir or TMP / f"masspost-bench-api-{PATIENTS}")
    os.environ["MASSPOST_DATA_DIR"] = str(data_dir)
    db_file = data_dir / "masspost.sqlite3"
    web_db = TMP / f"masspost-bench-web-{PATIENTS}" / "masspost.sqlite3"
    if OPTS.what != "serve-no-update" and not db_file.exists() and web_db.exists():
        # bench_web.py's cached demo database: copied (SQLite's backup API, consistent even while it is open),
        # not shared, since this benchmark adds a campaign of ~80,000 messages to it.
        data_dir.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(web_db) as source, sqlite3.connect(db_file) as target:
            source.backup(target)
        db_file.chmod(0o600)
        print(f"copied bench_web's database {web_db} to {db_file}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")
import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from masspost.api.campaigns import cursor_of  # noqa: E402
from masspost.campaigns.models import Campaign  # noqa: E402
from masspost.campaigns.selectors import campaign_preview  # noqa: E402
from masspost.campaigns.services import campaign_send  # noqa: E402
from masspost.campaigns.spec import CampaignSpec  # noqa: E402
from masspost.clinic.demo import demo_generate  # noqa: E402
from masspost.clinic.models import Clinic, Patient, Visit  # noqa: E402
from masspost.clinic.scope import Scope  # noqa: E402
from masspost.delivery.models import OutboxMessage  # noqa: E402
from masspost.errors import NotFoundError  # noqa: E402
from masspost.sms import measure  # noqa: E402
from masspost.staff.selectors import staff_scope  # noqa: E402
from masspost.staff.services import staff_add  # noqa: E402
from masspost.staff.tokens import token_create, token_revoke  # noqa: E402

TODAY = dt.date(2026, 11, 25)  # the demo's "today", as in bench_core.py and bench_web.py
USERNAME = "bench-api"
PASSWORD = "bench api password 11"
TOKEN_NAME = "bench"
CAMPAIGN_NAME = "bench-api"
WRK = shutil.which("wrk") or ("/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else None)
# The campaign sent once for the campaign endpoints, and the one previewed: every patient, SMS in et and ru.
CAMPAIGN: dict[str, Any] = {
    "name": CAMPAIGN_NAME, "purpose": "service", "channel": "sms", "fallback_language": "et",
    "content": {
        "et": {"sms": "Tere {first_name}! Teie viimasest hambakontrollist on möödas üle aasta. Broneeri aeg: "
                      "{clinic_phone}. {clinic_name}"},
        "ru": {"sms": "Здравствуйте, {first_name}! С последнего осмотра прошло больше года. Запись: "
                      "{clinic_phone}."},
    },
}
PREVIEW: dict[str, Any] = CAMPAIGN | {"name": "bench-api preview"}
# 2 parts of GSM-7 (Estonian without õ: ä, ö, ü are in the GSM-7 alphabet), 250 characters.
MEASURE_TEXT = ("Tere! Teie hambakontroll Hammas kliinikus on ootel. Hind 25 € [broneeri]. Kui aeg ei sobi, "
                "helistage meile tööpäeviti 8–18. Äge, öine, ülim hoolitsus teie hammastele. Aitäh ja "
                "kohtumiseni! Vastamiseks saatke STOP, kui te ei soovi meilt enam sõnumeid saada.")
MEASURE_TEXT = MEASURE_TEXT.replace("–", "-").replace("õ", "o")


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- data, user, token, campaign -------------------------------------------------------------------------------------
def setup() -> None:
    call_command("migrate", verbosity=0)
    have = Patient.objects.count()
    if have == 0:
        start = time.perf_counter()
        result = demo_generate(patients=PATIENTS, seed=1, today=TODAY, actor="bench")
        print(f"generated {result.patients} patients, {result.visits} visits into {connection.settings_dict['NAME']} "
              f"in {time.perf_counter() - start:.1f} s")
    elif have != PATIENTS:
        raise SystemExit(f"{connection.settings_dict['NAME']} holds {have} patients, expected {PATIENTS}: pass "
                         "--patients, or another database")
    print(f"data: {connection.vendor} {connection.settings_dict['NAME']}, {Patient.objects.count()} patients, "
          f"{Visit.objects.count()} visits")


def user_scope_token() -> tuple[Scope, str]:
    """The sender `bench-api` for every clinic (made once), its Scope, and a new API token (the last one revoked)."""
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        codes = sorted(Clinic.objects.values_list("code", flat=True))
        user = staff_add(username=USERNAME, password=PASSWORD, clinics=codes, role="sender",
                         scope=Scope.operator()).user
    scope = staff_scope(user=user)
    assert scope is not None
    with contextlib.suppress(NotFoundError):  # the last run's
        token_revoke(scope=Scope.operator(), username=USERNAME, name=TOKEN_NAME)
    return scope, token_create(scope=Scope.operator(), username=USERNAME, name=TOKEN_NAME).secret


def the_campaign(scope: Scope) -> tuple[int, int, str]:
    """The campaign the endpoints read (sent once per database through the services), its message count and a
    cursor to the middle of its messages."""
    campaign = Campaign.objects.filter(name=CAMPAIGN_NAME).order_by("id").first()
    if campaign is None:
        spec = CampaignSpec.from_dict(CAMPAIGN)
        start = time.perf_counter()
        preview = campaign_preview(spec=spec, scope=scope)
        outcome = campaign_send(spec=spec, scope=scope, token=str(preview.token))
        print(f"sent campaign {outcome.campaign_id}: {outcome.messages} messages in "
              f"{time.perf_counter() - start:.1f} s (preview + send)")
        campaign = Campaign.objects.get(id=outcome.campaign_id)
    ids = OutboxMessage.objects.filter(campaign_id=campaign.id).order_by("id").values_list("id", flat=True)
    count = ids.count()
    middle = ids[count // 2]
    return campaign.id, count, cursor_of(middle)


# --- the server -------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`masspost serve` in a child process (or this script's `serve-no-update`), stopped with SIGTERM."""

    def __init__(self, env: dict[str, str], no_update: bool = False) -> None:
        self.port = free_port()
        args = ["--port", str(self.port), "--workers", str(OPTS.workers), "--threads", str(OPTS.threads)]
        if no_update:
            command = [sys.executable, __file__, "serve-no-update", "--patients", str(PATIENTS), *args]
            if OPTS.data_dir:
                command += ["--data-dir", OPTS.data_dir]
        else:
            command = [str(Path(sys.executable).with_name("masspost")), "serve", *args]
        self.env = os.environ | {"MASSPOST_API_RATE": "0"} | env
        self.log = tempfile.NamedTemporaryFile(prefix="bench-api-serve-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, path: str, headers: dict[str, str]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"masspost serve exited ({self.proc.returncode}): {Path(self.log.name).read_text()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status == 200:
                    return
                raise SystemExit(f"GET {path}: {response.status}")
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"masspost serve did not answer in 60 s: {Path(self.log.name).read_text()}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the gunicorn workers (the master's children) so far."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return math.nan
        for pid in children:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15 of proc(5))
        return total

    def worker_pids(self) -> list[int]:
        return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


def serve_no_update() -> None:
    """`masspost serve`, with the token's per-request UPDATE (token_rate_take) replaced by nothing: what a request
    costs without the limiter's write. Only in this process and the workers it forks; masspost is not changed."""
    import masspost.api.auth

    masspost.api.auth.token_rate_take = lambda **kwargs: 0.0  # type: ignore[assignment]
    call_command("serve", port=OPTS.port, workers=OPTS.workers, threads=OPTS.threads)


# --- load generators -------------------------------------------------------------------------------------------------
def load_python(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str],
                seconds: float, concurrency: int) -> dict[str, Any]:
    """`concurrency` threads, each its own HTTPConnection (it reconnects by itself when the server closes), each
    sending the next request as soon as the last answer is read, for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    statuses: dict[int, int] = {}
    closes = [0] * concurrency
    barrier = threading.Barrier(concurrency + 1)
    end = [0.0]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        own = latencies[i]
        barrier.wait()
        stop = end[0]
        while True:
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
                if response.will_close:
                    closes[i] += 1
                if not ok:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            t1 = time.perf_counter()
            if t1 > stop:
                break
            own.append(t1 - t0)
            if not ok:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    end[0] = start + seconds
    barrier.wait()
    for t in threads:
        t.join()
    flat = [x for own in latencies for x in own]
    return {"requests": len(flat), "seconds": seconds, "rps": len(flat) / seconds,
            "p50_ms": pct(flat, 50) * 1000, "p99_ms": pct(flat, 99) * 1000, "errors": sum(errors),
            "error_statuses": statuses, "keepalive": sum(closes) == 0}


WRK_SCRIPT = """
wrk.method = %(method)s
wrk.body = %(body)s
%(headers)s
done = function(summary, latency, requests)
  io.write(string.format("BENCH %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


def _lua(text: str) -> str:
    return "[==[" + text + "]==]"


def load_wrk(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str],
             seconds: float, concurrency: int) -> dict[str, Any]:
    script = WRK_SCRIPT % {
        "method": _lua(method), "body": _lua(body.decode()) if body else "nil",
        "headers": "\n".join(f"wrk.headers[ {_lua(k)} ] = {_lua(v)}" for k, v in headers.items())}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        proc = subprocess.run([WRK, "-t", str(min(2, concurrency)), "-c", str(concurrency), "-d", f"{seconds:g}s",
                               "--timeout", "60s", "-s", f.name, f"http://127.0.0.1:{port}{path}"],
                              capture_output=True, text=True, check=True)
    finally:
        os.unlink(f.name)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk: no summary in its output:\n{proc.stdout}\n{proc.stderr}")
    n, duration_us, p50, p99, status, *socket_errors = (int(x) for x in line.split()[1:])
    return {"requests": n, "seconds": duration_us / 1e6, "rps": n / (duration_us / 1e6), "p50_ms": p50 / 1000,
            "p99_ms": p99 / 1000, "errors": status + sum(socket_errors), "error_statuses": {"non-2xx": status},
            "socket_errors": dict(zip(("connect", "read", "write", "timeout"), socket_errors, strict=True))}


def load(server: Server, label: str, method: str, path: str, body: bytes | None, headers: dict[str, str],
         client: str) -> dict[str, Any]:
    run = load_wrk if client == "wrk" else load_python
    run(server.port, method, path, body, headers, OPTS.warmup, OPTS.concurrency)
    cpu0, me0 = server.cpu_seconds(), time.process_time()
    out = run(server.port, method, path, body, headers, OPTS.duration, OPTS.concurrency)
    cpu1, me1 = server.cpu_seconds(), time.process_time()
    n = max(out["requests"], 1)
    out |= {"label": label, "method": method, "path": path, "client": client,
            "server_cpu_ms_per_request": (cpu1 - cpu0) * 1000 / n,
            "client_cpu_ms_per_request": ((me1 - me0) * 1000 / n) if client == "python" else None}
    cpu_note = f"; server CPU {out['server_cpu_ms_per_request']:.2f} ms/request"
    if out["client_cpu_ms_per_request"] is not None:
        cpu_note += f", client {out['client_cpu_ms_per_request']:.2f}"
    print(f"  {label}: {out['rps']:.0f} requests/s, p50 {out['p50_ms']:.1f} ms, p99 {out['p99_ms']:.1f} ms, "
          f"{out['errors']} errors ({out['requests']} requests){cpu_note}", flush=True)
    if out["errors"]:
        print(f"    errors: {out['error_statuses']} {out.get('socket_errors', '')}")
    return out


def bench_load(campaign_id: int, cursor: str, secret: str, client: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {secret}", "Host": "127.0.0.1"}
    json_headers = auth | {"Content-Type": "application/json"}
    one = f"/api/v1/campaigns/{campaign_id}"
    measure_body = json.dumps({"text": MEASURE_TEXT}, ensure_ascii=False).encode()
    endpoints = [
        ("GET /campaigns/{id}", "GET", one, None, auth),
        ("POST /sms/measure (250 chars, 2 parts)", "POST", "/api/v1/sms/measure", measure_body, json_headers),
        ("GET /campaigns/{id}/messages?limit=100, first page", "GET", f"{one}/messages?limit=100", None, auth),
        ("GET /campaigns/{id}/messages?limit=100, a page from the middle", "GET",
         f"{one}/messages?limit=100&after={cursor}", None, auth),
    ]
    out: dict[str, Any] = {"endpoints": [], "variants": []}
    print(f"load: {client}, {OPTS.concurrency} clients, {OPTS.warmup:g} s warm-up + {OPTS.duration:g} s each; "
          f"masspost serve --workers {OPTS.workers} --threads {OPTS.threads}, MASSPOST_API_RATE=0", flush=True)
    server = Server({})
    try:
        server.wait_ready(one, auth)
        for label, method, path, body, headers in endpoints:
            out["endpoints"].append(load(server, label, method, path, body, headers, client))
    finally:
        server.stop()
    if OPTS.no_variants:
        return out
    # The limiter's cost: on the light POST /sms/measure it shows best (most of GET /campaigns/{id} is its query).
    for label, env, no_update in (
            ("limiter on (MASSPOST_API_RATE=1000, BURST=100000)",
             {"MASSPOST_API_RATE": "1000", "MASSPOST_API_BURST": "100000"}, False),
            ("the token's UPDATE patched out", {}, True)):
        server = Server(env, no_update=no_update)
        try:
            server.wait_ready(one, auth)
            out["variants"].append(load(server, f"GET /campaigns/{{id}}, {label}", "GET", one, None, auth, client))
            out["variants"].append(load(server, f"POST /sms/measure, {label}", "POST", "/api/v1/sms/measure",
                                        measure_body, json_headers, client))
        finally:
            server.stop()
    return out


# --- preview ----------------------------------------------------------------------------------------------------------
def bench_preview(scope: Scope, secret: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {secret}", "Host": "127.0.0.1", "Content-Type": "application/json"}
    body = json.dumps(PREVIEW, ensure_ascii=False).encode()
    server = Server({})
    api: list[float] = []
    bare: list[float] = []
    to_dict: list[float] = []
    api_cpu: list[float] = []  # CPU of the server's workers over each request (less sensitive to a busy machine)
    bare_cpu: list[float] = []
    tokens: set[str] = set()
    sizes: set[int] = set()
    try:
        server.wait_ready("/api/v1/campaigns?per_page=1", headers)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)

        def one_api() -> float:
            cpu = server.cpu_seconds()
            start = time.perf_counter()
            conn.request("POST", "/api/v1/campaigns/preview", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - start
            api_cpu.append(server.cpu_seconds() - cpu)
            assert response.status == 200, (response.status, data[:500])
            tokens.add(json.loads(data)["token"])
            sizes.add(len(data))
            return elapsed

        def one_bare() -> float:
            cpu = time.process_time()
            start = time.perf_counter()
            preview = campaign_preview(spec=CampaignSpec.from_dict(PREVIEW), scope=scope)
            elapsed = time.perf_counter() - start
            bare_cpu.append(time.process_time() - cpu)
            t = time.perf_counter()
            preview.to_dict()
            to_dict.append(time.perf_counter() - t)
            tokens.add(str(preview.token))
            out_preview[0] = preview
            return elapsed

        out_preview: list[Any] = [None]
        # Warm-up: every worker once (sync workers take the next connection when free, so W requests at once reach
        # W workers): a worker's first preview also loads what is loaded once (pycountry's tables, 30–250 ms), and
        # the database's pages.
        for _ in range(2):
            warm = [threading.Thread(target=_post, args=(server.port, "/api/v1/campaigns/preview", body, headers))
                    for _ in range(OPTS.workers)]
            for t in warm:
                t.start()
            for t in warm:
                t.join()
        one_api()
        one_bare()
        del api_cpu[:], bare_cpu[:], to_dict[:]
        spy = _py_spy(server) if OPTS.profile else None
        for r in range(OPTS.repeat):
            for which in (("api", "bare") if r % 2 == 0 else ("bare", "api")):
                (api if which == "api" else bare).append(one_api() if which == "api" else one_bare())
        conn.close()
        if spy is not None:
            profile = _py_spy_report(*spy)
    finally:
        server.stop()
    assert len(tokens) == 1, tokens  # the API answered exactly what the bare call computed
    result = out_preview[0].result
    out = {"patients": result.patients, "messages": result.messages, "response_bytes": max(sizes),
           "api_median_s": statistics.median(api), "bare_median_s": statistics.median(bare),
           "ratio_median": statistics.median(api) / statistics.median(bare), "ratio_min": min(api) / min(bare),
           "api_runs": api, "bare_runs": bare, "to_dict_median_ms": statistics.median(to_dict) * 1000,
           "api_cpu_runs": api_cpu, "bare_cpu_runs": bare_cpu,
           "cpu_ratio_median": statistics.median(api_cpu) / statistics.median(bare_cpu)}
    print(f"preview: {result.patients} patients, {result.messages} SMS, response {max(sizes) / 1024:.1f} KiB; API "
          f"median {out['api_median_s']:.3f} s, campaign_preview median {out['bare_median_s']:.3f} s, ratio "
          f"{out['ratio_median']:.2f} (best-of ratio {out['ratio_min']:.2f}; runs: API "
          f"{', '.join(f'{t:.3f}' for t in api)}; bare {', '.join(f'{t:.3f}' for t in bare)}; to_dict "
          f"{out['to_dict_median_ms']:.2f} ms)", flush=True)
    print(f"  CPU: the server's workers {statistics.median(api_cpu):.3f} s a request (runs "
          f"{', '.join(f'{t:.2f}' for t in api_cpu)}), this process in campaign_preview "
          f"{statistics.median(bare_cpu):.3f} s (runs {', '.join(f'{t:.2f}' for t in bare_cpu)}): ratio "
          f"{out['cpu_ratio_median']:.2f}")
    if OPTS.profile:
        out["profile"] = profile
    return out


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
    conn.close()


def _py_spy(server: Server) -> tuple[subprocess.Popen[bytes], Path]:
    """py-spy sampling every worker of the server (raw collapsed stacks), while the previews run."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = Path(OPTS.out or "benchmarks/out/api.json").with_name("api-preview-profile.txt")
    raw.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([spy, "record", "--subprocesses", "--format", "raw", "--rate", "250", "--nonblocking",
                             "-o", str(raw), "-p", str(server.proc.pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc, raw


def _py_spy_report(proc: subprocess.Popen[bytes], raw: Path) -> dict[str, Any]:
    """Where the workers' samples in the preview request went: inside campaign_preview, or around it."""
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    inside: dict[str, int] = {}
    total = in_request = in_selector = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        if "preview (masspost/api/campaigns.py" not in stack:
            continue
        in_request += n
        if "campaign_preview (masspost/campaigns/selectors.py" in stack:
            in_selector += n
        else:  # the request's own frames outside the selector: the innermost masspost/ninja/django frame
            frames = stack.split(";")
            key = next((f for f in reversed(frames) if "masspost/" in f or "ninja/" in f or "django/" in f), frames[-1])
            inside[key] = inside.get(key, 0) + n
    top = sorted(inside.items(), key=lambda kv: -kv[1])[:10]
    report = {"file": str(raw), "samples": total, "in_preview_view": in_request, "in_campaign_preview": in_selector,
              "outside_selector_top": top}
    print(f"  py-spy: {in_request} samples in the preview view, {in_selector} of them in campaign_preview "
          f"({in_selector / max(in_request, 1):.1%}); around it: "
          + "; ".join(f"{k} {v}" for k, v in top[:5]))
    return report


def markdown(results: dict[str, Any]) -> str:
    lines = [f"{results['database']}, {results['patients']:,} patients, {results['cores']} cores; load: "
             f"{results.get('client', '-')}, {OPTS.concurrency} clients, {OPTS.duration:g} s after {OPTS.warmup:g} s "
             f"warm-up; `masspost serve --workers {OPTS.workers} --threads {OPTS.threads}`", "",
             "| request | requests/s | p50 | p99 | errors | server CPU / request |", "|---|---:|---:|---:|---:|---:|"]
    load_part = results.get("load", {})
    for row in load_part.get("endpoints", []) + load_part.get("variants", []):
        lines.append(f"| {row['label']} | {row['rps']:,.0f} | {row['p50_ms']:.1f} ms | {row['p99_ms']:.1f} ms | "
                     f"{row['errors']} | {row['server_cpu_ms_per_request']:.2f} ms |")
    if "preview" in results:
        p = results["preview"]
        lines += ["", "| preview | API (HTTP) | campaign_preview (same run) | ratio | target |",
                  "|---|---:|---:|---:|---|",
                  f"| {p['patients']:,} patients, {p['messages']:,} SMS (et, ru), median of {OPTS.repeat} | "
                  f"{p['api_median_s']:.3f} s | {p['bare_median_s']:.3f} s | {p['ratio_median']:.2f} "
                  f"(best of: {p['ratio_min']:.2f}) | ≤ 1.2× {'✓' if p['ratio_median'] <= 1.2 else '✗'} |"]
    return "\n".join(lines)


def main() -> None:
    if OPTS.what == "serve-no-update":
        serve_no_update()
        return
    setup()
    scope, secret = user_scope_token()
    campaign_id, messages, cursor = the_campaign(scope)
    print(f"campaign {campaign_id}: {messages} messages; token {secret[:10]}…")
    connection.close()  # the server's workers and this process share the database: no transaction left open
    client = "wrk" if OPTS.client == "wrk" or (OPTS.client == "auto" and WRK) else "python"
    if client == "wrk" and not WRK:
        raise SystemExit("--client wrk: wrk is not installed")
    assert measure(MEASURE_TEXT)[2] == 2, measure(MEASURE_TEXT)
    results: dict[str, Any] = {"date": dt.date.today().isoformat(), "database": connection.vendor,
                               "patients": Patient.objects.count(), "cores": os.cpu_count(), "campaign": campaign_id,
                               "campaign_messages": messages, "options": vars(OPTS), "client": client,
                               "load_average_before": os.getloadavg()}
    if OPTS.what in ("load", "all"):
        results["load"] = bench_load(campaign_id, cursor, secret, client)
    if OPTS.what in ("preview", "all"):
        results["preview"] = bench_preview(scope, secret)
    results["load_average_after"] = os.getloadavg()
    out = Path(OPTS.out or f"benchmarks/out/api-{connection.vendor}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print()
    print(markdown(results))
    print(f"\n(results in {out})")


if __name__ == "__main__":
    main()
