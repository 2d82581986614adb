"""The `masspost` command end to end: demo → preview → send → worker → status, and user mistakes.

Subprocess tests run `python -m masspost` (masspost.cli.main.main) on their own SQLite database in a temporary
MASSPOST_DATA_DIR: they test the command-line surface (exit codes, one-line errors, JSON, files), not the
database. In-process tests go through call_command on the pytest-django test database, so they run on
whichever database the suite runs on.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from masspost.campaigns.models import Campaign
from masspost.clinic.contact import address_status, normalize_email, normalize_phone
from masspost.clinic.models import Clinic, Patient
from masspost.delivery.models import OutboxMessage
from tests.conftest import campaign

ROOT = Path(__file__).resolve().parents[2]
RECALL = ROOT / "examples" / "recall.json"
# Enough patients that the recall audience always holds Finnish-speaking patients (about 5 of ~230), on any day:
# the demo's visits and ages are relative to today, the recall file's dates are fixed.
FLOW_PATIENTS = 1500
FIRST_WORDS = {"sms": {"et": "Tere ", "ru": "Здравствуйте, ", "en": "Hello "}}


# --- helpers -------------------------------------------------------------------------------------------------

def masspost(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL")}
    env["MASSPOST_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "masspost", *args], env=env, cwd=ROOT, capture_output=True,
                          stdin=subprocess.DEVNULL,
                          text=True, timeout=120)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exactly one line on stderr, and no traceback anywhere."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_jsonl(*paths: Path) -> list[dict[str, Any]]:
    lines = []
    for path in paths:
        if path.exists():
            lines += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return lines


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def recall() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECALL.read_text(encoding="utf-8"))
    return data


def check_delivery_matches_preview(preview: dict[str, Any], csv_dir: Path, sent: list[dict[str, Any]],
                                   messages: int) -> None:
    """The file gateway got exactly the previewed recipients, each once, each in the previewed language."""
    recipients = read_csv(csv_dir / "recipients.csv")
    excluded = read_csv(csv_dir / "excluded.csv")
    previewed = Counter((r["external_id"], r["channel"], r["language"]) for r in recipients)
    delivered = Counter((m["patient"], m["channel"], m["language"]) for m in sent)
    assert delivered == previewed
    assert set(delivered.values()) == {1}
    assert len(sent) == messages == preview["messages_total"] > 0

    # The preview's counts are the lines in the gateway, per language and channel.
    per_language: dict[str, dict[str, int]] = {}
    for m in sent:
        by_channel = per_language.setdefault(m["language"], {"sms": 0, "email": 0})
        by_channel[m["channel"]] += 1
    assert per_language == {lang: n for lang, n in preview["recipients"].items() if any(n.values())}
    assert preview["sms_parts_total"] == sum(m["parts"] for m in sent if m["channel"] == "sms")
    assert preview["emails_total"] == sum(1 for m in sent if m["channel"] == "email")
    for m in sent:
        if m["channel"] == "sms":
            assert m["text"].startswith(FIRST_WORDS["sms"][m["language"]]), m["language"]
        assert "{" not in m["text"] + m["subject"]  # every merge field rendered

    # The excluded list agrees with the counts, and the Finnish-speaking patients (blank Finnish text) are in
    # it as no_content — or an earlier reason such as opted_out — and never in the gateway.
    for channel in ("sms", "email"):
        reasons = Counter(e["reason"] for e in excluded if e["channel"] == channel)
        assert {k: v for k, v in preview["excluded"][channel].items() if v} == dict(reasons)
    finnish = [e for e in excluded if e["patient_language"] == "fi"]
    assert finnish and {e["reason"] for e in finnish} <= {"no_content", "opted_out"}
    assert {e["reason"] for e in excluded if e["patient_language"] != "fi"}.isdisjoint({"no_content"})
    assert preview["excluded"]["sms"]["no_content"] > 0 and preview["excluded"]["email"]["no_content"] > 0
    assert not any(m["language"] == "fi" for m in sent)
    finnish_refs = {e["external_id"] for e in finnish}
    assert not any(m["patient"] in finnish_refs for m in sent)


# --- subprocess: the whole demo flow -------------------------------------------------------------------------

def test_demo_campaign_previews_sends_and_reaches_the_file_gateway(tmp_path: Path) -> None:
    out = ok(masspost(tmp_path, "demo", "--patients", str(FLOW_PATIENTS), "--seed", "7"))
    assert out.startswith(f"demo data: 3 clinics, {FLOW_PATIENTS} patients, ")

    csv_dir = tmp_path / "preview"
    preview = json.loads(ok(masspost(tmp_path, "preview", str(RECALL), "--json", "--csv-dir", str(csv_dir))))
    assert set(preview) >= {"recipients", "excluded", "sms_parts_total", "emails_total", "token"}
    assert set(preview["recipients"]) == {"et", "ru", "en"}
    token = preview["token"]

    sent = json.loads(ok(masspost(tmp_path, "send", str(RECALL), "--token", token, "--yes", "--json")))
    assert sent["messages"] == preview["messages_total"]
    again = json.loads(ok(masspost(tmp_path, "send", str(RECALL), "--token", token, "--yes", "--json")))
    assert (again["campaign"], again["messages"]) == (sent["campaign"], sent["messages"])

    ok(masspost(tmp_path, "worker", "--until-idle"))
    status = json.loads(ok(masspost(tmp_path, "status", str(sent["campaign"]), "--json")))
    assert status["status"] == "done"
    assert {k: v for k, v in status["messages"].items() if v} == {"sent": sent["messages"]}

    lines = read_jsonl(tmp_path / "outbox-sms.jsonl", tmp_path / "outbox-email.jsonl")
    assert {m["campaign"] for m in lines} == {sent["campaign"]}
    check_delivery_matches_preview(preview, csv_dir, lines, sent["messages"])

    # A second worker run finds nothing to do: nothing is delivered twice.
    ok(masspost(tmp_path, "worker", "--until-idle"))
    assert len(read_jsonl(tmp_path / "outbox-sms.jsonl", tmp_path / "outbox-email.jsonl")) == len(lines)


def test_demo_is_deterministic_for_a_seed_and_refuses_to_overwrite(tmp_path: Path) -> None:
    def tables() -> dict[str, Any]:
        dump = json.loads(ok(masspost(tmp_path, "dumpdata", "clinic.Clinic", "clinic.Patient", "clinic.Visit")))
        clinics = {o["pk"]: o["fields"]["code"] for o in dump if o["model"] == "clinic.clinic"}
        patients = {o["pk"]: o["fields"] for o in dump if o["model"] == "clinic.patient"}
        for fields in patients.values():
            fields["clinic"] = clinics[fields["clinic"]]
        refs = {pk: f["external_id"] for pk, f in patients.items()}
        visits = []
        for o in dump:
            if o["model"] == "clinic.visit":
                f = o["fields"]
                visits.append((refs[f["patient"]], clinics[f["clinic"]], f["start"], f["local_date"], f["status"]))
        return {"clinics": sorted(clinics.values()), "patients": sorted(patients.values(), key=str),
                "visits": sorted(visits)}

    ok(masspost(tmp_path, "demo", "--reset", "--yes", "--patients", "150", "--seed", "5"))
    first = tables()
    ok(masspost(tmp_path, "demo", "--reset", "--yes", "--patients", "150", "--seed", "5"))
    assert tables() == first
    assert len(first["patients"]) == 150 and first["visits"]
    languages = {p["language"] for p in first["patients"]}
    assert {"et", "ru", "en", "fi"} <= languages

    message = one_line_error(masspost(tmp_path, "demo", "--patients", "150", "--seed", "6"))
    assert "--reset" in message
    assert tables() == first

    ok(masspost(tmp_path, "demo", "--reset", "--yes", "--patients", "150", "--seed", "6"))
    assert tables()["patients"] != first["patients"]


# --- subprocess: user mistakes -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli-mistakes")
    ok(masspost(data_dir, "demo", "--patients", "100", "--seed", "3"))
    return data_dir


def _audience(**audience: Any) -> dict[str, Any]:
    return campaign(audience=audience)


def _content(**content: Any) -> dict[str, Any]:
    return campaign(content=content)


SPEC_MISTAKES = [
    pytest.param('{"name": "Recall", "channel": "sms",', "not valid JSON", id="bad-json"),
    pytest.param(_audience(clinics=["TLN", "XYZ"]), "unknown clinic", id="unknown-clinic"),
    pytest.param(_audience(visited={"from": "2024-02-30", "to": "2024-12-31"}), "not a date", id="bad-date"),
    pytest.param(_audience(reference_date="25.11.2026"), "not a date", id="bad-reference-date"),
    pytest.param(_content(et={"sms": "Tere"}, xx={"sms": "?"}), "unknown language code", id="unknown-language"),
    pytest.param(_content(et={"sms": " "}, ru={"sms": ""}), "empty campaign", id="empty-campaign"),
    pytest.param(campaign(channel="fax"), "channel", id="unknown-channel"),
    pytest.param(_content(et={"sms": "Tere {first_name"}), "content.et", id="broken-merge-field"),
    pytest.param([1, 2], "JSON object", id="not-an-object"),
]


def _spec_file(directory: Path, spec: Any) -> Path:
    path = directory / "campaign.json"
    if isinstance(spec, str):
        path.write_text(spec, encoding="utf-8")
    else:
        write_json(path, spec)
    return path


@pytest.mark.parametrize(("spec", "fragment"), SPEC_MISTAKES)
def test_campaign_file_mistakes_are_one_line(demo_dir: Path, tmp_path: Path, spec: Any, fragment: str) -> None:
    path = _spec_file(tmp_path, spec)
    message = one_line_error(masspost(demo_dir, "preview", str(path)))
    assert fragment in message


@pytest.mark.parametrize(("spec", "fragment"), [SPEC_MISTAKES[0], SPEC_MISTAKES[1], SPEC_MISTAKES[5]])
def test_send_refuses_a_bad_campaign_file_in_one_line(demo_dir: Path, tmp_path: Path, spec: Any,
                                                      fragment: str) -> None:
    path = _spec_file(tmp_path, spec)
    message = one_line_error(masspost(demo_dir, "send", str(path), "--yes"))
    assert fragment in message


@pytest.mark.parametrize(("args", "fragment"), [
    (["preview", "/nonexistent/campaign.json"], "cannot read"),
    (["send", "/nonexistent/campaign.json", "--yes"], "cannot read"),
    (["import", "patients", "/nonexistent/patients.csv"], "cannot read"),
    (["send", str(RECALL)], "--yes"),
    (["send", str(RECALL), "--yes", "--token", "garbage"], "token"),
    (["status", "999"], "999"),
])
def test_command_mistakes_are_one_line(demo_dir: Path, args: list[str], fragment: str) -> None:
    message = one_line_error(masspost(demo_dir, *args))
    assert fragment in message
    if args[0] == "send":
        assert json.loads(ok(masspost(demo_dir, "dumpdata", "campaigns.Campaign"))) == []


def test_stale_token_is_refused_saying_the_texts_changed(demo_dir: Path, tmp_path: Path) -> None:
    spec = recall()
    path = write_json(tmp_path / "recall.json", spec)
    token = json.loads(ok(masspost(demo_dir, "preview", str(path), "--json")))["token"]
    changed = copy.deepcopy(spec)
    changed["content"]["et"]["sms"] += " Tervitustega!"
    write_json(path, changed)
    message = one_line_error(masspost(demo_dir, "send", str(path), "--token", token, "--yes", "--json"))
    assert "the texts changed" in message
    assert json.loads(ok(masspost(demo_dir, "dumpdata", "campaigns.Campaign"))) == []  # so no outbox either


def test_import_through_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "clinics.csv").write_text("code,name,country,time_zone,default_language\n"
                                          "TLN,Hammas Tallinn,EE,Europe/Tallinn,et\n", encoding="utf-8")
    (tmp_path / "patients.csv").write_text("external_id,clinic,phone\nP1,TLN,5123 4567\nP2,NOPE,\n"
                                           "P3,TLN,12345\n", encoding="utf-8")
    assert ok(masspost(tmp_path, "import", "clinics", str(tmp_path / "clinics.csv"))).strip() == (
        "imported 1 of 1 clinics row")
    refused = masspost(tmp_path, "import", "patients", str(tmp_path / "patients.csv"))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [
        "warning: row 4 (P3), column phone: not a valid phone number for region EE",
        "error: row 3 (P2), column clinic: unknown clinic 'NOPE'",
        f"CommandError: 1 bad row in {tmp_path / 'patients.csv'}: nothing was imported "
        "(fix them, or use --skip-invalid to import the good rows)",
    ]
    report = json.loads(ok(masspost(tmp_path, "import", "patients", str(tmp_path / "patients.csv"),
                                    "--skip-invalid", "--json")))
    assert (report["imported"], report["written"], len(report["errors"]), len(report["warnings"])) == (2, True, 1, 1)


# --- in-process, on the suite's database ---------------------------------------------------------------------

@pytest.fixture
def restore_signals() -> Iterator[None]:
    # `masspost worker` installs SIGINT/SIGTERM handlers; in-process, give pytest its own back.
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def run(*args: Any, **options: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_flow_in_process(tmp_path: Path, restore_signals: None) -> None:
    sms_file, email_file = tmp_path / "sms.jsonl", tmp_path / "email.jsonl"
    run("demo", patients=FLOW_PATIENTS, seed=11)
    csv_dir = tmp_path / "preview"
    preview = json.loads(run("preview", str(RECALL), json=True, csv_dir=str(csv_dir)))
    sent = json.loads(run("send", str(RECALL), token=preview["token"], yes=True, json=True))
    assert sent["created"] is True
    again = json.loads(run("send", str(RECALL), token=preview["token"], yes=True, json=True))
    assert (again["campaign"], again["messages"], again["created"]) == (sent["campaign"], sent["messages"], False)
    assert Campaign.objects.count() == 1 and OutboxMessage.objects.count() == sent["messages"]

    with override_settings(MASSPOST_SMS_URL=f"file://{sms_file}", MASSPOST_EMAIL_URL=f"file://{email_file}"):
        run("worker", until_idle=True)
    status = json.loads(run("status", str(sent["campaign"]), json=True))
    assert status["status"] == "done"
    assert {k: v for k, v in status["messages"].items() if v} == {"sent": sent["messages"]}
    check_delivery_matches_preview(preview, csv_dir, read_jsonl(sms_file, email_file), sent["messages"])


@pytest.mark.django_db
def test_demo_refuses_existing_data_in_process(clinic: Clinic) -> None:
    # A clinic the demo did not make: neither the demo nor its reset touch it (tests/cli/test_demo_reset.py).
    for reset in (False, True):
        with pytest.raises(CommandError, match="1 clinic that the demo did not create"):
            run("demo", patients=10, reset=reset, yes=True)
    assert list(Clinic.objects.values_list("code", flat=True)) == ["TLN"]
    Clinic.objects.all().delete()
    run("demo", patients=10, seed=2)
    run("demo", patients=10, reset=True, yes=True, seed=3)
    assert Patient.objects.count() == 10 and Clinic.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("command", [("preview", {}), ("send", {"yes": True})])
@pytest.mark.parametrize(("spec", "fragment"), SPEC_MISTAKES)
def test_campaign_file_mistakes_in_process(clinic: Clinic, make_patient: Any, tmp_path: Path,
                                           command: tuple[str, dict[str, Any]], spec: Any, fragment: str) -> None:
    make_patient()
    path = _spec_file(tmp_path, spec)
    with pytest.raises(CommandError) as raised:
        run(command[0], str(path), **command[1])
    assert fragment in str(raised.value) and "\n" not in str(raised.value)
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_stale_token_in_process(clinic: Clinic, make_patient: Any, tmp_path: Path) -> None:
    make_patient(language="et")
    path = write_json(tmp_path / "c.json", campaign())
    token = json.loads(run("preview", str(path), json=True))["token"]
    write_json(path, campaign(content={"et": {"sms": "Tere, {first_name}!"}, "ru": {"sms": "Привет"}}))
    with pytest.raises(CommandError, match="the texts changed"):
        run("send", str(path), token=token, yes=True)
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0
    # A new patient after the preview: the recipients changed.
    write_json(path, campaign())
    make_patient(language="ru")
    with pytest.raises(CommandError, match="the recipients changed"):
        run("send", str(path), token=token, yes=True)
    assert Campaign.objects.count() == 0


@pytest.mark.django_db
def test_status_of_a_missing_campaign_in_process(db: Any) -> None:
    with pytest.raises(CommandError, match="no campaign 999"):
        run("status", "999")


@pytest.mark.django_db
def test_no_content_languages_agree_with_the_no_content_count(clinic: Clinic, make_patient: Any,
                                                              tmp_path: Path) -> None:
    # A Finnish-speaking patient who opted out of e-mail is excluded as opted_out (the first reason that
    # applies), so the e-mail "no text in their language" breakdown must not count them.
    make_patient(language="fi", accepts_email=False)
    make_patient(language="fi")
    make_patient(language="et")
    spec = campaign(channel="both", content={
        "et": {"sms": "Tere", "email_subject": "Tere", "email_body": "Tere"},
        "fi": {"sms": "", "email_subject": "", "email_body": ""}})
    preview = json.loads(run("preview", str(write_json(tmp_path / "c.json", spec)), json=True))
    assert preview["excluded"]["email"]["opted_out"] == 1
    assert preview["excluded"]["email"]["no_content"] == 1
    assert preview["excluded"]["sms"]["no_content"] == 2
    for channel in ("sms", "email"):
        assert sum(preview["no_content_languages"][channel].values()) == preview["excluded"][channel]["no_content"]


@pytest.mark.django_db
def test_iso_week_date_in_the_audience_is_not_a_date(clinic: Clinic, make_patient: Any, tmp_path: Path) -> None:
    # Dates are YYYY-MM-DD; Python 3.11's date.fromisoformat also takes ISO week dates of the same length.
    path = write_json(tmp_path / "c.json", _audience(visited={"from": "2024-W01-1", "to": "2024-12-31"}))
    with pytest.raises(CommandError, match="not a date"):
        run("preview", str(path))


@pytest.mark.django_db
def test_demo_addresses_follow_the_import_contract(db: Any) -> None:
    # The demo's usable phone and e-mail are what an import of the same values would make of them: a national
    # number is read in the patient's country (or the clinic's when blank).
    run("demo", patients=3000, seed=1)
    wrong = []
    for p in Patient.objects.select_related("clinic").order_by("id"):
        if normalize_phone(p.phone, p.country or p.clinic.country)[0] != p.phone_e164:
            wrong.append((p.external_id, "phone", p.country))
        if normalize_email(p.email)[0] != p.email_normalized:
            wrong.append((p.external_id, "email", p.country))
        if (p.phone_status, p.email_status) != (address_status(p.phone, p.phone_e164),
                                                address_status(p.email, p.email_normalized)):
            wrong.append((p.external_id, "status", p.country))
    assert wrong == []


@pytest.mark.django_db
def test_worker_with_a_bad_gateway_url_is_one_line_and_leaves_messages_queued(
        clinic: Clinic, make_patient: Any, tmp_path: Path, restore_signals: None) -> None:
    make_patient(language="et")
    make_patient(language="ru")
    path = write_json(tmp_path / "c.json", campaign())
    sent = json.loads(run("send", str(path), yes=True, json=True))
    with override_settings(MASSPOST_SMS_URL="smsgw://example"), pytest.raises(CommandError) as raised:
        run("worker", until_idle=True)
    assert "gateway URL" in str(raised.value) and "\n" not in str(raised.value)
    # Nothing reached a gateway: the messages must still be due, not held as `sending` until the lease runs
    # out and then turned `unknown` (never re-sent automatically).
    status = json.loads(run("status", str(sent["campaign"]), json=True))
    assert {k: v for k, v in status["messages"].items() if v} == {"queued": 2}
