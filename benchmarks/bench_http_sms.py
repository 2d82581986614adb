"""HTTP SMS providers (issue 18): a masspost worker against a bare httpx loop, on each provider's loopback peer.

For each provider (Twilio, Messente), against its test peer (tests/peers: TwilioPeer, MessentePeer) run in this
process, in the same run and alternately:

  bare      – one `httpx.Client` with the gateway's limits (max_connections = window, keep-alive), a thread pool of
              `window` threads posting the requests the gateway posts (same path, form or JSON, Basic auth,
              callback URL), N times, each answer's id read from its JSON;
  masspost  – N SMS queued in the outbox as one campaign, then `worker_run(until_idle=True)` with the SMS URL
              `peer.url + "?window=W"`: it opens the gateway (one account request), claims, sends, records, and
              ends with one empty claim.

Every client is its own process: each measures its own time and CPU (`getrusage`, all threads) over the timed
run. The peer's CPU is this process's over the same run; PostgreSQL's is every postgres process's, from /proc
(on SQLite the database works inside the worker's process, so its CPU is in the worker's). The targets: masspost's
throughput ≥ 0.8 × the bare loop's, and its CPU per message (worker + database) ≤ 3 × the bare client's.

`--latency SECONDS` makes the peer hold every answer that long (asyncio: it serves other connections meanwhile), for
the bare loop, the gateway alone and the worker alike. 0 (the default) measures the CPU-bound case, where peer,
client and database share the machine's cores; a real provider answers in tens of milliseconds, and then a window
of W is bound by W / latency, which is the figure a clinic sees.
How to run: benchmarks/README.md; figures: docs/benchmarks.md ("HTTP SMS providers").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/masspost_bench_http_sms"
PROVIDERS = ("twilio", "messente")
SMS_TEXT = "Tere {last_name}! Teie hambakontroll on ootel. Broneeri aeg: +372 600 1000"
SENDER = "Hammas"
PUBLIC_URL = "https://masspost.example"  # callbacks are asked for as in production; the peers never call them here
PHONE_BASE = 8_000_000  # patients +3725800000… (bench_delivery uses 5–7 million)
THROUGHPUT_TARGET, CPU_TARGET = 0.8, 3.0


# -- CPU accounting (as benchmarks/bench_delivery.py) -------------------------------------------------------------


def process_cpu() -> float:
    """CPU seconds (user + system) of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pid_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, from /proc: the worker's own PostgreSQL backend."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine, from /proc (ended backends through the server's
    children's time); 0 when none runs. Read before and after a run: nothing else uses the server here."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name.startswith("postgres"):
            total += sum(int(field) for field in rest[11:15])  # utime, stime, cutime, cstime
    return total / ticks


# -- the bare loop (a subprocess) ---------------------------------------------------------------------------------


def bare_request(provider: str, user: str, n: int, callback: str) -> tuple[str, dict[str, Any]]:
    """The path and body the provider module posts for patient n's SMS (docs/delivery.md, "HTTP SMS providers")."""
    to, text = f"+3725{PHONE_BASE + n:07d}", SMS_TEXT.format(last_name=f"X{PHONE_BASE + n}")
    if provider == "twilio":
        form = {"To": to, "From": SENDER, "Body": text}
        if callback:
            form["StatusCallback"] = f"{callback}?m={n + 1}"  # an outbox id, as the gateway asks (callback_url)
        return f"/2010-04-01/Accounts/{user}/Messages.json", {"data": form}
    body: dict[str, Any] = {"to": to, "messages": [{"channel": "sms", "sender": SENDER, "text": text}]}
    if callback:
        body["dlr_url"] = f"{callback}?m={n + 1}"
    return "/v1/omnimessage", {"json": body}


def bare_remote_id(provider: str, answer: Any) -> str:
    if provider == "twilio":
        return str(answer["sid"])
    return str(answer["messages"][0]["message_id"])


def bare_loop(provider: str, url: str, count: int, window: int, callback: str) -> dict[str, Any]:
    """What a developer would write: one client, a pool of `window` threads, `map` over the messages."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    parts = urlsplit(url)
    user, password = parts.username or "", parts.password or ""
    requests = [bare_request(provider, user, n, callback) for n in range(count)]  # built before timing starts
    start, cpu = time.perf_counter(), process_cpu()
    limits = httpx.Limits(max_connections=window, max_keepalive_connections=window)
    with httpx.Client(base_url=f"http://{parts.hostname}:{parts.port}", auth=(user, password), limits=limits,
                      timeout=10) as client:

        def send(request: tuple[str, dict[str, Any]]) -> str:
            answer = client.post(request[0], **request[1])
            answer.raise_for_status()
            return bare_remote_id(provider, answer.json())

        with ThreadPoolExecutor(max_workers=window) as pool:
            ids = list(pool.map(send, requests))
    seconds, cpu = time.perf_counter() - start, process_cpu() - cpu
    assert len(set(ids)) == count, "the peer gave the same id twice"
    return {"sent": count, "seconds": seconds, "cpu_seconds": cpu}


# -- the gateway alone (a subprocess): where the time goes ------------------------------------------------------


def gateway_alone(url: str, count: int) -> dict[str, Any]:
    """masspost's HTTP gateway driven as the worker drives it — groups of half the window, two in flight, each
    finished before the next begins — with no database: what the gateway and the group structure cost by
    themselves, between the bare loop and the worker."""
    import masspost.delivery.gateways.messente  # noqa: F401 - imported before the clock starts (see the worker)
    import masspost.delivery.gateways.twilio  # noqa: F401
    from masspost.delivery.gateways import gateway_from_url
    from masspost.delivery.gateways.base import Channel, OutgoingMessage

    messages = []
    for n in range(count):
        text = SMS_TEXT.format(last_name=f"X{PHONE_BASE + n}")
        messages.append(OutgoingMessage(message_id=n + 1, campaign_id=1, patient_ref=f"P{n}", channel=Channel.SMS,
                                        to=f"+3725{PHONE_BASE + n:07d}", language="et", text=text, encoding="GSM-7",
                                        parts=1, sender=SENDER))
    start, cpu = time.perf_counter(), process_cpu()
    gateway: Any = gateway_from_url(url, public_url=PUBLIC_URL)
    gateway.open()
    group = max(1, gateway.window // 2)
    groups = [messages[i:i + group] for i in range(0, count, group)]
    accepted = 0
    in_flight = [gateway.begin(groups[0])] if groups else []
    for later in groups[1:]:
        in_flight.append(gateway.begin(later))
        accepted += sum(r.remote_id != "" for r in gateway.finish(in_flight.pop(0)))
    for handle in in_flight:
        accepted += sum(r.remote_id != "" for r in gateway.finish(handle))
    gateway.close()
    seconds, cpu = time.perf_counter() - start, process_cpu() - cpu
    assert accepted == count, accepted
    return {"sent": count, "seconds": seconds, "cpu_seconds": cpu}


# -- the masspost worker (a subprocess) ---------------------------------------------------------------------------


def masspost_worker(url: str, batch: int) -> dict[str, Any]:
    """`worker_run(until_idle=True)` on the SMS channel alone, with the database calls of its sending thread timed
    (Django's execute_wrapper) and, with BENCH_PROFILE=<path>, a cProfile of the run written there."""
    import cProfile
    import threading

    import django

    django.setup()
    from django.db import connection

    from masspost.delivery.worker import GatewayConfig, worker_run

    db = {"seconds": 0.0, "statements": 0}
    sending_thread = threading.get_ident()

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if threading.get_ident() == sending_thread:
                db["seconds"] += time.perf_counter() - started
                db["statements"] += 1

    connection.ensure_connection()
    backend = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    # Imported before the clock starts, as the bare loop imports httpx: a worker pays it once, not per message.
    import masspost.delivery.gateways.messente  # noqa: F401
    import masspost.delivery.gateways.twilio  # noqa: F401

    config = GatewayConfig(urls={"sms": url}, rates={"sms": 0.0})
    profile_to = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_to else None
    with connection.execute_wrapper(timed):
        started, cpu, backend_cpu = time.perf_counter(), process_cpu(), pid_cpu(backend) if backend else 0.0
        if profiler:
            profiler.enable()
        stats = worker_run(until_idle=True, batch_size=batch, gateways=config)
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - started, process_cpu() - cpu
        backend_cpu = pid_cpu(backend) - backend_cpu if backend else 0.0
    if profiler and profile_to:
        profiler.dump_stats(profile_to)
    return {"sent": stats.sent, "seconds": seconds, "cpu_seconds": cpu, "backend_cpu_seconds": backend_cpu,
            "db_seconds": db["seconds"],
            "db_statements": db["statements"], "stats": {k: v for k, v in vars(stats).items() if v}}


# -- the conductor (one database) ---------------------------------------------------------------------------------


def run_client(args: list[str], env: dict[str, str]) -> Any:
    out = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"client {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def peer_class(provider: str) -> Any:
    if provider == "twilio":
        from tests.peers.twilio_api import TwilioPeer

        return TwilioPeer
    from tests.peers.messente_api import MessentePeer

    return MessentePeer


class Bench:
    """One database: its clinic of N patients, a campaign per masspost run."""

    def __init__(self, database: str, count: int) -> None:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from masspost.delivery.models import OutboxMessage

        # Left over by an interrupted earlier run: not part of this one.
        OutboxMessage.objects.filter(status__in=["queued", "sending"]).update(status="cancelled")
        self.database = database
        self.postgres = connection.vendor == "postgresql"
        self.count = count
        self.code = f"H5-{count}"  # a clinic per size: a campaign reaches every patient of its clinic
        self.runs = 0
        self._patients()

    def _patients(self) -> None:
        from masspost.clinic.contact import address_status
        from masspost.clinic.models import Clinic, Patient

        clinic, _ = Clinic.objects.get_or_create(
            code=self.code, defaults={"name": "Hammas", "country": "EE", "time_zone": "Europe/Tallinn",
                                      "default_language": "et", "phone": "+372 600 1000",
                                      "email": "kliinik@hammas.example", "sms_sender": SENDER})
        have = Patient.objects.filter(clinic=clinic).count()
        rows = []
        for n in range(PHONE_BASE + have, PHONE_BASE + self.count):
            phone = f"+3725{n:07d}"
            rows.append(Patient(external_id=f"{self.code}-{n}", clinic=clinic, first_name="Mari", last_name=f"X{n}",
                                country="EE", language="et", phone=phone, phone_e164=phone,
                                phone_status=address_status(phone, phone), marketing_sms=True, marketing_email=True))
        Patient.objects.bulk_create(rows, batch_size=5000)

    def queue(self) -> None:
        """One campaign: `count` SMS queued for the worker."""
        from django.db import connection

        from masspost.campaigns.services import campaign_send
        from masspost.campaigns.spec import CampaignSpec
        from masspost.clinic.scope import Scope

        self.runs += 1
        spec = CampaignSpec.from_dict({
            "name": f"bench http {time.time()} {self.runs}", "purpose": "service", "channel": "sms",
            "audience": {"clinics": [self.code], "reference_date": "2026-11-25"},
            "content": {"et": {"sms": SMS_TEXT}}})
        campaign_send(spec=spec, scope=Scope.operator())
        if self.postgres:  # each run leaves thousands of dead row versions: later runs must not pay for them
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE delivery_outboxmessage")

    def warm_up(self) -> None:
        """One campaign through a worker on the memory gateway, untimed. On a freshly made PostgreSQL database the
        first two campaigns' worker backends took 3–4 × the CPU per message of the later ones (with JIT off too):
        a production outbox is not a fresh table, so the measured runs start after this (docs/benchmarks.md)."""
        self.queue()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MASSPOST_LOG_LEVEL": "ERROR"}
        env.pop("BENCH_PROFILE", None)
        run_client(["_worker", "memory:?window=10", "500"], env)

    def measure(self, provider: str, window: int, repeat: int, batch: int, latency: float) -> dict[str, Any]:
        """`repeat` pairs: the bare loop, then the worker, on one peer started for the provider, which holds every
        answer `latency` seconds for all three clients alike."""
        from masspost.delivery.gateways.http_sms import provider_from_url

        runs: list[dict[str, Any]] = []
        with peer_class(provider)(validate=False, latency=latency) as peer:
            url = f"{peer.url}?window={window}"
            callbacks = provider_from_url(url).webhook_urls(PUBLIC_URL)
            callback = callbacks.get("status") or callbacks.get("dlr") or ""
            env = {**os.environ, "PYTHONPATH": str(ROOT), "MASSPOST_LOG_LEVEL": "ERROR",
                   "MASSPOST_PUBLIC_URL": PUBLIC_URL}
            if env.get("BENCH_PROFILE"):
                env["BENCH_PROFILE"] = f"{env['BENCH_PROFILE']}.{provider}.{self.database}"
            for _ in range(repeat):
                run = {"bare": self._timed(peer, lambda: run_client(
                    ["_bare", provider, url, str(self.count), str(window), callback], env))}
                run["gateway"] = self._timed(peer, lambda: run_client(["_gateway", url, str(self.count)], env))
                self.queue()
                run["masspost"] = self._timed(peer, lambda: run_client(["_worker", url, str(batch)], env))
                assert run["masspost"]["sent"] == self.count, run["masspost"]
                runs.append(run)
                print(f"  {provider} {self.database}: {pair_line(run, self.count)}", flush=True)
            same = same_requests(peer, provider)
        return summarize(provider, self.database, self.count, window, latency, runs, same)

    def _timed(self, peer: Any, client: Any) -> dict[str, Any]:
        peer.reset_in_flight()
        peer_cpu, database = process_cpu(), postgres_cpu() if self.postgres else 0.0
        result = client()
        result["peer_cpu_seconds"] = process_cpu() - peer_cpu
        result["max_in_flight"] = peer.max_in_flight  # the client's window as the peer saw it
        result["db_cpu_seconds"] = postgres_cpu() - database if self.postgres else 0.0
        result["load"] = os.getloadavg()[0]  # the machine's 1-minute load after the run: others' work disturbs it
        return dict(result)


def same_requests(peer: Any, provider: str) -> str:
    """Whether the bare loop's message requests had the same shape (path, fields) as masspost's: "" when they
    did, else what differed. The peer keeps every request; the first message request of each kind is compared."""
    shapes: list[tuple[Any, ...]] = []
    for request in peer.requests:
        if getattr(request, "method", "") != "POST":
            continue
        body = getattr(request, "form", None) or getattr(request, "json", None) or {}
        shape = (request.path, tuple(sorted(_shape(body))))
        if shape not in shapes:
            shapes.append(shape)
    return "" if len(shapes) <= 1 else f"{provider}: {len(shapes)} request shapes: {shapes}"


def _shape(body: Any, prefix: str = "") -> list[str]:
    if isinstance(body, dict):
        return [leaf for key, value in body.items() for leaf in _shape(value, f"{prefix}{key}.")]
    if isinstance(body, list):
        return [leaf for value in body for leaf in _shape(value, f"{prefix}[].")]
    return [prefix.rstrip(".")]


def cpu_ms(result: dict[str, Any], count: int) -> dict[str, float]:
    """CPU milliseconds per message: the client's own (worker or bare loop), the database's, the peer's."""
    return {"client": 1000 * result["cpu_seconds"] / count, "database": 1000 * result["db_cpu_seconds"] / count,
            "peer": 1000 * result["peer_cpu_seconds"] / count}


def pair_line(run: dict[str, Any], count: int) -> str:
    bare, alone, ours = run["bare"], run["gateway"], run["masspost"]
    b, g, m = cpu_ms(bare, count), cpu_ms(alone, count), cpu_ms(ours, count)
    db = (f", db {ours['db_seconds'] / ours['seconds']:.0%} of worker time, load {ours['load']:.1f}, most in "
          f"flight {bare['max_in_flight']} / {alone['max_in_flight']} / {ours['max_in_flight']}")
    return (f"bare {count / bare['seconds']:.0f}/s, gateway alone {count / alone['seconds']:.0f}/s, masspost "
            f"{count / ours['seconds']:.0f}/s (ratio {bare['seconds'] / ours['seconds']:.2f}{db}); CPU ms/message "
            f"client + database (+ peer): bare {b['client']:.3f} (+ {b['peer']:.3f}), gateway alone "
            f"{g['client']:.3f} (+ {g['peer']:.3f}), masspost {m['client']:.3f} + {m['database']:.3f} "
            f"[its backend {1000 * ours['backend_cpu_seconds'] / count:.3f}] (+ {m['peer']:.3f})")


def summarize(provider: str, database: str, count: int, window: int, latency: float, runs: list[dict[str, Any]],
              same: str) -> dict[str, Any]:
    """Throughput: best of the runs, each side (as bench_delivery); CPU: the median (the lower of an even count; for
    masspost the run of that total, whose parts are shown). Each pair's ratios too."""
    bare_s = [r["bare"]["seconds"] for r in runs]
    alone_s = [r["gateway"]["seconds"] for r in runs]
    ours_s = [r["masspost"]["seconds"] for r in runs]
    bare_cpu = [cpu_ms(r["bare"], count) for r in runs]
    ours_cpu = [cpu_ms(r["masspost"], count) for r in runs]

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    # Each side's run of the median total (the lower one of an even count), so that its parts add up.
    bare_client = sorted(row["client"] + row["database"] for row in bare_cpu)[(len(runs) - 1) // 2]
    by_total = sorted(range(len(runs)), key=lambda i: ours_cpu[i]["client"] + ours_cpu[i]["database"])
    middle = by_total[(len(runs) - 1) // 2]
    ours_client = ours_cpu[middle]["client"] + ours_cpu[middle]["database"]
    out = {
        "provider": provider, "database": database, "messages": count, "window": window, "latency": latency,
        "runs": len(runs), "bare_msg_s": count / min(bare_s), "masspost_msg_s": count / min(ours_s),
        "pair_bare_msg_s": [count / s for s in bare_s], "pair_masspost_msg_s": [count / s for s in ours_s],
        "throughput_ratio": min(bare_s) / min(ours_s),
        "pair_throughput_ratios": [b / o for b, o in zip(bare_s, ours_s, strict=True)],
        "gateway_alone_msg_s": count / min(alone_s),
        "gateway_alone_cpu_ms": statistics.median(cpu_ms(r["gateway"], count)["client"] for r in runs),
        "bare_cpu_ms": bare_client, "masspost_cpu_ms": ours_client,
        "masspost_worker_cpu_ms": ours_cpu[middle]["client"], "masspost_db_cpu_ms": ours_cpu[middle]["database"],
        "masspost_backend_cpu_ms": 1000 * runs[middle]["masspost"]["backend_cpu_seconds"] / count,
        "peer_cpu_ms": {"bare": median(bare_cpu, "peer"), "masspost": median(ours_cpu, "peer")},
        "cpu_ratio": ours_client / bare_client,
        "pair_cpu_ratios": [(o["client"] + o["database"]) / (b["client"] + b["database"])
                            for b, o in zip(bare_cpu, ours_cpu, strict=True)],
        "db_share_of_worker_time": statistics.median(r["masspost"]["db_seconds"] / r["masspost"]["seconds"]
                                                     for r in runs),
        "statements_per_message": statistics.median(r["masspost"]["db_statements"] for r in runs) / count,
        "same_requests": same or "yes", "raw": runs,
    }
    if same:
        print(f"  WARNING: the bare loop's requests differ from masspost's — {same}")
    return out


def conduct(options: argparse.Namespace) -> list[dict[str, Any]]:
    """Every provider on the one database this process was started for."""
    bench = Bench(options.database, options.messages)
    for _ in range(options.warmup):
        bench.warm_up()
    results = []
    for provider in options.providers:
        results.append(bench.measure(provider, options.window, options.repeat, options.batch, options.latency))
    return results


# -- the table and the verdict ------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| provider | database | latency | bare msg/s | gateway alone msg/s | masspost msg/s | ratio (≥ 0.8) "
             "| pairs "
             "| CPU ms/msg bare | gateway alone | CPU ms/msg masspost (worker + db) | ratio (≤ 3) | pairs "
             "| peer CPU ms/msg bare / masspost |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|"]
    for r in results:
        lines.append(
            f"| {r['provider']} | {r['database']} | {latency_label(r)} | {r['bare_msg_s']:,.0f} "
            f"| {r['gateway_alone_msg_s']:,.0f} "
            f"| {r['masspost_msg_s']:,.0f} "
            f"| **{r['throughput_ratio']:.2f}** | {spread(r['pair_throughput_ratios'])} | {r['bare_cpu_ms']:.3f} "
            f"| {r['gateway_alone_cpu_ms']:.3f} "
            f"| {r['masspost_cpu_ms']:.3f} ({r['masspost_worker_cpu_ms']:.3f} + {r['masspost_db_cpu_ms']:.3f}) "
            f"| **{r['cpu_ratio']:.2f}** | {spread(r['pair_cpu_ratios'])} "
            f"| {r['peer_cpu_ms']['bare']:.3f} / {r['peer_cpu_ms']['masspost']:.3f} |")
    return "\n".join(lines)


def latency_label(result: dict[str, Any]) -> str:
    """The peer's latency and the ceiling it puts on a window (window / latency), or 0 for the CPU-bound case."""
    latency = result.get("latency", 0.0)
    if not latency:
        return "0"
    return f"{1000 * latency:g} ms (≤ {result['window'] / latency:,.0f}/s)"


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def verdict(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in results:
        fast = r["throughput_ratio"] >= THROUGHPUT_TARGET
        lean = r["cpu_ratio"] <= CPU_TARGET
        lines.append(f"{r['provider']} on {r['database']}, latency {1000 * r.get('latency', 0.0):g} ms: "
                     f"throughput {r['throughput_ratio']:.2f} "
                     f"({'met' if fast else 'MISSED'}, ≥ {THROUGHPUT_TARGET}), CPU {r['cpu_ratio']:.2f} "
                     f"({'met' if lean else 'MISSED'}, ≤ {CPU_TARGET:.0f})")
    return lines


# -- entry points -------------------------------------------------------------------------------------------------


def database_env(database: str, data_dir: Path) -> dict[str, str]:
    """The environment for one database: PostgreSQL from DATABASE_URL (or DEFAULT_PG); SQLite in a fresh data
    directory of its own."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if database == "postgresql":
        url = os.environ.get("DATABASE_URL", "")
        env["DATABASE_URL"] = url if url.startswith("postgres") else DEFAULT_PG
        ensure_postgres_database(env["DATABASE_URL"])
    else:
        env.pop("DATABASE_URL", None)
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        env["MASSPOST_DATA_DIR"] = str(data_dir)
    return env


def ensure_postgres_database(url: str) -> None:
    """Made if missing; the benchmark's own (DEFAULT_PG) is made afresh each time, so that every run starts from
    the same empty tables and the current migrations."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if url == DEFAULT_PG:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def client_main(client: str, args: list[str]) -> None:
    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # a diagnostic: the GIL's hand-over interval, in every client alike
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    if client == "_bare":
        result = bare_loop(args[0], args[1], int(args[2]), int(args[3]), args[4])
    elif client == "_gateway":
        result = gateway_alone(args[0], int(args[1]))
    elif client == "_worker":
        result = masspost_worker(args[0], int(args[1]))
    else:  # "_conduct": one database; its results to the file args[1] (its progress lines go to stdout)
        Path(args[1]).write_text(json.dumps(conduct(argparse.Namespace(**json.loads(args[0])))))
        return
    print(json.dumps(result))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        client_main(sys.argv[1], sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("providers", nargs="*", help="twilio, messente (default: both)")
    parser.add_argument("--database", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="the peer holds every answer this long, for all three clients (default 0: CPU-bound)")
    parser.add_argument("--batch", type=int, default=500, help="the worker's batch_size (its default)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed campaigns through a worker on the memory gateway first, on each database")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 300 messages, one pair each")
    parser.add_argument("--out", help="the JSON results (default benchmarks/out/http_sms.json, or "
                        "http_sms-latency<SECONDS>.json with --latency)")
    options = parser.parse_args()
    options.providers = options.providers or list(PROVIDERS)
    if unknown := set(options.providers) - set(PROVIDERS):
        parser.error(f"unknown provider(s): {', '.join(sorted(unknown))} (choose from {', '.join(PROVIDERS)})")
    if options.latency < 0:
        parser.error("--latency must be 0 or more seconds")
    if options.quick:
        options.messages, options.repeat, options.warmup = 300, 1, 0
    if not options.out:
        name = f"http_sms-latency{options.latency:g}.json" if options.latency else "http_sms.json"
        options.out = str(ROOT / "benchmarks" / "out" / name)
    databases = ["sqlite", "postgresql"] if options.database == "both" else [options.database]
    results: list[dict[str, Any]] = []
    data_dir = Path(tempfile.gettempdir()) / "masspost-bench-http-sms"
    for database in databases:
        print(f"{database}: {options.messages} SMS, window {options.window}, peer latency "
              f"{1000 * options.latency:g} ms, {options.repeat} pair(s) per provider", flush=True)
        conduct_options = {"database": database, "messages": options.messages, "window": options.window,
                           "repeat": options.repeat, "batch": options.batch, "providers": options.providers,
                           "warmup": options.warmup, "latency": options.latency}
        env = database_env(database, data_dir)
        part = Path(options.out).with_suffix(f".{database}.json")
        part.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, __file__, "_conduct", json.dumps(conduct_options), str(part)], env=env,
                              check=False)
        if proc.returncode:
            sys.exit(f"the {database} run failed (exit {proc.returncode})")
        results.extend(json.loads(part.read_text()))
    print()
    print(table(results))
    print()
    print("\n".join(verdict(results)))
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    import httpx

    Path(options.out).write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
                                             "python": sys.version.split()[0], "httpx": httpx.__version__,
                                             "latency": options.latency,
                                             "results": results}, indent=2))


if __name__ == "__main__":
    main()
