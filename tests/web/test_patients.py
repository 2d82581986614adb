"""The patient page (/patients/): found by external id; the consent now (a row per channel, a column per purpose)
and its history in order, as proof (purpose, the words shown, the campaign); a sender records a consent the
patient gave (channel, purpose, how, a note) — the way to renew one the patient withdrew by SMS STOP. A preparer
reads without names, contacts or notes and records nothing; another clinic's patient is "not found" like one
that does not exist; signed out goes to the sign-in page; a form error keeps what was typed, next to its field."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any
from urllib.parse import quote

import phonenumbers
import pytest
from django.test import Client

from masspost.campaigns.models import AuditEvent
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.ledger import consent_change
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Role, Scope
from masspost.delivery.inbound import inbound_record
from tests.conftest import campaign

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def stopped(make_patient: Callable[..., Patient]) -> Patient:
    """Mari, who answered a campaign's SMS with STOP."""
    mari = make_patient(first_name="Mari", last_name="Maasikas")
    assert inbound_record(mari.phone_e164, "STOP").opted_out == 1
    mari.refresh_from_db()
    assert mari.accepts_sms is False
    return mari


def main(response: Any) -> str:
    """The page's own part (the frame carries a CSRF token that differs on each page)."""
    return html(response).split('<main id="main"', 1)[1]


def record(client: Client, ref: str, **overrides: str) -> Any:
    data = {"patient": ref, "channel": "sms", "purpose": "service", "accepts": "yes", "method": "signed-form",
            "note": "Form in the binder"}
    return client.post("/patients/", data | overrides)


def grouped(e164: str) -> str:
    """A phone number as the page shows it: international, in groups."""
    return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def history_rows(page: str) -> list[list[str]]:
    """The history's cells: when, channel and purpose, consent, source (and campaign), wording (and note for a
    sender)."""
    table = page.split('data-testid="history"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [[" ".join(re.sub(r"<br>", " · ", re.sub(r"<(?!br>)[^>]+>", "", cell)).split())
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def consent_now(page: str) -> dict[str, list[str]]:
    """The "Consent now" table: its column heads under "", and each channel's cells (words, white space as one)."""
    table = page.split('data-testid="consents"', 1)[1].split("</table>", 1)[0]

    def words(cell: str) -> str:
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())

    heads = [words(h) for h in re.findall(r'<th scope="col">(.*?)</th>', table, re.S)]
    rows = {words(th): [words(td) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for th, tr in re.findall(r'<tr[^>]*>\s*<th scope="row">(.*?)</th>(.*?)</tr>', table, re.S)}
    return {"": heads} | rows


def html_text(page: str) -> str:
    return unescape(page)


def sender_scope(clinic: Clinic) -> Scope:
    return Scope(actor="alice", clinic_ids=frozenset({clinic.id}), role=Role.SENDER)


def test_a_sender_renews_consent_after_an_sms_stop(alice: Client, stopped: Patient) -> None:
    page = alice.get("/patients/", {"patient": stopped.external_id})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    text = html(page)
    assert "The patient opted out with an SMS STOP on" in text
    assert "Mari Maasikas" in text and grouped(stopped.phone_e164) in text  # "+372 5… …", not "+3725…"
    assert grouped(stopped.phone_e164) != stopped.phone_e164 and stopped.phone_e164 not in text
    ids = re.findall(r' id="([^"]+)"', text)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)  # the lookup and the form
    response = record(alice, stopped.external_id)
    event = ConsentEvent.objects.get(source="staff:alice")
    assert response.status_code == 302
    assert response["Location"] == f"/patients/?patient={stopped.external_id}&recorded={event.id}#history"
    stopped.refresh_from_db()
    assert stopped.accepts_sms is True
    assert (event.method, event.note, event.staff.get_username()) == ("signed-form", "Form in the binder", "alice")
    assert AuditEvent.objects.filter(action="consent_record", actor="alice").count() == 1
    shown = html(alice.get(response["Location"]))
    assert "Recorded." in shown and "opted out" not in shown
    rows = history_rows(shown)
    assert [r[1:] for r in rows] == [
        ["SMS · all messages (reminders too)", "no", "the patient&#x27;s SMS STOP", "", ""],
        ["SMS · all messages (reminders too)", "yes", "alice (staff) — signed form", "", "Form in the binder"]]
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d", r[0]) for r in rows)  # en-GB, 24-hour
    assert "times in Tallinn time" in shown


def test_the_page_is_in_estonian_and_russian(make_staff: Callable[..., Client], clinic: Any,
                                            stopped: Patient) -> None:
    for language, words in (("et", ("Nõusolek praegu", "Salvesta")), ("ru", ("Согласие сейчас", "Записать"))):
        client = make_staff(f"mari{language}", "sender", clinic, language=language)
        page = html(client.get("/patients/", {"patient": stopped.external_id}))
        assert all(w in page for w in words), language


def test_a_form_error_keeps_what_was_typed_next_to_its_field(alice: Client, stopped: Patient) -> None:
    response = record(alice, stopped.external_id, method="", note="Called on Monday", channel="email",
                      purpose="marketing", accepts="no")
    assert response.status_code == 422
    page = html(response)
    assert re.search(r'id="id_method_error">This field is required', page)
    assert 'value="Called on Monday"' in page
    assert re.search(r'value="email"[^>]*checked', page) and re.search(r'value="no"[^>]*checked', page)
    assert re.search(r'value="marketing"[^>]*checked', page) and not re.search(r'value="service"[^>]*checked', page)
    assert not ConsentEvent.objects.filter(source__startswith="staff:").exists()
    # A note the service refuses is shown on the note, too.
    refused = html(record(alice, stopped.external_id, note="ok\u202egnp.exe"))
    assert re.search(r'id="id_note_error">A note cannot hold a control character', refused)


def test_a_preparer_reads_without_names_and_may_not_record(bob: Client, stopped: Patient) -> None:
    page = html(bob.get("/patients/", {"patient": stopped.external_id}))
    assert stopped.external_id in page and "Mari" not in page and grouped(stopped.phone_e164) not in page
    assert stopped.phone_e164 not in page
    assert 'name="method"' not in page and "your role may read it" in page
    assert record(bob, stopped.external_id).status_code == 403
    stopped.refresh_from_db()
    assert stopped.accepts_sms is False and not ConsentEvent.objects.filter(source__startswith="staff:").exists()


def test_another_clinics_patient_is_not_found_as_one_that_does_not_exist(charlie: Client,
                                                                          stopped: Patient) -> None:
    hidden = charlie.get("/patients/", {"patient": stopped.external_id})
    absent = charlie.get("/patients/", {"patient": "NOBODY"})
    assert hidden.status_code == absent.status_code == 404
    assert "No patient with this ID in your clinics." in html(hidden)
    assert main(hidden).replace(stopped.external_id, "ID") == main(absent).replace("NOBODY", "ID")
    assert record(charlie, stopped.external_id).status_code == 404
    stopped.refresh_from_db()
    assert stopped.accepts_sms is False and "Mari" not in html(hidden)


def test_signed_out_goes_to_sign_in_and_changes_nothing(stopped: Patient) -> None:
    client = Client()
    path = f"/patients/?patient={stopped.external_id}"
    assert client.get(path)["Location"] == f"/sign-in/?next={quote(path)}"
    assert record(client, stopped.external_id).status_code == 302
    stopped.refresh_from_db()
    assert stopped.accepts_sms is False


def test_the_lookup_page_and_the_menu(bob: Client) -> None:
    page = html(bob.get("/patients/"))
    assert 'aria-current="page">Patients</a>' in page
    assert 'name="patient"' in page and 'data-testid="history"' not in page


def test_the_form_keeps_a_note_by_the_services_rule(alice: Client, stopped: Patient) -> None:
    """One rule for a note, the page's and the API's: a line break in it becomes a space (the API has always
    accepted it so), a direction mark is refused on the field."""
    response = record(alice, stopped.external_id, note="Form in the binder,\r\n  shelf 3")
    assert response.status_code == 302
    assert ConsentEvent.objects.get(source="staff:alice").note == "Form in the binder, shelf 3"
    refused = html(record(alice, stopped.external_id, note="ok\u202egnp.exe"))
    assert re.search(r'id="id_note_error">A note cannot hold a control character', refused)


def test_history_in_the_clinics_local_time_and_the_languages_format(make_staff: Callable[..., Client], clinic: Any,
                                                                    make_patient: Callable[..., Patient],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    stopped = make_patient()
    # An event is written once, at the time of writing (append-only): written at that time, then.
    with monkeypatch.context() as m:
        m.setattr("django.utils.timezone.now", lambda: dt.datetime(2026, 10, 24, 21, 30, tzinfo=dt.UTC))
        assert inbound_record(stopped.phone_e164, "STOP").opted_out == 1
    for language, when, note in [("et", "25.10.2026 00:30", "kellaajad: Tallinna aeg"),
                                 ("ru", "25.10.2026 00:30", "указано таллинское время"),
                                 ("en", "25 Oct 2026, 00:30", "times in Tallinn time")]:
        client = make_staff(f"sender_{language}", "sender", clinic, language=language)
        shown = html(client.get("/patients/", {"patient": stopped.external_id}))
        assert [r[0] for r in history_rows(shown)] == [when], language  # summer time: UTC+3, the next day
        assert note in shown and "Europe/Tallinn" not in shown and "UTC" not in shown
        assert ("25.10.2026" if language != "en" else "25 Oct 2026") in shown.split('data-testid="consents"')[1]


def test_a_provider_opt_out_shows_in_words(alice: Client, make_patient: Callable[..., Patient]) -> None:
    """Twilio refused a message because the patient opted out with it (21610): the page says so in a sentence and
    the history names the source — not a bare "provider", and not a server error."""
    juri = make_patient(first_name="Juri", last_name="Tamm")
    consent_change(patient_id=juri.id, channel="sms", purpose="service", accepts=False, source="provider")
    page = alice.get("/patients/", {"patient": juri.external_id})
    assert page.status_code == 200
    text = main(page)
    assert "The patient opted out with the SMS provider: it refused a message on" in text
    sources = [cell for row in history_rows(text) for cell in row if "provider" in cell]
    assert sources == ["the patient&#x27;s opt-out with the SMS provider"]


def test_the_consent_now_is_a_channel_by_purpose_table(alice: Client, make_patient: Callable[..., Patient]) -> None:
    """SMS and e-mail against all messages and offers, each yes or no; an opt-out the patient made themselves
    says how and when in its own cell only; offers kept on a channel that is off as a whole say none go."""
    p = make_patient(marketing_sms=True, marketing_email=True)
    consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=False, source="unsubscribe",
                   wording="No more offers by e-mail")
    consent_change(patient_id=p.id, channel="sms", purpose="service", accepts=False, source="staff:alice")
    page = html(alice.get("/patients/", {"patient": p.external_id}))
    table = consent_now(page)
    assert table[""] == ["All messages", "Offers"]
    assert [cell.split()[0] for cell in table["SMS"]] == ["no", "yes"]
    assert [cell.split()[0] for cell in table["E-mail"]] == ["yes", "no"]
    assert "None are sent while all messages on this channel are off." in table["SMS"][1]
    assert table["E-mail"][1].startswith("no The patient opted out with an e-mail's unsubscribe link on ")
    assert "opted out" not in " ".join([*table["SMS"], table["E-mail"][0]])  # staff's own word is no opt-out
    # Why staff must record a renewed consent themselves: once, under the table.
    assert html_text(page).count("An import cannot switch it back on") == 1


def test_a_sender_records_offers_by_e_mail_only(alice: Client, make_patient: Callable[..., Patient]) -> None:
    """The form asks the channel (SMS or e-mail: no third "marketing" channel) and the purpose, all messages by
    default; recording offers by e-mail changes that consent and no other."""
    p = make_patient(marketing_sms=False, marketing_email=False)
    page = html(alice.get("/patients/", {"patient": p.external_id}))
    form = page.split('aria-labelledby="record-title"', 1)[1].split("</form>", 1)[0]
    assert re.findall(r'<input type="radio" name="channel" value="([^"]+)"', form) == ["sms", "email"]
    assert re.findall(r'<input type="radio" name="purpose" value="([^"]+)"', form) == ["service", "marketing"]
    assert re.search(r'name="purpose" value="service"[^>]*checked', form)
    assert "offers (marketing)" in form
    response = record(alice, p.external_id, channel="email", purpose="marketing", method="in-person", note="")
    assert response.status_code == 302, html(response)[:500]
    p.refresh_from_db()
    assert (p.accepts_sms, p.accepts_email, p.marketing_sms, p.marketing_email) == (True, True, False, True)
    event = ConsentEvent.objects.get(patient=p)
    assert (event.channel, event.purpose, event.accepts) == ("email", "marketing", True)
    shown = html(alice.get(response["Location"]))
    table = consent_now(shown)
    assert "An import cannot switch it back on" not in html_text(shown)  # no opt-out of the patient's own
    assert [cell.split()[0] for cell in table["E-mail"]] == ["yes", "yes"]
    assert [cell.split()[0] for cell in table["SMS"]] == ["yes", "no"]


def test_the_history_shows_purpose_wording_and_the_campaign(alice: Client, clinic: Clinic, other_clinic: Clinic,
                                                           make_patient: Callable[..., Patient]) -> None:
    """Proof in each row: the purpose, the words the patient was shown (quoted), and the campaign it came from —
    a link to its page where the user may see it, its number only where not (another clinic's, or gone)."""
    p = make_patient()
    make_patient(clinic=other_clinic)
    ours = campaign_send(spec=CampaignSpec.from_dict(campaign(name="Winter offers", purpose="marketing")),
                         scope=sender_scope(clinic)).campaign_id
    theirs = campaign_send(spec=CampaignSpec.from_dict(campaign(name="Tartu only", audience={
        "clinics": ["TRT"], "reference_date": "2026-11-25"})), scope=Scope.operator()).campaign_id
    consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=False, source="unsubscribe",
                   wording="No more offers by e-mail", campaign_id=ours)
    consent_change(patient_id=p.id, channel="sms", purpose="service", accepts=False, source="unsubscribe",
                   wording="No SMS at all", campaign_id=theirs)
    consent_change(patient_id=p.id, channel="sms", purpose="marketing", accepts=True, source="import",
                   wording="file patients-2026-12.csv")
    page = html(alice.get("/patients/", {"patient": p.external_id}))
    heads = re.findall(r'<th scope="col">([^<]*)</th>',
                       page.split('data-testid="history"', 1)[1].split("</thead>", 1)[0])
    assert heads == ["When", "Channel, purpose", "Consent", "Source", "Wording shown", "Note"]
    rows = [r[1:5] for r in history_rows(page)]
    assert rows == [
        ["E-mail · offers (marketing)", "no", "the patient&#x27;s unsubscribe link · Campaign: Winter offers",
         "No more offers by e-mail"],
        ["SMS · all messages (reminders too)", "no", f"the patient&#x27;s unsubscribe link · Campaign: no. {theirs}",
         "No SMS at all"],
        ["SMS · offers (marketing)", "yes", "import from the clinic&#x27;s system",
         "file “patients-2026-12.csv”"]]
    assert f'<a href="/campaigns/{ours}/">Winter offers</a>' in page
    assert f'href="/campaigns/{theirs}/"' not in page and "Tartu only" not in page
    assert "<q>No more offers by e-mail</q>" in page


def test_wording_masspost_wrote_is_said_in_the_pages_language(make_staff: Callable[..., Client], clinic: Any,
                                                               make_patient: Callable[..., Patient]) -> None:
    """The import's file name, the demo's and a migrated consent's words are masspost's, stored in English: the
    page says them in its language; the words a patient was shown stay as they were (in a <q>)."""
    patient = make_patient(marketing_sms=False, marketing_email=False)
    for wording, source in (("file recall-dec.csv", "import"), ("demo data", "import"),
                            ("file (no name)", "import"), ("No more offers by e-mail", "unsubscribe")):
        consent_change(patient_id=patient.id, channel="email", purpose="marketing", accepts=source == "import",
                       source=source, wording=wording)
    for language, words in (("et", ["fail „recall-dec.csv“", "näidisandmed", "nimeta fail",
                                    "No more offers by e-mail"]),
                            ("ru", ["файл «recall-dec.csv»", "демонстрационные данные", "файл без имени",
                                    "No more offers by e-mail"])):
        client = make_staff(f"w{language}", "sender", clinic, language=language)
        rows = history_rows(html(client.get("/patients/", {"patient": patient.external_id})))
        shown = " | ".join(" ".join(r) for r in rows)
        for word in words:
            assert word in shown, (language, word, shown)
        assert "demo data" not in shown and "file recall" not in shown, language
