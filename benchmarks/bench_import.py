"""Import benchmark (issue 16, point 1): a large patients import over the REST API, and what other users see
meanwhile.

For each database (SQLite in a fresh data directory; PostgreSQL in a database of its own, dropped and made again:
--postgres URL, default postgres://postgres@127.0.0.1:5432/masspost_bench_import): `masspost serve --workers 2`
on a free loopback port (API rate limit off), two clinics, and two users with a token each — `importer` (sender)
and `reader` (sender, another user). Then:

  idle     `reader` calls GET /api/v1/me in a loop for --idle seconds: its p50/p99 with nothing else running;
  job      `importer` POSTs a patients CSV of --rows rows (Prefer: respond-async) and polls the job every second
           until it ends, while `reader` calls GET /api/v1/me in a loop (one request at a time, a second client on
           loopback): the import's wall time (upload included), its rows, and /me's p50/p99/max and every
           non-200 answer during it;
  sync     the same at --baseline-rows rows as one synchronous request (no Prefer; under the 8 MiB line), on
           this code and — with --baseline-rev (default: the commit before the import change) — on that code,
           exported with `git archive` and served the same way (the pre-change import, at a size where it still
           finishes within gunicorn's 60 s).

The CSV: external ids B0000001…, clinic TLN or TRT, a first and last name, language, an Estonian mobile number
(written nationally or with +372), an e-mail, the three consents. Generated once under --work (default the
temporary directory). Each import runs on an empty database (a first import: an event for every consent that
differs from a new patient's — SMS and e-mail yes, marketing no; issue 20).

  .venv/bin/python benchmarks/bench_import.py --rows 1000000            # both databases, the full size
  .venv/bin/python benchmarks/bench_import.py --rows 200000 --database sqlite

Prints one JSON object per measurement and a summary table. See benchmarks/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PARSER = argparse.ArgumentParser()
PARSER.add_argument("--rows", type=int, default=1_000_000, help="rows of the job's patients file (default 1,000,000)")
PARSER.add_argument("--baseline-rows", type=int, default=100_000,
                    help="rows of the synchronous comparison (default 100,000; 0: none)")
PARSER.add_argument("--baseline-rev", default="2d049cb",
                    help="the pre-change code for the synchronous comparison ('' for none)")
PARSER.add_argument("--database", choices=["both", "sqlite", "postgres"], default="both")
PARSER.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/masspost_bench_import")
PARSER.add_argument("--idle", type=float, default=5.0, help="seconds of /me with nothing else running")
PARSER.add_argument("--work", default="", help="where the CSV files and data directories go")

CLINICS = """code,name,country,time_zone,default_language,phone,email,sms_sender
TLN,Hammas Tallinn,EE,Europe/Tallinn,et,+372 600 1000,tallinn@hammas.example,HammasTLN
TRT,Hammas Tartu,EE,Europe/Tallinn,et,+372 700 2000,tartu@hammas.example,HammasTRT
"""
FIRST = ["Mari", "Jaan", "Liis", "Ivan", "Olga", "Aino", "Peeter", "Kadri", "Sergei", "Anna"]
LAST = ["Tamm", "Saar", "Sepp", "Mägi", "Ivanov", "Kask", "Virtanen", "Lepp", "Kuznetsov", "Rebane"]


def patients_csv(path: Path, rows: int) -> Path:
    if path.exists():
        return path
    rng = random.Random(16)
    with path.open("w", encoding="utf-8") as out:
        out.write("external_id,clinic,first_name,last_name,language,phone,email,accepts_sms,accepts_email,"
                  "marketing_consent\n")
        for i in range(1, rows + 1):
            number = f"5{rng.randrange(1_000_000, 9_999_999)}"
            phone = f"+372 {number}" if i % 2 else number
            first, last = rng.choice(FIRST), rng.choice(LAST)
            out.write(f"B{i:07d},{'TLN' if i % 3 else 'TRT'},{first},{last},{rng.choice(['et', 'ru', 'en'])},"
                      f"{phone},{first.lower()}.{i}@mail.ee,yes,yes,{'yes' if i % 2 else 'no'}\n")
    return path


class Server:
    """`masspost serve` over its own database, with the two users' tokens."""

    def __init__(self, *, work: Path, name: str, database_url: str, src: Path | None) -> None:
        self.data = work / name
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MASSPOST_") and k != "DATABASE_URL"}
        self.env |= {"MASSPOST_DATA_DIR": str(self.data), "MASSPOST_API_RATE": "0", "PYTHONUNBUFFERED": "1"}
        if src is not None:
            self.env["PYTHONPATH"] = str(src)
        if database_url:
            _fresh_postgres(database_url)
            self.env["DATABASE_URL"] = database_url
        self.run("import", "clinics", str(_write(self.data / "clinics.csv", CLINICS)))
        self.tokens = {}
        for user in ("importer", "reader"):
            self.run("user", "add", user, "--clinic", "TLN", "--clinic", "TRT", "--role", "sender",
                     "--password-stdin", stdin="bench import secret 12345\n")
            self.tokens[user] = json.loads(self.run("token", "create", user, "--name", "bench", "--json"))["token"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (self.data / "serve.log").open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "masspost", "serve", "--host", "127.0.0.1", "--port",
                                         str(self.port), "--workers", "2"], env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, cwd=self.data, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if call(self.url, "GET", "/me", self.tokens["reader"])[0] == 200:
                    return
            time.sleep(0.3)
        raise SystemExit(f"masspost serve did not start: {self.data / 'serve.log'}")

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "masspost", *args], env=self.env, input=stdin,
                              capture_output=True, text=True, cwd=self.data, check=False)
        if done.returncode:
            raise SystemExit(f"masspost {' '.join(args)}: {done.stderr}")
        return done.stdout

    def stop(self) -> None:
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        if self.process.poll() is None:
            self.process.kill()
        self.log.close()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _fresh_postgres(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def call(url: str, method: str, path: str, token: str, body: Path | None = None,
         headers: dict[str, str] | None = None, timeout: float = 3600) -> tuple[int, dict[str, str], Any]:
    data = body.read_bytes() if body is not None else None
    request = urllib.request.Request(url + "/api/v1" + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "text/csv")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, got, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, got, raw = exc.code, dict(exc.headers), exc.read()
    return status, got, json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode(errors="replace")


class Reader:
    """Another user's GET /api/v1/me, one at a time, while `running`: latencies (ms) and answers."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                status = call(self.server.url, "GET", "/me", self.server.tokens["reader"], timeout=120)[0]
            except OSError:
                status = 0
            self.latencies.append((time.perf_counter() - started) * 1000)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            time.sleep(0.01)

    @contextlib.contextmanager
    def running(self) -> Iterator[Reader]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        if not ordered:
            return {"requests": 0}
        return {"requests": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
                "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
                "max_ms": round(ordered[-1], 1), "statuses": self.statuses}


def idle(server: Server, seconds: float) -> dict[str, Any]:
    reader = Reader(server)
    with reader.running():
        time.sleep(seconds)
    return {"what": "idle", "me": reader.summary()}


def job(server: Server, csv: Path) -> dict[str, Any]:
    reader = Reader(server)
    token = server.tokens["importer"]
    polls: dict[str, int] = {}
    with reader.running():
        started = time.perf_counter()
        status, headers, body = call(server.url, "POST", "/imports/patients", token, csv,
                                     {"Prefer": "respond-async"})
        accepted = time.perf_counter() - started
        assert status == 202, (status, body)
        location = headers["Location"].removeprefix("/api/v1")
        phases: dict[str, float] = {}
        while True:
            time.sleep(1)
            status, _, body = call(server.url, "GET", location, token)
            polls[str(status)] = polls.get(str(status), 0) + 1
            if status == 200:
                phases.setdefault(body["phase"] or body["status"], time.perf_counter() - started)
                if body["status"] not in ("queued", "running"):
                    break
        elapsed = time.perf_counter() - started
    report = body["report"] or {}
    return {"what": "job", "rows": report.get("rows"), "imported": report.get("imported"), "status": body["status"],
            "reason": body["reason"], "seconds": round(elapsed, 1), "upload_seconds": round(accepted, 1),
            "phases_seen_at": {k: round(v, 1) for k, v in phases.items()},
            "rows_per_second": round((report.get("imported") or 0) / elapsed), "polls": polls,
            "me": reader.summary()}


def sync(server: Server, csv: Path, label: str) -> dict[str, Any]:
    reader = Reader(server)
    with reader.running():
        started = time.perf_counter()
        status, _, body = call(server.url, "POST", "/imports/patients", server.tokens["importer"], csv)
        elapsed = time.perf_counter() - started
    return {"what": label, "status": status, "rows": body.get("rows") if isinstance(body, dict) else None,
            "imported": body.get("imported") if isinstance(body, dict) else None, "seconds": round(elapsed, 1),
            "me": reader.summary()}


def old_tree(work: Path, rev: str) -> Path:
    target = work / f"src-{rev}"
    if not target.exists():
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "masspost"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "compile_messages.py")], cwd=target,
                       capture_output=True, check=False)
    return target


def main() -> None:
    args = PARSER.parse_args()
    work = Path(args.work or tempfile.gettempdir()) / "masspost-bench-import"
    work.mkdir(parents=True, exist_ok=True)
    big = patients_csv(work / f"patients-{args.rows}.csv", args.rows)
    small = (patients_csv(work / f"patients-{args.baseline_rows}.csv", args.baseline_rows)
             if args.baseline_rows else None)
    databases = {"sqlite": "", "postgres": args.postgres}
    if args.database != "both":
        databases = {args.database: databases[args.database]}
    results: list[dict[str, Any]] = []

    def record(database: str, code: str, result: dict[str, Any]) -> None:
        result = {"database": database, "code": code, **result}
        results.append(result)
        print(json.dumps(result), flush=True)

    for database, url in databases.items():
        if small is not None and args.baseline_rev:
            server = Server(work=work, name=f"{database}-old", database_url=url, src=old_tree(work, args.baseline_rev))
            try:
                record(database, args.baseline_rev, sync(server, small, "sync"))
            finally:
                server.stop()
        if small is not None:
            server = Server(work=work, name=f"{database}-sync", database_url=url, src=None)
            try:
                record(database, "new", sync(server, small, "sync"))
            finally:
                server.stop()
        server = Server(work=work, name=f"{database}-job", database_url=url, src=None)
        try:
            record(database, "new", idle(server, args.idle))
            record(database, "new", job(server, big))
        finally:
            server.stop()
    print("\n| database | code | what | rows | seconds | status | /me p50 | /me p99 | /me max | /me answers |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        me = r["me"]
        print(f"| {r['database']} | {r['code']} | {r['what']} | {r.get('rows') or ''} | {r.get('seconds', '')} | "
              f"{r.get('status', '')} | {me.get('p50_ms')} | {me.get('p99_ms')} | {me.get('max_ms')} | "
              f"{me.get('statuses')} |")


if __name__ == "__main__":
    main()
