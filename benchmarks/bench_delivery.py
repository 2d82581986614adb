"""Delivery benchmarks (issue 4): masspost workers against bare protocol loops, on the same loopback peers.

  smtp    – a bare smtplib loop over one reused connection vs one `masspost` worker, same N e-mails
  smpp    – a bare smpplib loop keeping a window of W submit_sm outstanding vs one worker with window=W
  scale   – 4 workers on PostgreSQL sharing one campaign (SMS and e-mail): aggregate throughput, and the share
            of each worker's time spent inside database calls (Django's execute_wrapper)

The peers are the test peers (tests/peers: aiosmtpd, smpp34), run in this process; every client — bare loop or
worker — is a separate process, so each gets the same CPU and the same peer. Throughput is timed inside the
client: from connecting to the last answer (bare loops), `worker_run(until_idle=True)` (workers; it opens the
gateway, claims, sends, records, and ends with one empty claim). How to run: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/masspost_bench_delivery"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")

SMS_TEXT = "Tere {last_name}! Teie hambakontroll on ootel. Broneeri aeg: +372 600 1000"
EMAIL_SUBJECT = "Meeldetuletus"
EMAIL_BODY = "Tere {last_name}!\n\nTeie hambakontroll on ootel. Broneeri aeg: +372 600 1000.\n\nHammas"


# -- CPU accounting -----------------------------------------------------------------------------------------------


def process_cpu() -> float:
    """CPU seconds (user + system) of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (server, backends, WAL writer, ...), from /proc.
    Read before and after a run: the difference is what the database spent on it (nothing else uses it here).
    A backend that has ended is counted in the server's children's time once the server has reaped it."""
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
            total += sum(int(field) for field in rest[11:15])  # utime, stime, cutime, cstime (fields 14-17)
    return total / ticks


# -- clients (run as subprocesses) --------------------------------------------------------------------------------


def bare_smtp(port: int, count: int) -> dict[str, Any]:
    """What a developer would write: one connection, a string-built message per recipient, sendmail."""
    import smtplib
    from email.utils import formatdate, make_msgid

    start, cpu = time.perf_counter(), process_cpu()
    client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    client.ehlo("bench.example")
    for n in range(count):
        to = f"b{n}@example.com"
        body = EMAIL_BODY.format(last_name=f"B{n:06d}")
        message = (f"From: Hammas <kliinik@hammas.example>\r\nTo: {to}\r\nSubject: {EMAIL_SUBJECT}\r\n"
                   f"Date: {formatdate()}\r\nMessage-ID: {make_msgid(domain='hammas.example')}\r\n"
                   f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n")
        client.sendmail("kliinik@hammas.example", [to], message.encode())
    client.quit()
    return {"sent": count, "seconds": time.perf_counter() - start, "cpu_seconds": process_cpu() - cpu}


def bare_smpp(port: int, count: int, window: int) -> dict[str, Any]:
    """smpplib with a window: keep `window` submit_sm unanswered, answer deliver_sm (receipts) as they come."""
    import smpplib.client
    import smpplib.smpp

    start, cpu = time.perf_counter(), process_cpu()
    client = smpplib.client.Client("127.0.0.1", port, timeout=30, allow_unknown_opt_params=True)
    client.logger.disabled = True
    client.connect()
    client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as masspost does; else ~45 msg/s
    client.bind_transceiver(system_id="bare", password="secret")
    sent = answered = 0
    while answered < count:
        while sent < count and sent - answered < window:
            text = SMS_TEXT.format(last_name=f"B{sent:06d}")
            client.send_pdu(smpplib.smpp.make_pdu(
                "submit_sm", client=client, source_addr_ton=5, source_addr_npi=0, source_addr="Hammas",
                dest_addr_ton=1, dest_addr_npi=1, destination_addr=f"3726{sent:07d}", registered_delivery=1,
                data_coding=0, short_message=text.encode("ascii")))
            sent += 1
        pdu = client.read_pdu()
        if pdu.command == "submit_sm_resp":
            assert pdu.status == 0, pdu.status
            answered += 1
        elif pdu.command == "deliver_sm":
            response = smpplib.smpp.make_pdu("deliver_sm_resp", client=client, sequence=pdu.sequence)
            response.sequence = pdu.sequence
            client.send_pdu(response)
    seconds, cpu = time.perf_counter() - start, process_cpu() - cpu
    with contextlib.suppress(Exception):  # the peer may close right after unbind_resp
        client.unbind()
    client.disconnect()
    return {"sent": count, "seconds": seconds, "cpu_seconds": cpu}


def masspost_worker(start_at: float, batch: int) -> dict[str, Any]:
    """`worker_run(until_idle=True)` with every database call on the sending path timed, and the receipts
    the SMPP reader thread writes timed apart (they run beside the sending, not in its way)."""
    import threading

    import django

    django.setup()
    from django.db import connection

    from masspost.delivery import worker as worker_module

    db = {"seconds": 0.0, "statements": 0}
    receipts = {"seconds": 0.0, "count": 0}
    by_kind: dict[str, list[Any]] = {}
    sending_thread = threading.get_ident()

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if threading.get_ident() == sending_thread:
                took = time.perf_counter() - started
                db["seconds"] += took
                db["statements"] += 1
                kind = " ".join(sql.split()[:4])[:60]
                entry = by_kind.setdefault(kind, [0, 0.0])
                entry[0] += 1
                entry[1] += took

    original = worker_module.receipt_record_many

    def receipt(batch: list[tuple[str, str, str]]) -> Any:
        started = time.perf_counter()
        try:
            return original(batch)
        finally:
            receipts["seconds"] += time.perf_counter() - started
            receipts["count"] += len(batch)

    worker_module.receipt_record_many = receipt
    connection.ensure_connection()
    connects = [0]
    real_connect = connection.connect

    def counting_connect() -> None:
        connects[0] += 1
        real_connect()

    connection.connect = counting_connect  # type: ignore[method-assign]
    time.sleep(max(0.0, start_at - time.time()))
    profile_to = os.environ.get("BENCH_PROFILE")  # a path: write the worker's cProfile stats there
    import cProfile

    profiler = cProfile.Profile() if profile_to else None
    with connection.execute_wrapper(timed):
        started_wall, started, cpu = time.time(), time.perf_counter(), process_cpu()
        if profiler:
            profiler.enable()
        stats = worker_module.worker_run(until_idle=True, batch_size=batch)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile_to)
        seconds, cpu = time.perf_counter() - started, process_cpu() - cpu
    return {"sent": stats.sent, "seconds": seconds, "cpu_seconds": cpu, "start": started_wall,
            "end": started_wall + seconds,
            "db_seconds": db["seconds"], "db_statements": db["statements"], "receipt_seconds": receipts["seconds"],
            "receipts": receipts["count"], "reconnects": connects[0], "stats": vars(stats),
            "db_by_statement": dict(sorted(by_kind.items(), key=lambda kv: -kv[1][1]))}


# -- the conductor ------------------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def run_client(args: list[str], env: dict[str, str]) -> Any:
    out = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"client {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Bench:
    def __init__(self, window: int, receipts: bool) -> None:
        import django

        django.setup()
        from django.core.management import call_command

        from tests.peers.smsc import SMSCPeer
        from tests.peers.smtp_server import SMTPPeer

        call_command("migrate", verbosity=0)
        from masspost.delivery.models import OutboxMessage

        # Left over by an interrupted earlier run: not part of this one.
        OutboxMessage.objects.filter(status__in=["queued", "sending"]).update(status="cancelled")
        self.window = window
        self.smtp = SMTPPeer.start()
        self.smsc = SMSCPeer.start()
        self.smsc.auto_receipts = receipts
        self.runs = 0

    def stop(self) -> None:
        self.smtp.stop()
        self.smsc.stop()

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT), "MASSPOST_LOG_LEVEL": "ERROR",
                "MASSPOST_SMS_URL": f"smpp://masspost:secret@127.0.0.1:{self.smsc.port}?window={self.window}",
                "MASSPOST_EMAIL_URL": f"smtp://127.0.0.1:{self.smtp.port}", **extra}

    def patients(self, code: str, count: int) -> None:
        from masspost.clinic.contact import address_status
        from masspost.clinic.models import Clinic, Patient

        clinic, _ = Clinic.objects.get_or_create(
            code=code, defaults={"name": "Hammas", "country": "EE", "time_zone": "Europe/Tallinn",
                                 "default_language": "et", "phone": "+372 600 1000",
                                 "email": "kliinik@hammas.example", "sms_sender": "Hammas"})
        have = Patient.objects.filter(clinic=clinic).count()
        base = {"S": 5_000_000, "E": 6_000_000, "M": 7_000_000}[code[0]]
        rows = []
        for n in range(base + have, base + count):
            phone, email = f"+3725{n:07d}", f"p{n}@example.com"
            rows.append(Patient(external_id=f"{code}{n}", clinic=clinic, first_name="Mari", last_name=f"X{n}",
                                country="EE", language="et", phone=phone, phone_e164=phone,
                                phone_status=address_status(phone, phone), email=email, email_normalized=email,
                                email_status=address_status(email, email), marketing_sms=True, marketing_email=True))
        Patient.objects.bulk_create(rows, batch_size=5000)

    def campaign(self, code: str, channel: str) -> int:
        from masspost.campaigns.services import campaign_send
        from masspost.campaigns.spec import CampaignSpec
        from masspost.clinic.scope import Scope

        self.runs += 1
        spec = CampaignSpec.from_dict({
            "name": f"bench {time.time()} {self.runs}", "purpose": "service", "channel": channel,
            "audience": {"clinics": [code], "reference_date": "2026-11-25"},
            "content": {"et": {"sms": SMS_TEXT, "email_subject": EMAIL_SUBJECT, "email_body": EMAIL_BODY}}})
        campaign_id = campaign_send(spec=spec, scope=Scope.operator()).campaign_id
        from django.db import connection

        # Each run leaves thousands of dead row versions; without this the later runs pay for the earlier ones.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE delivery_outboxmessage, delivery_deliveryreceipt")
        return campaign_id

    def workers(self, count: int, batch: int) -> list[dict[str, Any]]:
        start_at = time.time() + 4.0  # after every worker's Django start-up
        procs = [subprocess.Popen([sys.executable, __file__, "_worker", str(start_at), str(batch)], env=self.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            if proc.returncode:
                raise RuntimeError(f"worker failed:\n{err[-3000:]}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results


def bench_against_bare(bench: Bench, name: str, channel: str, bare: list[str], count: int,
                       repeat: int) -> dict[str, Any]:
    """The bare loop (`bare`: its client command) and one masspost worker, alternately, on `count` messages."""
    # A clinic per size: a campaign reaches every patient of its clinic, and a later run with fewer messages must
    # not find the earlier run's patients there.
    prefix = {"email": "E2", "sms": "S5"}[channel] + f"-{count}"
    bench.patients(prefix, count)
    bare_s, ours = [], []
    cpu: dict[str, list[dict[str, float]]] = {"bare": [], "masspost": []}

    def ms(seconds: float) -> float:
        return round(1000 * seconds / count, 3)

    for _ in range(repeat):
        peer, database = process_cpu(), postgres_cpu()
        result = run_client(bare, bench.env())
        bare_s.append(result["seconds"])
        cpu["bare"].append({"client": ms(result["cpu_seconds"]), "peer": ms(process_cpu() - peer),
                            "database": ms(postgres_cpu() - database)})
        bench.campaign(prefix, channel)
        peer, database = process_cpu(), postgres_cpu()
        [result] = bench.workers(1, batch=500)
        assert result["sent"] == count, result
        ours.append(result["seconds"])
        cpu["masspost"].append({"client": ms(result["cpu_seconds"]), "peer": ms(process_cpu() - peer),
                                "database": ms(postgres_cpu() - database)})
        receipts = f", receipts {result['receipts']}" if channel == "sms" else ""
        print(f"  {name}: bare {count / bare_s[-1]:.0f}/s, masspost {count / ours[-1]:.0f}/s, "
              f"db {result['db_seconds'] / result['seconds']:.0%}{receipts}; CPU ms per message "
              f"(client, peer, database): bare {cpu_line(cpu['bare'][-1])}, masspost {cpu_line(cpu['masspost'][-1])}")
    return {**summary(name, count, bare_s, ours), "cpu_ms_per_message": cpu}


def cpu_line(cpu: dict[str, float]) -> str:
    total = sum(cpu.values())
    return f"{cpu['client']:.3f} + {cpu['peer']:.3f} + {cpu['database']:.3f} = {total:.3f}"


def bench_smtp(bench: Bench, count: int, repeat: int) -> dict[str, Any]:
    return bench_against_bare(bench, "smtp", "email", ["_bare_smtp", str(bench.smtp.port), str(count)], count,
                              repeat)


def bench_smpp(bench: Bench, count: int, repeat: int) -> dict[str, Any]:
    bare = ["_bare_smpp", str(bench.smsc.port), str(count), str(bench.window)]
    return bench_against_bare(bench, "smpp", "sms", bare, count, repeat)


def summary(name: str, count: int, bare: list[float], ours: list[float]) -> dict[str, Any]:
    best_bare, best_ours = count / min(bare), count / min(ours)
    print(f"{name}: {count} messages; bare loop {best_bare:.0f} msg/s, masspost worker {best_ours:.0f} msg/s, "
          f"ratio {best_ours / best_bare:.2f} (best of {len(bare)})")
    return {"messages": count, "bare_msg_s": best_bare, "masspost_msg_s": best_ours, "ratio": best_ours / best_bare,
            "bare_runs_s": bare, "masspost_runs_s": ours}


def bench_scale(bench: Bench, patients: int, workers: int) -> dict[str, Any]:
    bench.patients(f"M5-{patients}", patients)
    bench.campaign(f"M5-{patients}", "both")
    results = bench.workers(workers, batch=500)
    sent = sum(r["sent"] for r in results)
    assert sent == 2 * patients, sent
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    busy = sum(r["seconds"] for r in results)
    db = sum(r["db_seconds"] for r in results)
    statements = sum(r["db_statements"] for r in results)
    out = {"workers": workers, "messages": sent, "seconds": wall, "msg_s": sent / wall,
           "db_share": db / busy, "db_ms_per_message": 1000 * db / sent, "statements_per_message": statements / sent,
           "receipt_ms_per_sms": 1000 * sum(r["receipt_seconds"] for r in results) / max(1, patients),
           "reconnects": sum(r["reconnects"] for r in results), "per_worker": results}
    print(f"scale: {workers} workers, {sent} messages ({patients} SMS + {patients} e-mails) in {wall:.1f} s = "
          f"{sent / wall:.0f} msg/s; database {db / busy:.0%} of worker time ({1000 * db / sent:.2f} ms, "
          f"{statements / sent:.2f} statements per message); receipts written on the reader thread "
          f"{out['receipt_ms_per_sms']:.2f} ms per SMS; reconnects {out['reconnects']}")
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        client, args = sys.argv[1], sys.argv[2:]
        if client == "_bare_smtp":
            result = bare_smtp(int(args[0]), int(args[1]))
        elif client == "_bare_smpp":
            result = bare_smpp(int(args[0]), int(args[1]), int(args[2]))
        else:
            result = masspost_worker(float(args[0]), int(args[1]))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="all", choices=["all", "smtp", "smpp", "scale"])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--sms", type=int, default=5000)
    parser.add_argument("--scale-patients", type=int, default=5000, help="× 2 messages (SMS and e-mail)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-receipts", action="store_true", help="the SMSC sends no delivery receipts")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "delivery.json"))
    options = parser.parse_args()
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit("bench_delivery needs PostgreSQL (DATABASE_URL), e.g. " + DEFAULT_DB)
    ensure_database(os.environ["DATABASE_URL"])
    bench = Bench(options.window, receipts=not options.no_receipts)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "window": options.window,
                               "receipts": not options.no_receipts}
    try:
        if options.what in ("all", "smtp"):
            results["smtp"] = bench_smtp(bench, options.emails, options.repeat)
        if options.what in ("all", "smpp"):
            results["smpp"] = bench_smpp(bench, options.sms, options.repeat)
        if options.what in ("all", "scale"):
            results["scale"] = bench_scale(bench, options.scale_patients, options.workers)
    finally:
        bench.stop()
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    Path(options.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
