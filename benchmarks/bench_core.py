"""Core benchmarks (issue 2): audience counts, the whole preview, the send's outbox write, and peak memory.

Each masspost figure is measured in the same run as its hand-written baseline on the same data:
  counts  – campaign_counts (ORM, one GROUP BY) vs the equivalent hand-written SQL COUNT … GROUP BY
  preview – campaign_preview of every active patient (token, samples, reasons, warnings) vs a minimal pipeline:
            one psycopg server-side select, str.format_map, masspost.sms.measure with a cache, per-language
            tallies — the same totals (target ≤ 1.25×)
  send    – campaign_send writing the outbox vs a minimal pipeline: SQL select of the recipients, str.format,
            masspost.sms.measure, psycopg COPY of the same columns (target ≤ 2× and < 20 s)
  memory  – peak RSS of preview and send in fresh processes for ~10,000 and ~1,000,000 recipients
Run on PostgreSQL: see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")
import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from masspost.campaigns.models import Campaign  # noqa: E402
from masspost.campaigns.selectors import campaign_counts, campaign_preview  # noqa: E402
from masspost.campaigns.services import campaign_send  # noqa: E402
from masspost.campaigns.spec import CampaignSpec  # noqa: E402
from masspost.clinic.demo import demo_generate, demo_inventory, demo_reset  # noqa: E402
from masspost.clinic.models import Patient, Visit  # noqa: E402
from masspost.clinic.scope import Scope  # noqa: E402
from masspost.sms import measure  # noqa: E402

REFERENCE = "2026-11-25"
TODAY = dt.date(2026, 11, 25)
RECALL = {"age": {"min": 18, "max": 64}, "countries": ["EE"],
          "visited": {"from": "2024-01-01", "to": "2024-12-31"},
          "not_visited": {"from": "2025-01-01", "to": REFERENCE}, "reference_date": REFERENCE}
CONTENT = {
    "et": {"sms": "Tere {first_name}! Teie viimasest hambakontrollist on möödas üle aasta. Broneeri aeg: "
                  "{clinic_phone}. {clinic_name}"},
    "ru": {"sms": "Здравствуйте, {first_name}! С последнего осмотра прошло больше года. Запись: {clinic_phone}."},
    "en": {"sms": "Hello {first_name}! It has been over a year since your last check-up. Book: {clinic_phone}."},
}


def spec(audience: dict[str, Any], name: str = "bench") -> CampaignSpec:
    return CampaignSpec.from_dict({"name": name, "purpose": "service", "channel": "sms", "audience": audience,
                                   "fallback_language": "en", "content": CONTENT})


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def setup(patients: int) -> None:
    call_command("migrate", verbosity=0)
    if Patient.objects.count() == patients:
        print(f"data present: {patients} patients, {Visit.objects.count()} visits")
        return
    inventory = demo_inventory()
    if inventory.demo.any() or inventory.foreign.any():
        demo_reset(confirmed=inventory, actor="bench")  # refuses a database holding what the demo did not make
    start = time.perf_counter()
    result = demo_generate(patients=patients, seed=42, today=TODAY, actor="bench")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE") if connection.vendor == "postgresql" else None
    print(f"generated {result.patients} patients, {result.visits} visits in {time.perf_counter() - start:.1f} s")


RECALL_SQL = """
SELECT coalesce(nullif(p.language, ''), c.default_language) AS lang, count(*)
FROM clinic_patient p JOIN clinic_clinic c ON c.id = p.clinic_id
WHERE p.status = 'active' AND p.country = 'EE' AND p.birth_date IS NOT NULL
  AND p.birth_date <= %(oldest_min)s AND p.birth_date > %(youngest_max)s
  AND EXISTS (SELECT 1 FROM clinic_visit v WHERE v.patient_id = p.id AND v.status = 'attended'
              AND v.local_date BETWEEN '2024-01-01' AND '2024-12-31')
  AND NOT EXISTS (SELECT 1 FROM clinic_visit v WHERE v.patient_id = p.id AND v.status = 'attended'
                  AND v.local_date BETWEEN '2025-01-01' AND %(ref)s)
GROUP BY 1
"""
ALL_SQL = """
SELECT coalesce(nullif(p.language, ''), c.default_language), count(*)
FROM clinic_patient p JOIN clinic_clinic c ON c.id = p.clinic_id WHERE p.status = 'active' GROUP BY 1
"""


def bench_counts(repeat: int) -> dict[str, Any]:
    params = {"oldest_min": dt.date(2008, 11, 25), "youngest_max": dt.date(1961, 11, 25), "ref": TODAY}

    def sql(query: str, args: dict[str, Any] | None = None) -> int:
        with connection.cursor() as cur:
            cur.execute(query, args or {})
            return sum(n for _, n in cur.fetchall())

    out = {}
    for label, audience, query, args in (("recall", RECALL, RECALL_SQL, params),
                                         ("all patients", {"reference_date": REFERENCE}, ALL_SQL, None)):
        s = spec(audience)
        t_sql, n_sql = best(lambda q=query, a=args: sql(q, a), repeat)
        t_ours, counts = best(lambda s=s: campaign_counts(spec=s, scope=Scope.operator()), repeat)
        assert counts["audience"]["patients"] == n_sql, (counts["audience"], n_sql)
        out[label] = {"patients": n_sql, "sql_s": t_sql, "masspost_s": t_ours, "ratio": t_ours / t_sql}
        print(f"counts {label}: {n_sql} patients; SQL {t_sql:.3f} s, masspost {t_ours:.3f} s, "
              f"ratio {t_ours / t_sql:.2f}")
    return out


PREVIEW_BASELINE_SQL = """
SELECT p.id, p.first_name, p.last_name, c.name, c.phone, coalesce(nullif(p.language, ''), c.default_language),
       p.accepts_sms, p.phone_status
FROM clinic_patient p JOIN clinic_clinic c ON c.id = p.clinic_id
WHERE p.status = 'active'
"""


def baseline_preview() -> dict[str, Any]:
    """The minimal hand-written preview of every active patient: one psycopg server-side select, str.format_map,
    masspost.sms.measure with a cache, per-language tallies. No exclusion reasons beyond consent and a usable
    number, no samples, no warnings, no token: what any preview must do at least."""
    assert connection.vendor == "postgresql"
    formats = {lang: c["sms"] for lang, c in CONTENT.items()}
    tallies = {lang: [0, 0] for lang in formats}  # language → [recipients, parts]
    cache: dict[str, int] = {}
    patients = 0
    with transaction.atomic(), connection.connection.cursor(name="baseline_preview") as cur:
        cur.itersize = 5000
        cur.execute(PREVIEW_BASELINE_SQL)
        for _pid, first, last, cname, cphone, lang, accepts, phone_status in cur:
            patients += 1
            if not accepts or phone_status != 1:
                continue
            if lang not in formats:
                lang = "en"
            text = formats[lang].format_map({"first_name": first, "last_name": last, "clinic_name": cname,
                                             "clinic_phone": cphone})
            parts = cache.get(text)
            if parts is None:
                if len(cache) >= 20_000:
                    cache.clear()
                parts = cache[text] = measure(text)[2]
            tally = tallies[lang]
            tally[0] += 1
            tally[1] += parts
    return {"patients": patients, "per_language": {lang: tuple(t) for lang, t in sorted(tallies.items())}}


def ours_preview(audience: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    data = campaign_preview(spec=spec(audience), scope=Scope.operator()).to_dict()
    per_language = {lang: (lane["recipients"], lane.get("parts_total", 0))
                    for lang, lane in sorted(data["sms"].items())}
    return {"patients": data["audience"]["patients"], "per_language": per_language}, data


def bench_preview(repeat: int) -> dict[str, Any]:
    """campaign_preview (token, samples, exclusion reasons, warnings, fingerprint) against the minimal pipeline,
    run alternately so that both see the same machine; the totals must agree."""
    out: dict[str, Any] = {}
    t_ours, (_, recall) = best(lambda: ours_preview(RECALL), repeat)
    out["recall"] = {"patients": recall["audience"]["patients"], "messages": recall["messages_total"],
                     "sms_parts": recall["sms_parts_total"], "seconds": t_ours}
    print(f"preview recall: {recall['messages_total']} personalised SMS, {recall['sms_parts_total']} parts, "
          f"{t_ours:.2f} s")
    base_times, our_times = [], []
    totals: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for _ in range(repeat):
        start = time.perf_counter()
        base = baseline_preview()
        base_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        totals, data = ours_preview({"reference_date": REFERENCE})
        our_times.append(time.perf_counter() - start)
        assert totals == base, (totals, base)
    t_base, t_ours = min(base_times), min(our_times)
    out["all patients"] = {"patients": totals["patients"], "messages": data["messages_total"],
                           "sms_parts": data["sms_parts_total"], "baseline_s": t_base, "seconds": t_ours,
                           "ratio": t_ours / t_base, "baseline_runs": base_times, "masspost_runs": our_times}
    print(f"preview all patients: {data['messages_total']} personalised SMS, {data['sms_parts_total']} parts; "
          f"baseline {t_base:.2f} s, masspost {t_ours:.2f} s, ratio {t_ours / t_base:.2f} "
          f"(runs: baseline {', '.join(f'{t:.2f}' for t in base_times)}; "
          f"masspost {', '.join(f'{t:.2f}' for t in our_times)})")
    return out


BASELINE_SQL = """
SELECT p.id, p.external_id, p.first_name, p.last_name, c.name, c.phone, c.sms_sender, p.phone_e164,
       CASE WHEN coalesce(nullif(p.language, ''), c.default_language) IN ('et', 'ru', 'en')
            THEN coalesce(nullif(p.language, ''), c.default_language) ELSE 'en' END
FROM clinic_patient p JOIN clinic_clinic c ON c.id = p.clinic_id
WHERE p.status = 'active' AND p.accepts_sms AND p.phone_e164 <> ''
"""
# The same columns masspost writes (the rest are database defaults).
COLUMNS = ("campaign_id", "patient_id", "patient_ref", "channel", "address", "language", "subject", "body",
           "encoding", "parts", "sender", "sender_name", "deadline")


def baseline_send() -> int:
    """The minimal hand-written pipeline: what any send must do at least, with no checks and no token."""
    assert connection.vendor == "postgresql"
    formats = {lang: c["sms"] for lang, c in CONTENT.items()}
    now = dt.datetime.now(dt.UTC)
    deadline = now + dt.timedelta(hours=24)
    deadline_text = deadline.isoformat()
    with transaction.atomic():
        campaign = Campaign.objects.create(name="baseline", purpose="service", channel="sms", spec={}, audience={},
                                           token=f"baseline-{time.time()}", deadline=deadline, created_by="bench")
        raw = connection.connection
        count = 0
        with raw.cursor(name="baseline") as src, raw.cursor() as dst:
            src.execute(BASELINE_SQL)
            while rows := src.fetchmany(5000):
                with dst.copy(f"COPY delivery_outboxmessage ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for pid, ref, first, last, cname, cphone, sender, phone, lang in rows:
                        text = formats[lang].format(first_name=first, last_name=last, clinic_name=cname,
                                                    clinic_phone=cphone)
                        encoding, _, parts = measure(text)
                        copy.write_row((campaign.id, pid, ref, "sms", phone, lang, "", text, encoding, parts,
                                        sender, "", deadline_text))
                count += len(rows)
        transaction.set_rollback(True)
    return count


def ours_send() -> int:
    with transaction.atomic():
        outcome = campaign_send(spec=spec({"reference_date": REFERENCE}, name=f"bench {time.time()}"),
                                scope=Scope.operator())
        transaction.set_rollback(True)
    return outcome.messages


def bench_send(repeat: int) -> dict[str, Any]:
    t_base, n_base = best(baseline_send, repeat)
    t_ours, n_ours = best(ours_send, repeat)
    assert n_base == n_ours, (n_base, n_ours)
    print(f"send: {n_ours} outbox rows; baseline {t_base:.2f} s, masspost {t_ours:.2f} s, "
          f"ratio {t_ours / t_base:.2f}")
    return {"rows": n_ours, "baseline_s": t_base, "masspost_s": t_ours, "ratio": t_ours / t_base}


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that across exec, so a
    child started by a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def one_memory(what: str, size: str) -> dict[str, Any]:
    """Run in a fresh process: peak RSS of one preview or send over a small or the full audience."""
    audience = {"reference_date": REFERENCE}
    if size == "small":
        audience["age"] = {"min": 40, "max": 40}  # about a ninetieth of the patients
    s = spec(audience, name=f"mem {time.time()}")
    base = peak_rss_kib()
    if what == "preview":
        n = campaign_preview(spec=s, scope=Scope.operator()).result.messages
    else:
        with transaction.atomic():
            n = campaign_send(spec=s, scope=Scope.operator()).messages
            transaction.set_rollback(True)
    peak = peak_rss_kib()
    return {"messages": n, "peak_kib": peak, "before_kib": base}


def bench_memory() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for what in ("preview", "send"):
        runs = {}
        for size in ("small", "full"):
            proc = subprocess.run([sys.executable, __file__, "memory-one", what, size], check=True,
                                  capture_output=True, text=True)
            runs[size] = json.loads(proc.stdout.strip().splitlines()[-1])
        ratio = runs["full"]["peak_kib"] / runs["small"]["peak_kib"]
        out[what] = {**runs, "ratio": ratio}
        print(f"memory {what}: {runs['small']['messages']} messages {runs['small']['peak_kib'] / 1024:.0f} MiB, "
              f"{runs['full']['messages']} messages {runs['full']['peak_kib'] / 1024:.0f} MiB, ratio {ratio:.2f}")
    return out


def bench_import(n: int = 100_000) -> dict[str, Any]:
    """100,000 patients from CSV through the real importer (validation, phone and e-mail checks, upsert)."""
    import csv
    import random
    import tempfile

    from masspost.clinic.importer import import_file

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "patients.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["external_id", "clinic", "first_name", "last_name", "birth_date", "country", "language",
                        "phone", "email", "accepts_sms", "accepts_email", "marketing_consent", "status"])
            for i in range(n):
                w.writerow([f"IMP{i:07d}", rng.choice(["TLN", "TRT", "NRV"]), "Tõnu", "Tamm",
                            f"{rng.randint(1930, 2020)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}", "EE",
                            rng.choice(["et", "ru", "en", ""]), f"5{rng.randint(1000000, 9999999)}",
                            f"p{i}@example.ee", "true", "yes", rng.choice(["1", "0"]), ""])
        start = time.perf_counter()
        with transaction.atomic():
            report = import_file(kind="patients", path=path)
            assert report.written and report.imported == n, report
            transaction.set_rollback(True)
        seconds = time.perf_counter() - start
    print(f"import: {n} patients in {seconds:.1f} s ({n / seconds:,.0f} rows/s)")
    return {"patients": n, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["setup", "counts", "preview", "send", "memory", "import", "all",
                                         "memory-one"])
    parser.add_argument("args", nargs="*")
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/out/core.json")
    opts = parser.parse_args()
    if opts.what == "memory-one":
        print(json.dumps(one_memory(*opts.args)))
        return
    if opts.what in ("setup", "all"):
        setup(opts.patients)
    results: dict[str, Any] = {"date": dt.date.today().isoformat(), "database": connection.vendor,
                               "patients": Patient.objects.count(), "visits": Visit.objects.count()}
    if opts.what in ("counts", "all"):
        results["counts"] = bench_counts(opts.repeat)
    if opts.what in ("preview", "all"):
        results["preview"] = bench_preview(opts.repeat)
    if opts.what in ("send", "all"):
        results["send"] = bench_send(max(1, opts.repeat - 1))
    if opts.what in ("memory", "all"):
        results["memory"] = bench_memory()
    if opts.what in ("import", "all"):
        results["import"] = bench_import()
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
