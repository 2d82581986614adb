"""A campaign's page shows what was sent (issue 17, point 9): the texts per language and channel, the audience in
words, who was left out per channel and why, the statuses that have messages, the speed and the time left while
sending, and the recipients by name for a role that may see names — alice (sender) does, bob (preparer) sees
external ids."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from masspost.campaigns.detail import (
    SPEED_MIN_SPAN,
    SPEED_WINDOW,
    campaign_speed_start,
    speed_per_minute,
    speed_samples,
    time_left,
)
from masspost.campaigns.models import AuditEvent, Campaign, PreviewSnapshot
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import ActorKind, Role, Scope
from masspost.delivery.models import MessageStatus, OutboxMessage
from masspost.web.campaign_page import speed_words, time_left_words
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def alice_scope(clinic: Clinic) -> Scope:
    return Scope(actor="alice", clinic_ids=frozenset({clinic.id}), role=Role.SENDER)


def page(client: Client, url: str, **extra: Any) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def text(html: str) -> str:
    """The page's words, without tags, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def send(clinic: Clinic, **overrides: Any) -> int:
    """A campaign sent as the web sends it: previewed first (its fingerprint kept), then sent with the token."""
    spec = CampaignSpec.from_dict(campaign(**overrides))
    preview = campaign_preview(spec=spec, scope=alice_scope(clinic))
    return campaign_send(spec=spec, scope=alice_scope(clinic), token=str(preview.token)).campaign_id


@pytest.fixture
def people(make_patient: Callable[..., Patient]) -> dict[str, Patient]:
    return {"mari": make_patient(first_name="Mari", last_name="Maasikas"),
            "ivan": make_patient(first_name="Ivan", last_name="Ivanov", language="ru"),
            "anna": make_patient(first_name="Anna", phone="", phone_e164=""),
            "jaan": make_patient(first_name="Jaan", accepts_sms=False)}


# --- the texts -------------------------------------------------------------------------------------------------------

def test_the_texts_per_language_and_channel(alice: Client, clinic: Clinic, people: dict[str, Patient]) -> None:
    campaign_id = send(clinic, channel="both", content={
        "et": {"sms": "Tere {first_name}! Aeg kontrolli.", "email_subject": "Kontroll",
               "email_body": "Tere {first_name} & <teie pere>"},
        "ru": {"sms": "Здравствуйте, {first_name}!", "email_subject": "Осмотр",
               "email_body": "<p>Здравствуйте, <b>{first_name}</b>!</p><script>alert(1)</script>"}})
    html = page(alice, f"/campaigns/{campaign_id}/")
    et = re.search(r'data-testid="text-et"(.*?)</article>', html, re.S)
    ru = re.search(r'data-testid="text-ru"(.*?)</article>', html, re.S)
    assert et is not None and ru is not None
    assert "Eesti" in et[1] and "Tere {first_name}! Aeg kontrolli." in et[1] and "Kontroll" in et[1]
    assert "Tere {first_name} &amp; &lt;teie pere&gt;" in et[1]  # a plain-text body, escaped
    assert "Русский" in ru[1] and "Здравствуйте, {first_name}!" in ru[1] and "Осмотр" in ru[1]
    # an HTML body as the patient sees it, cleaned, on a page of its own in a frame (test_an_html_email_…)
    assert f'src="/campaigns/{campaign_id}/email/ru/"' in ru[1] and "<b>{first_name}</b>" not in html
    assert "iframe" not in et[1]  # a plain-text body is on the page itself
    email = page(alice, f"/campaigns/{campaign_id}/email/ru/")
    assert "<b>{first_name}</b>" in email and "<script" not in email and "alert(1)" not in email
    # how many got each: Mari and Anna (et) by e-mail, Mari by SMS (Anna has no phone, Jaan refuses SMS)
    assert "SMS · 1 recipient" in et[1] and "E-mail · 3 recipients" in et[1]
    assert "SMS · 1 recipient" in ru[1] and "E-mail · 1 recipient" in ru[1]


def test_stored_html_is_cleaned_again_before_it_is_shown(alice: Client, clinic: Clinic,
                                                         people: dict[str, Patient]) -> None:
    campaign_id = send(clinic, channel="email", content={"et": {"email_subject": "S", "email_body": "<p>Tere</p>"}})
    stored = Campaign.objects.get(id=campaign_id)
    stored.spec["content"]["et"]["email_body"] = '<p>Tere</p><script>alert(1)</script><img src=x onerror="alert(2)">'
    stored.save(update_fields=["spec"])
    html = page(alice, f"/campaigns/{campaign_id}/email/et/")
    assert "<p>Tere</p>" in html
    assert "alert(1)" not in html and "onerror" not in html


# An e-mail that looks as a clinic's does: styled, with its logo and its own headings.
STYLED = ('<h1 style="color: #0b5cad">Hammas</h1><p style="font-size: 16px">Tere {first_name}!</p>'
          '<img src="https://hammas.example/logo.png" alt="Hammas">')


def test_an_html_email_is_shown_in_a_frame_under_its_own_policy(alice: Client, clinic: Clinic,
                                                                people: dict[str, Patient]) -> None:
    """The page's strict policy holds and the e-mail's headings stay out of its outline: the e-mail is a page of
    its own in a sandboxed frame (no scripts, not same-origin), with a policy that lets its styles and https:
    images show as in an e-mail client and nothing more."""
    campaign_id = send(clinic, channel="email", content={"et": {"email_subject": "Kontroll", "email_body": STYLED}})
    response = alice.get(f"/campaigns/{campaign_id}/")
    html = response.content.decode()
    assert "style-src 'self'" in response["Content-Security-Policy"]  # unchanged for the page
    frame = re.search(r"<iframe [^>]*>", html)
    assert frame is not None and f'src="/campaigns/{campaign_id}/email/et/"' in frame[0]
    sandbox = re.search(r'sandbox="([^"]*)"', frame[0])
    assert sandbox is not None and "allow-scripts" not in sandbox[1] and "allow-same-origin" not in sandbox[1]
    assert 'title="Eesti: Kontroll"' in frame[0]
    assert "Hammas</h1>" not in html and "logo.png" not in html and 'style="' not in html

    email = alice.get(f"/campaigns/{campaign_id}/email/et/")
    assert email.status_code == 200 and email["X-Frame-Options"] == "SAMEORIGIN"
    policy = dict((d.split(" ", 1) + [""])[:2] for d in email["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'none'" and "script-src" not in policy  # no script at all
    assert policy["style-src"] == "'unsafe-inline'" and policy["img-src"] == "https: data:"
    assert policy["frame-ancestors"] == "'self'" and policy["form-action"] == "'none'"
    assert policy["sandbox"] == "allow-popups allow-popups-to-escape-sandbox"  # opened on its own too
    body = email.content.decode()
    assert '<html lang="et">' in body and "<title>Kontroll</title>" in body
    assert re.search(r'<h1 style="color: ?#0b5cad;?">Hammas</h1>', body)
    assert 'src="https://hammas.example/logo.png"' in body
    assert "app.css" not in body and "<script" not in body


def test_the_email_page_is_only_for_an_html_email_the_user_may_see(alice: Client, charlie: Client, clinic: Clinic,
                                                                    people: dict[str, Patient]) -> None:
    campaign_id = send(clinic, channel="both", content={
        "et": {"sms": "Tere!", "email_subject": "S", "email_body": STYLED},
        "ru": {"sms": "Привет!", "email_subject": "S", "email_body": "Здравствуйте, {first_name}!"}})
    url = f"/campaigns/{campaign_id}/email/"
    assert alice.get(url + "et/").status_code == 200
    assert alice.get(url + "ru/").status_code == 404  # plain text: shown on the page itself
    assert alice.get(url + "fi/").status_code == 404  # no text in that language
    assert charlie.get(url + "et/").status_code == 404  # another clinic's campaign
    assert alice.post(url + "et/").status_code == 405
    signed_out = Client().get(url + "et/")
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/sign-in/")
    sms_only = send(clinic, content={"et": {"sms": "Tere!", "email_subject": "S", "email_body": STYLED}})
    assert alice.get(f"/campaigns/{sms_only}/email/et/").status_code == 404  # no e-mail was sent


# --- the audience in words -------------------------------------------------------------------------------------------

AUDIENCE = {"clinics": ["TLN"], "age": {"min": 18, "max": 65}, "countries": ["EE", "FI"],
            "visited": {"from": "2024-01-01", "to": "2024-12-31"},
            "not_visited": {"from": "2025-11-25", "to": "2026-11-25"}, "reference_date": "2026-11-25"}


def test_the_audience_in_words(alice: Client, make_staff: Callable[..., Client], clinic: Clinic,
                               people: dict[str, Patient], make_visit: Callable[..., Any]) -> None:
    make_visit(people["mari"], dt.datetime(2024, 3, 10, 10, 0))
    campaign_id = send(clinic, audience=AUDIENCE)
    words = text(page(alice, f"/campaigns/{campaign_id}/"))
    assert ("Patients of Hammas Tallinn, aged 18–65, living in Estonia or Finland, visited from 1 Jan 2024 to "
            "31 Dec 2024, not visited since 25 Nov 2025.") in words
    estonian = make_staff("mari", "sender", clinic, language="et")
    assert ("Hammas Tallinn patsiendid, vanus 18–65, elukoht Eesti või Soome, käinud vastuvõtul 01.01.2024 – "
            "31.12.2024, pole käinud alates 25.11.2025.") in text(page(estonian, f"/campaigns/{campaign_id}/"))
    russian = make_staff("olga", "sender", clinic, language="ru")
    assert ("Пациенты Hammas Tallinn, возраст 18–65, страна проживания — Эстония или Финляндия, были на приёме "
            "с 01.01.2024 по 31.12.2024, не были на приёме с 25.11.2025.") in text(
        page(russian, f"/campaigns/{campaign_id}/"))


def test_no_filter_names_the_clinics_it_reached(alice: Client, clinic: Clinic, people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    assert "Patients of Hammas Tallinn." in text(page(alice, f"/campaigns/{campaign_id}/"))


def test_a_relative_period_in_words(alice: Client, clinic: Clinic, people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    stored = Campaign.objects.get(id=campaign_id)
    stored.audience = {**stored.audience, "filter": {"not_visited": {"last_months": 12}}}
    stored.save(update_fields=["audience"])
    assert "not visited in the last 12 months" in text(page(alice, f"/campaigns/{campaign_id}/"))


# --- who was left out ------------------------------------------------------------------------------------------------

def reach(html: str, channel: str) -> str:
    found = re.search(rf'data-testid="reach-{channel}"(.*?)</div>', html, re.S)
    assert found is not None, channel
    return text(found[1])


def test_left_out_per_channel_and_why(alice: Client, clinic: Clinic, people: dict[str, Patient]) -> None:
    campaign_id = send(clinic, channel="both", content={"et": {"sms": "Tere!", "email_subject": "S",
                                                               "email_body": "Tere!"}})
    html = page(alice, f"/campaigns/{campaign_id}/")
    assert "The filter selected 4 patients." in text(html)
    sms = reach(html, "sms")
    assert "1 message · 3 patients left out" in sms  # Ivan has no Russian text, Anna no phone, Jaan refuses SMS
    assert "No text in their language 1" in sms and "No phone number 1" in sms and "Does not want SMS 1" in sms
    email = reach(html, "email")
    assert "3 messages · 1 patient left out" in email and "No text in their language 1" in email
    assert "No phone number" not in email and "Does not want SMS" not in email


def test_left_out_in_estonian_and_russian(make_staff: Callable[..., Client], clinic: Clinic,
                                          people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    et = reach(page(make_staff("mari", "sender", clinic, language="et"), f"/campaigns/{campaign_id}/"), "sms")
    assert "Telefoninumbrit pole 1" in et and "Ei soovi SMS-e 1" in et and "2 patsienti jäi välja" in et
    ru = reach(page(make_staff("olga", "sender", clinic, language="ru"), f"/campaigns/{campaign_id}/"), "sms")
    assert "Нет номера телефона 1" in ru and "Отказ от SMS 1" in ru and "2 пациента остались без сообщения" in ru


def test_left_out_from_the_sends_record_outlives_the_preview(alice: Client, clinic: Clinic,
                                                             people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    PreviewSnapshot.objects.all().delete()  # a day later: the send's audit row still holds who was left out
    html = page(alice, f"/campaigns/{campaign_id}/")
    assert 'data-testid="left-out-unknown"' not in html
    assert "No phone number 1" in reach(html, "sms") and "The filter selected 4 patients." in text(html)
    assert "2 messages" in reach(html, "sms")


def test_left_out_unknown_for_a_send_recorded_without_it(alice: Client, clinic: Clinic,
                                                        people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    PreviewSnapshot.objects.all().delete()
    AuditEvent.objects.filter(campaign_id=campaign_id, action="campaign_send").update(detail={"messages": 2})
    html = page(alice, f"/campaigns/{campaign_id}/")  # a campaign sent before the send kept its counts
    assert 'data-testid="left-out-unknown"' in html and "patients left out" not in html
    assert "2 messages" in reach(html, "sms")  # the messages are still counted


# --- the recipients --------------------------------------------------------------------------------------------------

def test_a_sender_sees_names_a_preparer_external_ids(alice: Client, bob: Client, clinic: Clinic,
                                                     people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    for client in (alice, bob):
        for url in (f"/campaigns/{campaign_id}/", f"/campaigns/{campaign_id}/messages/"):
            html = page(client, url, **HTMX)
            rows = dict(re.findall(r'<tr data-ref="([^"]+)"[^>]*>(.*?)</tr>', html, re.S))
            assert set(rows) == {people["mari"].external_id, people["ivan"].external_id}
            mari, ivan = rows[people["mari"].external_id], rows[people["ivan"].external_id]
            if client is alice:
                assert "Mari Maasikas" in mari and "Ivan Ivanov" in ivan
            else:
                assert "Maasikas" not in html and "Ivanov" not in html and 'data-testid="name"' not in html
            assert people["mari"].external_id in text(mari)
            assert "Eesti" in mari and "Русский" in ivan  # the language by its own name, as on Bulk Mail, not "et"


# --- statuses, speed, time left --------------------------------------------------------------------------------------

def test_statuses_with_messages_only_translated(make_staff: Callable[..., Client], clinic: Clinic,
                                                people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    first = OutboxMessage.objects.filter(campaign_id=campaign_id).order_by("id").first()
    assert first is not None
    OutboxMessage.objects.filter(id=first.id).update(status=MessageStatus.FAILED)
    html = page(make_staff("mari", "sender", clinic, language="et"), f"/campaigns/{campaign_id}/")
    table = re.search(r'data-testid="counts">(.*?)</table>', html, re.S)
    assert table is not None
    assert re.findall(r'data-count="(\w+)"', table[1]) == ["queued", "failed", "total"]
    assert "järjekorras 1 ebaõnnestus 1 Kokku 2" in text(table[1])


def test_speed_samples_and_the_time_left() -> None:
    # the first poll: one sample, no speed yet
    assert speed_samples((), at=1000, sent=0) == ((1000, 0),)
    assert speed_per_minute(((1000, 0),), at=1000, sent=0) is None
    # within SPEED_MIN_SPAN: still none
    assert speed_per_minute(((1000, 0),), at=1000 + SPEED_MIN_SPAN - 1, sent=5) is None
    # 30 messages in 15 s: 120 a minute; 600 waiting take 5 minutes
    kept = speed_samples(((1000, 0),), at=1015, sent=30)
    assert kept == ((1000, 0), (1015, 30))
    assert speed_per_minute(kept, at=1015, sent=30) == 120
    assert time_left(pending=600, per_minute=120) == dt.timedelta(minutes=5)
    # the oldest stays until the newer is SPEED_WINDOW old: the window is between one and two of them
    assert speed_samples(kept, at=1015 + SPEED_WINDOW - 1, sent=90) == kept
    slid = speed_samples(kept, at=1015 + SPEED_WINDOW, sent=150)
    assert slid == ((1015, 30), (1015 + SPEED_WINDOW, 150))
    assert speed_per_minute(slid, at=1015 + SPEED_WINDOW, sent=150) == 120
    # a stall: nothing going out, no time left to tell; a sample from the future or beyond the count is ignored
    assert time_left(pending=10, per_minute=0) is None and time_left(pending=10, per_minute=None) is None
    assert speed_samples(((5000, 0),), at=1000, sent=3) == ((1000, 3),)
    assert speed_samples(((900, 99),), at=1000, sent=3) == ((1000, 3),)


def test_speed_words() -> None:
    assert speed_words(0) == "nothing sent in the last few minutes"
    assert speed_words(0.05) == "under 0.1 per minute"
    assert speed_words(2.0) == "2 per minute" and speed_words(2.54) == "2.5 per minute"
    assert speed_words(1234.4) == "1,234 per minute"


def test_time_left_words() -> None:
    assert time_left_words(dt.timedelta(seconds=20)) == "less than a minute left"
    assert time_left_words(dt.timedelta(minutes=14, seconds=20)) == "about 14 min left"
    assert time_left_words(dt.timedelta(hours=2)) == "about 2 h left"
    assert time_left_words(dt.timedelta(hours=2, minutes=5)) == "about 2 h 5 min left"


def test_campaign_speed_start_counts_what_went_out_recently(clinic: Clinic, people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    created = Campaign.objects.get(id=campaign_id).created_at
    now = created + dt.timedelta(seconds=5)
    at = int(now.timestamp())
    # just sent, nothing out yet: since it began, too short a time to tell
    start = campaign_speed_start(campaign_id=campaign_id, now=now, sent=0, created_at=created)
    assert start == ((int(created.timestamp()), 0), (at, 0))
    assert speed_per_minute(start, at=at, sent=0) is None
    # an hour on and nothing out in the last five minutes: a speed of 0, no time left to tell
    later = created + dt.timedelta(hours=1)
    start = campaign_speed_start(campaign_id=campaign_id, now=later, sent=0, created_at=created)
    assert speed_per_minute(start, at=int(later.timestamp()), sent=0) == 0
    first, second = OutboxMessage.objects.filter(campaign_id=campaign_id).order_by("id")
    OutboxMessage.objects.filter(id=first.id).update(status="sent", sent_at=later - dt.timedelta(seconds=60))
    OutboxMessage.objects.filter(id=second.id).update(status="sent", sent_at=later - dt.timedelta(minutes=30))
    # only the one in the last five minutes: as if watched since it went out
    assert campaign_speed_start(campaign_id=campaign_id, now=later, sent=2, created_at=created) == (
        (int((later - dt.timedelta(seconds=60)).timestamp()), 1), (int(later.timestamp()), 2))


def test_the_page_shows_speed_and_time_left_while_sending(alice: Client, clinic: Clinic,
                                                          make_patient: Callable[..., Patient]) -> None:
    for _ in range(10):
        make_patient()
    campaign_id = send(clinic)
    now = timezone.now()
    Campaign.objects.filter(id=campaign_id).update(created_at=now - dt.timedelta(minutes=10))
    ids = list(OutboxMessage.objects.filter(campaign_id=campaign_id).order_by("id").values_list("id", flat=True))
    # 4 handed over in the last 2 minutes (2 a minute): the 6 waiting take 3 minutes
    for i, message_id in enumerate(ids[:4]):
        OutboxMessage.objects.filter(id=message_id).update(status="delivered",
                                                           sent_at=now - dt.timedelta(seconds=120 - 30 * i))
    html = page(alice, f"/campaigns/{campaign_id}/")
    speed = re.search(r'data-testid="speed">(.*?)</p>', html, re.S)
    assert speed is not None
    assert "2 per minute" in text(speed[1]) and "about 3 min left" in text(speed[1])
    # the poll carries its samples: the next answer measures over them, with no query of its own
    poll = re.search(r'hx-get="(/campaigns/\d+/progress/\?[^"]+)"', html)
    assert poll is not None and "s=" in poll[1]
    answer = page(alice, poll[1].replace("&amp;", "&"), **HTMX)
    assert "per minute" in answer and "min left" in answer
    # once done: no speed
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(status="delivered")
    assert 'data-testid="speed"' not in page(alice, f"/campaigns/{campaign_id}/")


def test_the_command_line_as_the_author_in_the_users_language(make_staff: Callable[..., Client], clinic: Clinic,
                                                              people: dict[str, Patient]) -> None:
    spec = CampaignSpec.from_dict(campaign())
    campaign_id = campaign_send(spec=spec, scope=Scope(actor="root", clinic_ids=None,
                                                       kind=ActorKind.COMMAND_LINE)).campaign_id
    html = page(make_staff("mari", "sender", clinic, language="et"), f"/campaigns/{campaign_id}/")
    meta = re.search(r'data-testid="meta">(.*?)</p>', html, re.S)
    assert meta is not None and text(meta[1]).startswith("käsurida (root) · ")


def test_when_unsent_messages_expire_and_when_the_last_went_out(alice: Client, clinic: Clinic,
                                                              people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    Campaign.objects.filter(id=campaign_id).update(deadline=dt.datetime(2026, 12, 8, 10, 0, tzinfo=dt.UTC))
    for url in (f"/campaigns/{campaign_id}/", f"/campaigns/{campaign_id}/progress/?polling=1"):
        html = page(alice, url, **HTMX)
        assert "Messages not sent by 8 Dec 2026, 12:00 are not sent at all." in html  # Tallinn time
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(
        status="delivered", sent_at=dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC))
    html = page(alice, f"/campaigns/{campaign_id}/")
    assert 'data-testid="deadline"' not in html and "The last message went out 7 Dec 2026, 11:30." in html


def test_each_status_leads_to_its_messages(alice: Client, clinic: Clinic, people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    html = page(alice, f"/campaigns/{campaign_id}/")
    assert f'href="/campaigns/{campaign_id}/?status=queued#messages-title"' in html
    assert 'data-testid="problems"' not in html
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(status=MessageStatus.UNKNOWN)
    html = page(alice, f"/campaigns/{campaign_id}/")
    link = f'href="/campaigns/{campaign_id}/?status=unknown#messages-title" data-testid="problems">2 problems'
    assert link in html
    filtered = page(alice, f"/campaigns/{campaign_id}/?status=unknown")
    assert filtered.count("<tr data-ref=") == 2


def test_the_patients_previewed_outlive_the_preview(alice: Client, clinic: Clinic,
                                                    people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    PreviewSnapshot.objects.all().delete()
    assert "The filter selected 4 patients." in text(page(alice, f"/campaigns/{campaign_id}/"))


def test_a_campaign_stored_without_its_file_still_has_a_page(alice: Client, clinic: Clinic) -> None:
    """Campaigns stored before their file was kept whole (or by hand): no texts, no filter, nothing known of who
    was left out — the page says so instead of failing."""
    stored = Campaign.objects.create(name="Old", purpose="service", channel="sms", spec={},
                                     audience={"clinics": [clinic.code]}, token="old",
                                     deadline=timezone.now() + dt.timedelta(days=1), created_by="alice")
    html = page(alice, f"/campaigns/{stored.id}/")
    assert "No texts." in html and "Patients of Hammas Tallinn." in text(html)
    assert 'data-testid="left-out-unknown"' in html


def posted(client: Client, url: str, data: dict[str, str], **extra: Any) -> str:
    response = client.post(url, data, **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_a_sender_finds_a_recipient_by_name_a_preparer_by_id_only(alice: Client, bob: Client, clinic: Clinic,
                                                                  people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    url = f"/campaigns/{campaign_id}/messages/"
    mari, ivan = people["mari"].external_id, people["ivan"].external_id

    def found(client: Client, query: str, status: str = "") -> set[str]:
        html = posted(client, url, {"q": query, "status": status}, **HTMX)
        return set(re.findall(r'<tr data-ref="([^"]+)"', html))

    assert found(alice, "ivan") == {ivan} and found(alice, "Maasikas") == {mari}
    assert found(alice, "mari maa") == {mari} and found(alice, "mari ivanov") == set()
    assert found(alice, mari) == {mari}  # the ID as before
    assert found(alice, "ivan", status="failed") == set()
    # a preparer may not learn who is in the campaign by trying names
    assert found(bob, "ivan") == set() and found(bob, "Maasikas") == set() and found(bob, mari) == {mari}
    assert "a name, or the ID" in page(alice, f"/campaigns/{campaign_id}/")
    assert "a name, or the ID" not in page(bob, f"/campaigns/{campaign_id}/")


URL_ATTRIBUTES = re.compile(r'\b(?:href|src|action|hx-get|hx-post|hx-put|hx-delete|formaction|data-url)="([^"]*)"')


def urls_in(html: str) -> list[str]:
    return URL_ATTRIBUTES.findall(html)


def test_a_name_searched_for_goes_into_no_url(alice: Client, clinic: Clinic, people: dict[str, Patient]) -> None:
    """Issue 17's rule, no patient data in URLs: the filter posts the name (htmx's hx-post, or a plain POST that
    answers with the whole page) and nothing on the answer links to it; a name in a hand-made URL finds nobody."""
    campaign_id = send(clinic)
    base = f"/campaigns/{campaign_id}/"
    html = page(alice, base)
    form = re.search(r'<form method="post" action="([^"]*)" class="filters"[^>]*>', html)
    assert form is not None and form[1] == f"{base}#messages" and f'hx-post="{base}messages/"' in form[0]
    assert "hx-get" not in form[0] and 'name="csrfmiddlewaretoken"' in html.split('class="filters"')[1]
    for answer in (posted(alice, base + "messages/", {"q": "Maasikas"}, **HTMX),
                   posted(alice, base, {"q": "Maasikas"}), posted(alice, base + "messages/", {"q": "Maasikas"})):
        assert 'data-testid="name">Mari Maasikas' in answer  # found…
        assert not [u for u in urls_in(answer) if "maasikas" in u.lower()]  # …linked nowhere
    assert len(urls_in(answer)) > 10  # the whole page's links and forms were looked at
    for url, extra in ((base, {}), (base + "messages/", HTMX)):  # a GET's query is an ID only
        assert "No messages match." in page(alice, url + "?q=Maasikas", **extra)


def test_paging_through_a_name_search(alice: Client, clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    """The pager of a name search is a POST form carrying the name; its pages are those of the search."""
    kask = {make_patient(first_name="Liis", last_name="Kask").external_id for _ in range(53)}
    others = {make_patient(first_name="Peeter", last_name="Tamm").external_id for _ in range(3)}
    campaign_id = send(clinic)
    base = f"/campaigns/{campaign_id}/"
    first = posted(alice, base + "messages/", {"q": "kask"}, **HTMX)
    rows = set(re.findall(r'<tr data-ref="([^"]+)"', first))
    assert len(rows) == 50 and rows <= kask and "53 messages · page 1 of 2" in text(first)
    pager = re.search(r'<nav class="pager".*?</nav>', first, re.S)
    assert pager is not None and "<a " not in pager[0]  # no link: a button of a POST form
    assert re.search(rf'<form method="post" action="{base}#messages" class="pager-form" hx-post="{base}messages/"',
                     pager[0])
    assert '<input type="hidden" name="q" value="kask">' in pager[0]
    assert 'name="page" value="2"' in pager[0] and "csrfmiddlewaretoken" in pager[0]
    assert not [u for u in urls_in(first) if "kask" in u.lower()]
    second = posted(alice, base + "messages/", {"q": "kask", "page": "2"}, **HTMX)
    assert set(re.findall(r'<tr data-ref="([^"]+)"', second)) == kask - rows
    assert "page 2 of 2" in text(second) and 'name="page" value="1"' in second and 'value="3"' not in second
    # without JavaScript: the same page of the same search, as the whole page
    whole = posted(alice, base, {"q": "kask", "page": "2"})
    assert set(re.findall(r'<tr data-ref="([^"]+)"', whole)) == kask - rows and not others & set(
        re.findall(r'<tr data-ref="([^"]+)"', whole))
    # no search text: the pager stays links (a status and a page are no patient's data)
    plain = page(alice, base + "messages/?status=queued", **HTMX)
    assert f'hx-get="{base}messages/?status=queued&amp;page=2"' in plain and "pager-form" not in plain


def test_the_search_is_refused_without_the_csrf_token(alice: Client, clinic: Clinic,
                                                      people: dict[str, Patient]) -> None:
    campaign_id = send(clinic)
    base = f"/campaigns/{campaign_id}/"
    alice.handler.enforce_csrf_checks = True
    html = page(alice, base)
    for url, extra in ((base + "messages/", HTMX), (base, {})):
        assert alice.post(url, {"q": "Maasikas"}, **extra).status_code == 403, url
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html)  # htmx sends it from <body>
    assert header is not None
    answer = alice.post(base + "messages/", {"q": "Maasikas"}, HTTP_X_CSRFTOKEN=header[1], **HTMX)
    assert answer.status_code == 200 and "Mari Maasikas" in answer.content.decode()
    field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)  # the form's own, without JavaScript
    assert field is not None
    answer = alice.post(base, {"q": "Maasikas", "csrfmiddlewaretoken": field[1]})
    assert answer.status_code == 200 and "Mari Maasikas" in answer.content.decode()
