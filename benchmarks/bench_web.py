"""Web UI benchmarks (issue 10): the Bulk Mail screen's live count, SMS counter and preview page.

Server time: each request goes through Django's whole handler chain with django.test.Client (WSGI request,
every middleware — sessions in the database, locale, CSRF, auth, CSP, htmx, the staff scope, axes — the view,
its template, the session save), timed with time.perf_counter around `client.post`. No socket, no HTTP parsing,
no browser: what gunicorn adds on top is not in these numbers. Each web figure is compared with the bare call
the view makes, measured in the same run on the same data and in the same order:
  count   – POST /bulk/count/ vs campaign_counts(spec, scope) with the spec the form builds, over a cycle of
            filter changes (age ranges, clinics, visit periods, countries, channel); p50 and p95
            (targets: ≤ 1.3× the selector, p95 < 300 ms at 100,000 patients)
  sms     – POST /bulk/sms/ (field=sms_et) with 1,000-character texts, GSM-7 and UCS-2, vs segment + suggest on
            the same text (target: p95 < 20 ms)
  preview – POST /bulk/preview/ with a whole campaign for about 100,000 patients, the page fully rendered, vs
            campaign_preview(spec, scope) (target < 3 s); and the peak memory of both, in fresh processes, for
            a tenth of that audience and the whole of it (flat = the recipients are not held in memory)
Data: SQLite (the default) — a temporary database of --patients (100,000) demo patients, generated once with
demo_generate(seed=1) and reused while its patient count matches; PostgreSQL (DATABASE_URL) — a database that
already holds the demo patients (benchmarks/bench_core.py setup), which this benchmark never changes: it only
adds its staff user (reused) and what a preview writes (a snapshot and an audit record). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

PARSER = argparse.ArgumentParser()
PARSER.add_argument("what", choices=["count", "sms", "preview", "all", "memory-one"])
PARSER.add_argument("args", nargs="*")
PARSER.add_argument("--patients", type=int, default=None,
                    help="demo patients (SQLite: generated, default 100,000; PostgreSQL: expected, default 1,000,000)")
PARSER.add_argument("--repeat", type=int, default=5,
                    help="count: rounds over the filter cycle; sms: 50× this many requests per text; "
                         "preview: best of this many")
PARSER.add_argument("--data-dir", default=None, help="SQLite only: where the generated database is kept")
PARSER.add_argument("--out", default=None)
OPTS = PARSER.parse_args()

POSTGRES = bool(os.environ.get("DATABASE_URL"))
PATIENTS = OPTS.patients or (1_000_000 if POSTGRES else 100_000)
if not POSTGRES:
    data_dir = Path(OPTS.data_dir or Path(tempfile.gettempdir()) / f"masspost-bench-web-{PATIENTS}")
    os.environ["MASSPOST_DATA_DIR"] = str(data_dir)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")
import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils.datastructures import MultiValueDict  # noqa: E402

from masspost.audience.selectors import audience_languages  # noqa: E402
from masspost.campaigns.selectors import campaign_counts, campaign_preview  # noqa: E402
from masspost.clinic.demo import demo_generate  # noqa: E402
from masspost.clinic.models import Patient, Visit  # noqa: E402
from masspost.clinic.scope import Scope  # noqa: E402
from masspost.sms import segment, suggest  # noqa: E402
from masspost.staff.selectors import staff_scope  # noqa: E402
from masspost.staff.services import staff_add  # noqa: E402
from masspost.web.views import bulk  # noqa: E402

TODAY = dt.date(2026, 11, 25)  # the demo's "today", as in bench_core.py
USERNAME = "bench-web"
PASSWORD = "bench web password 10"
TEXTS = {
    "sms_et": "Tere {first_name}! Teie viimasest hambakontrollist on möödas üle aasta. Broneeri aeg: "
              "{clinic_phone}. {clinic_name}",
    "sms_ru": "Здравствуйте, {first_name}! С последнего осмотра прошло больше года. Запись: {clinic_phone}.",
    "sms_en": "Hello {first_name}! It has been over a year since your last check-up. Book: {clinic_phone}.",
}
# The filter changes a user makes while watching the count: the same cycle for the web and the bare selector.
FILTERS: list[dict[str, Any]] = [
    {},
    {"age_min": "18", "age_max": "64"},
    {"age_min": "18", "age_max": "64", "countries": "EE"},
    {"age_min": "18", "age_max": "64", "countries": "EE", "visited_from": "2024-01-01", "visited_to": "2024-12-31"},
    {"age_min": "18", "age_max": "64", "countries": "EE", "visited_from": "2024-01-01", "visited_to": "2024-12-31",
     "not_visited_from": "2025-01-01", "not_visited_to": "2026-11-25"},
    {"clinics": ["TLN"]},
    {"clinics": ["TLN"], "age_min": "30", "age_max": "40"},
    {"clinics": ["TRT", "NRV"], "age_min": "65", "age_max": "130"},
    {"clinics": ["NRV"], "visited_from": "2026-01-01", "visited_to": "2026-11-25"},
    {"age_min": "0", "age_max": "17", "not_visited_from": "2026-06-01", "not_visited_to": "2026-11-25"},
    {"countries": "EE, FI", "channel": "both"},
    {"age_min": "40", "age_max": "50", "purpose": "marketing", "channel": "email"},
]
# 1,000 characters each. GSM-7: Estonian without õ, with merge fields and extension characters (€, [ ]);
# UCS-2: Russian; UCS-2 forced only by typographic punctuation (“ ” – …), where suggest() saves parts.
_GSM = ("Tere {first_name}! Teie hambakontroll Hammas kliinikus on ootel. Hind 25 € [broneeri]. "
        "Kui aeg ei sobi, helistage {clinic_phone}. Äge, öine, ülim. ")
_UCS = ("Здравствуйте, {first_name}! Ваш осмотр в клинике ждёт. Цена 25 €. Если время не подходит, "
        "позвоните {clinic_phone}. Спасибо! ")
_QUOTES = ("Tere {first_name}! “Hammas” kliinik – teie kontroll on ootel… Helistage {clinic_phone}. "
           "Aitäh ja kohtumiseni! ")
SMS_TEXTS = {name: (base * (1000 // len(base) + 1))[:1000]
             for name, base in (("GSM-7", _GSM), ("UCS-2", _UCS), ("UCS-2 by punctuation", _QUOTES))}
# The preview's audience: about 100,000 patients on either database (on 1,000,000 demo patients, those aged
# 30–40: 108,000), and a tenth of that for the memory comparison.
BIG = PATIENTS >= 500_000
PREVIEW_FILTER: dict[str, Any] = {"age_min": "30", "age_max": "40"} if BIG else {}
SMALL_FILTER: dict[str, Any] = {"age_min": "31", "age_max": "31"} if BIG else {"age_min": "30", "age_max": "40"}


def form_data(**overrides: Any) -> dict[str, Any]:
    """The Bulk Mail form as the browser posts it (tests/web/conftest.py's form_data): every tab's fields (the
    demo's languages: et, ru, en, fi), SMS texts in three of them and English as the fallback."""
    data: dict[str, Any] = {"name": "Bench", "channel": "sms", "purpose": "service", "fallback_language": "en",
                            "clinics": [], "age_min": "", "age_max": "", "countries": "", "visited_from": "",
                            "visited_to": "", "not_visited_from": "", "not_visited_to": ""}
    data |= {f"{key}_{code}": "" for code in ("et", "ru", "en", "fi") for key in ("sms", "subject", "body")}
    data |= TEXTS
    data.update(overrides)
    return data


class _Request:
    """What bulk._form reads from a request: its scope, and that it is a post (the count's)."""

    method = "POST"

    def __init__(self, scope: Scope) -> None:
        self.scope = scope


def draft_spec(scope: Scope, data: dict[str, Any]) -> Any:
    """The spec the count view builds from this form data (outside the timed call)."""
    form = bulk._form(_Request(scope), _multi(data))  # type: ignore[arg-type]
    form.is_valid()
    assert not (set(bulk.FILTER_FIELDS) & set(form.errors)), form.errors
    return form.draft_spec()


def full_spec(scope: Scope, data: dict[str, Any]) -> Any:
    form = bulk._form(_Request(scope), _multi(data))  # type: ignore[arg-type]
    spec = form.spec()
    assert spec is not None, form.errors
    return spec


def _multi(data: dict[str, Any]) -> MultiValueDict[str, Any]:
    return MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in data.items()})


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "mean_ms": statistics.fmean(ms),
            "max_ms": max(ms)}


# --- data and user ------------------------------------------------------------------------------------------------
def setup() -> None:
    call_command("migrate", verbosity=0)
    have = Patient.objects.count()
    if have == PATIENTS:
        print(f"data: {connection.vendor}, {have} patients, {Visit.objects.count()} visits")
        return
    if POSTGRES:
        raise SystemExit(f"PostgreSQL holds {have} patients, expected {PATIENTS}: this benchmark does not change a "
                         "PostgreSQL database's patients (fill it with benchmarks/bench_core.py setup, or pass "
                         "--patients)")
    if have:
        raise SystemExit(f"{connection.settings_dict['NAME']} holds {have} patients: remove it or pass --data-dir")
    start = time.perf_counter()
    result = demo_generate(patients=PATIENTS, seed=1, today=TODAY, actor="bench")
    print(f"generated {result.patients} patients, {result.visits} visits into {connection.settings_dict['NAME']} "
          f"in {time.perf_counter() - start:.1f} s")


def user_and_client() -> tuple[Client, Scope]:
    """A sender for all three demo clinics (made once, then reused), signed in on a test client."""
    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        user = staff_add(username=USERNAME, password=PASSWORD, clinics=["TLN", "TRT", "NRV"], role="sender",
                         scope=Scope.operator()).user
    client = Client(HTTP_ACCEPT_LANGUAGE="et", HTTP_HOST="localhost")
    client.force_login(user)
    scope = staff_scope(user=user)
    assert scope is not None
    return client, scope


def post(client: Client, path: str, data: dict[str, Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    response = client.post(path, data)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (path, response.status_code, response.content[:500])
    return elapsed, response


# --- count ------------------------------------------------------------------------------------------------------------
PATIENTS_RE = re.compile(r'data-testid="patients"><b>([^<]*)</b>')


def shown_patients(html: str) -> int:
    match = PATIENTS_RE.search(html)
    assert match, html[:500]
    return int(re.sub(r"\D", "", match.group(1)))


def bench_count(client: Client, scope: Scope, rounds: int) -> dict[str, Any]:
    datas = [form_data(**f) for f in FILTERS]
    specs = [draft_spec(scope, d) for d in datas]
    expected = [campaign_counts(spec=s, scope=scope)["audience"]["patients"] for s in specs]  # also a warm-up
    for data, n in zip(datas, expected, strict=True):
        assert shown_patients(post(client, "/bulk/count/", data)[1].content.decode()) == n
    web: list[float] = []
    bare: list[float] = []
    tabs: list[float] = []
    per_filter: list[dict[str, list[float]]] = [{"web": [], "selector": []} for _ in FILTERS]
    for r in range(rounds):
        for i, (data, s) in enumerate(zip(datas, specs, strict=True)):
            # alternate which goes first, so neither always finds the other's pages in the cache
            order = ("web", "selector") if (r + i) % 2 == 0 else ("selector", "web")
            for which in order:
                if which == "web":
                    t, _ = post(client, "/bulk/count/", data)
                    web.append(t)
                else:
                    start = time.perf_counter()
                    campaign_counts(spec=s, scope=scope)
                    t = time.perf_counter() - start
                    bare.append(t)
                per_filter[i][which].append(t)
            # What the view does besides the selector, the biggest part of it: the language tabs' query
            # (audience_languages over every active patient of the user's clinics, whatever the filter).
            start = time.perf_counter()
            audience_languages(scope=scope)
            tabs.append(time.perf_counter() - start)
    out: dict[str, Any] = {
           "requests": len(web), "filters": len(FILTERS), "web": summary(web), "selector": summary(bare),
           "ratio_p50": pct(web, 50) / pct(bare, 50), "ratio_p95": pct(web, 95) / pct(bare, 95),
           "ratio_total": sum(web) / sum(bare), "tabs_query": summary(tabs),
           "per_filter": [{"filter": f, "patients": n, "web_p50_ms": pct(d["web"], 50) * 1000,
                           "selector_p50_ms": pct(d["selector"], 50) * 1000}
                          for f, n, d in zip(FILTERS, expected, per_filter, strict=True)]}
    print(f"count: {len(web)} requests over {len(FILTERS)} filter sets; web p50 {out['web']['p50_ms']:.1f} ms, "
          f"p95 {out['web']['p95_ms']:.1f} ms; selector p50 {out['selector']['p50_ms']:.1f} ms, "
          f"p95 {out['selector']['p95_ms']:.1f} ms; ratio p50 {out['ratio_p50']:.2f}, p95 {out['ratio_p95']:.2f}, "
          f"total {out['ratio_total']:.2f}; the tabs' audience_languages alone "
          f"p50 {out['tabs_query']['p50_ms']:.1f} ms")
    for row in out["per_filter"]:
        print(f"  {row['patients']:>8} patients  web {row['web_p50_ms']:7.1f} ms  selector "
              f"{row['selector_p50_ms']:7.1f} ms  {json.dumps(row['filter'], ensure_ascii=False)}")
    return out


# --- SMS counter ------------------------------------------------------------------------------------------------------
def bench_sms(client: Client, requests: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, text in SMS_TEXTS.items():
        data = {"field": "sms_et", "sms_et": text}
        html = post(client, "/bulk/sms/", data)[1].content.decode()  # warm-up
        seg = segment(text)
        web, bare = [], []
        for _ in range(requests):
            web.append(post(client, "/bulk/sms/", data)[0])
            start = time.perf_counter()
            segment(text)
            suggest(text)
            bare.append(time.perf_counter() - start)
        out[label] = {"chars": len(text), "encoding": seg.encoding, "parts": len(seg.parts),
                      "suggestion_saves": suggest(text).parts_saved, "web": summary(web),
                      "segment_suggest": summary(bare)}
        assert str(len(seg.parts)) in html
        print(f"sms {label}: {len(text)} chars, {seg.encoding}, {len(seg.parts)} parts "
              f"(suggest saves {out[label]['suggestion_saves']}); web p50 {out[label]['web']['p50_ms']:.2f} ms, "
              f"p95 {out[label]['web']['p95_ms']:.2f} ms; segment+suggest p50 "
              f"{out[label]['segment_suggest']['p50_ms']:.2f} ms, p95 {out[label]['segment_suggest']['p95_ms']:.2f} ms")
    # Not in the figures above: the test client keeps its database connection, while the settings' CONN_MAX_AGE=0
    # makes a real server open one per request. What that adds:
    connects = []
    for _ in range(20):
        connection.close()
        start = time.perf_counter()
        connection.ensure_connection()
        connects.append(time.perf_counter() - start)
    out["connect"] = summary(connects)
    print(f"a new database connection (once per request in a server with CONN_MAX_AGE=0): p50 "
          f"{out['connect']['p50_ms']:.2f} ms, p95 {out['connect']['p95_ms']:.2f} ms")
    return out


# --- preview ----------------------------------------------------------------------------------------------------------
TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')


def bench_preview(client: Client, scope: Scope, repeat: int) -> dict[str, Any]:
    data = form_data(**PREVIEW_FILTER)
    spec = full_spec(scope, data)
    web, bare = [], []
    tokens = set()
    preview = None
    for r in range(repeat):
        for which in (("web", "bare") if r % 2 == 0 else ("bare", "web")):
            if which == "web":
                t, response = post(client, "/bulk/preview/", data)
                html = response.content.decode()
                web.append(t)
                match = TOKEN_RE.search(html)
                assert match, html[:1000]
                tokens.add(match.group(1))
            else:
                start = time.perf_counter()
                preview = campaign_preview(spec=spec, scope=scope)
                bare.append(time.perf_counter() - start)
                tokens.add(str(preview.token))
    assert preview is not None
    assert len(tokens) == 1, tokens  # the page showed exactly what the bare call computed
    result = preview.result
    out = {"filter": PREVIEW_FILTER, "patients": result.patients, "messages": result.messages,
           "page_bytes": len(html), "web_s": min(web), "bare_s": min(bare), "ratio": min(web) / min(bare),
           "web_runs": web, "bare_runs": bare}
    print(f"preview: {result.patients} patients, {result.messages} SMS, page {len(html) / 1024:.0f} KiB; web "
          f"{min(web):.2f} s, campaign_preview {min(bare):.2f} s, ratio {out['ratio']:.2f} "
          f"(runs: web {', '.join(f'{t:.2f}' for t in web)}; bare {', '.join(f'{t:.2f}' for t in bare)})")
    return out


def peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM), as bench_core.py reads it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def one_memory(what: str, size: str) -> dict[str, Any]:
    """In a fresh process: the peak resident set of one preview (web or bare), then, in a second run, the peak of
    Python's own allocations (tracemalloc; not libpq's or SQLite's buffers)."""
    client, scope = user_and_client()
    data = form_data(**(SMALL_FILTER if size == "small" else PREVIEW_FILTER))
    spec = full_spec(scope, data)
    post(client, "/bulk/sms/", {"field": "sms_et", "sms_et": "x"})  # templates, middleware, session loaded

    def run() -> int:
        if what == "web":
            post(client, "/bulk/preview/", data)
            return -1
        return campaign_preview(spec=spec, scope=scope).result.messages

    before = peak_rss_kib()
    run()
    peak = peak_rss_kib()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    run()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    messages = campaign_counts(spec=spec, scope=scope)
    recipients = sum(by.get("sms", 0) for by in messages["recipients"].values())
    return {"patients": messages["audience"]["patients"], "recipients": recipients, "before_kib": before,
            "peak_kib": peak, "traced_peak_kib": (traced_peak - base) // 1024}


def bench_memory() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for what in ("web", "bare"):
        runs = {}
        for size in ("small", "full"):
            args = [sys.executable, __file__, "memory-one", what, size, "--patients", str(PATIENTS)]
            if OPTS.data_dir:
                args += ["--data-dir", OPTS.data_dir]
            proc = subprocess.run(args, check=True, capture_output=True, text=True)
            runs[size] = json.loads(proc.stdout.strip().splitlines()[-1])
        out[what] = runs
        s, f = runs["small"], runs["full"]
        print(f"memory {what}: {s['recipients']} recipients: peak RSS {s['peak_kib'] / 1024:.0f} MiB "
              f"(+{(s['peak_kib'] - s['before_kib']) / 1024:.1f}), Python peak {s['traced_peak_kib'] / 1024:.1f} MiB; "
              f"{f['recipients']} recipients: peak RSS {f['peak_kib'] / 1024:.0f} MiB "
              f"(+{(f['peak_kib'] - f['before_kib']) / 1024:.1f}), Python peak {f['traced_peak_kib'] / 1024:.1f} MiB")
    return out


def main() -> None:
    if OPTS.what == "memory-one":
        print(json.dumps(one_memory(*OPTS.args)))
        return
    setup()
    client, scope = user_and_client()
    results: dict[str, Any] = {"date": dt.date.today().isoformat(), "database": connection.vendor,
                               "patients": Patient.objects.count(), "server_time": "django.test.Client, in process"}
    if OPTS.what in ("count", "all"):
        results["count"] = bench_count(client, scope, OPTS.repeat)
    if OPTS.what in ("sms", "all"):
        results["sms"] = bench_sms(client, 50 * OPTS.repeat)
    if OPTS.what in ("preview", "all"):
        results["preview"] = bench_preview(client, scope, OPTS.repeat)
        results["memory"] = bench_memory()
    out = Path(OPTS.out or f"benchmarks/out/web-{connection.vendor}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
