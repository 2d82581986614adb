"""Campaigns waiting for a second approver (/approvals/) and the badge in the menu: senders and admins see how
many wait for them (not their own), a preparer neither the page (403) nor the badge; another clinic's campaign is
not listed. The badge costs the page one query however often the frame asks for it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from masspost.campaigns.models import Campaign
from masspost.clinic.models import Clinic

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def pending(tln_campaign: int, clinic: Clinic) -> Campaign:
    """Alice's Tallinn campaign, waiting for approval (Tallinn: a second approver over 2 recipients)."""
    clinic.approval_over = 2
    clinic.save()
    Campaign.objects.filter(id=tln_campaign).update(approval="pending")
    return Campaign.objects.get(id=tln_campaign)


def badge(page: str) -> str | None:
    marker = 'data-testid="approvals-badge"><span aria-hidden="true">'
    return page.split(marker, 1)[1].split("<", 1)[0] if marker in page else None


def test_another_sender_sees_the_badge_and_the_campaign_with_why_it_waits(
        pending: Campaign, make_staff: Any, clinic: Clinic) -> None:
    kati = make_staff("kati", "sender", clinic)
    page = html(kati.get("/campaigns/"))
    assert badge(page) == "1"
    assert "1 waiting for you" in page
    listed = html(kati.get("/approvals/"))
    rows = listed.split('data-testid="approvals"', 1)[1]
    assert f'<a href="/campaigns/{pending.id}/">Tallinn recall</a>' in rows
    assert "<bdi>alice</bdi>" in rows
    assert "more than 2 recipients (Hammas Tallinn)" in rows
    assert "once approved" in rows  # not scheduled: it goes when approved
    assert "yours: another sender approves it" not in rows


def test_the_author_has_no_badge_for_their_own_campaign_but_sees_it_listed(pending: Campaign,
                                                                            alice: Client) -> None:
    page = html(alice.get("/approvals/"))
    assert badge(page) is None
    assert "Tallinn recall" in page and "yours: another sender approves it" in page


def test_an_admin_sees_the_badge(pending: Campaign, ada: Client) -> None:
    assert badge(html(ada.get("/patients/"))) == "1"


def test_a_preparer_sees_neither_badge_nor_page(pending: Campaign, bob: Client) -> None:
    page = html(bob.get("/campaigns/"))
    assert "/approvals/" not in page and badge(page) is None
    assert bob.get("/approvals/").status_code == 403


def test_another_clinics_sender_sees_nothing(pending: Campaign, charlie: Client) -> None:
    page = html(charlie.get("/approvals/"))
    assert badge(page) is None
    assert "Tallinn recall" not in page and "No campaign is waiting for approval." in page


def test_an_approved_campaign_leaves_the_list_and_the_badge(pending: Campaign, ada: Client) -> None:
    Campaign.objects.filter(id=pending.id).update(approval="approved")
    page = html(ada.get("/approvals/"))
    assert badge(page) is None and "No campaign is waiting for approval." in page


def test_the_badge_is_counted_once_per_page(pending: Campaign, ada: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        ada.get("/patients/")
    pending_queries = [q["sql"] for q in queries.captured_queries if "pending" in q["sql"]]
    assert len(pending_queries) == 1


def test_the_list_in_russian(pending: Campaign, make_staff: Any, clinic: Clinic) -> None:
    ivan = make_staff("ivan", "sender", clinic, language="ru")
    page = html(ivan.get("/approvals/", HTTP_ACCEPT_LANGUAGE="ru"))
    assert "Одобрения" in page and "больше 2 получателей (Hammas Tallinn)" in page


@pytest.mark.parametrize("lang", ["et", "ru"])
def test_the_settings_pages_leave_no_english_or_raw_code(pending: Campaign, make_staff: Any, clinic: Clinic,
                                                         lang: str) -> None:
    """The profile (with an error), the clinic list and form (with an error), the approvals and the audit log's
    new sentences, as tests/web/test_rendered_language.py checks the other pages; times in the language's form."""
    from tests.page_language import page_language, time_problems, untranslated, visible_text

    boss = make_staff(f"boss{lang}", "admin", clinic, language=lang)
    boss.post("/account/", {"phone": "+372 5123 4567", "email": ""}, HTTP_ACCEPT_LANGUAGE=lang)
    boss.post("/clinics/TLN/", {"marketing_window": "Mon-Fri 09:00-18:00", "service_window": "Mon-Sun 08:00-21:00",
                                "approval_over": "2", "recently_messaged_days": "14"}, HTTP_ACCEPT_LANGUAGE=lang)
    pages = {
        "profile": boss.get("/account/?saved=1", HTTP_ACCEPT_LANGUAGE=lang),
        "profile-error": boss.post("/account/", {"phone": "12", "email": "x"}, HTTP_ACCEPT_LANGUAGE=lang),
        "clinics": boss.get("/clinics/?saved=TLN", HTTP_ACCEPT_LANGUAGE=lang),
        "clinic-error": boss.post("/clinics/TLN/", {"marketing_window": "Mon-Sat 20:00-09:00",
                                                    "service_window": "x", "recently_messaged_days": ""},
                                  HTTP_ACCEPT_LANGUAGE=lang),
        "approvals": boss.get("/approvals/", HTTP_ACCEPT_LANGUAGE=lang),
        "audit": boss.get("/audit/", HTTP_ACCEPT_LANGUAGE=lang),
    }
    found = []
    for name, response in pages.items():
        page = response.content.decode()
        assert page_language(page) == lang, name
        text = visible_text(page)
        # 24:00 is the window format's own end of day (issue 19: "Mon-Sun 00:00-24:00" = always open), quoted
        # as the clinics file writes it, not a time shown.
        times = [p for p in time_problems(text, lang) if not p.startswith("time '24:00'")]
        found += [f"{name}: {p}" for p in untranslated(text, lang) + times]
    assert not found, "\n".join(found)
    audit = visible_text(pages["audit"].content.decode())
    said = {"et": ("Kliiniku seaded muudetud", "Hammas Tallinn: Turundussõnumite aeg",
                   "Oma prooviteleon või -e-post muudetud"),
            "ru": ("Настройки клиники изменены", "Hammas Tallinn: Время маркетинга",
                   "Свой телефон или e-mail для проб изменён")}[lang]
    for words in said:
        assert words in audit, words


def test_a_campaign_held_by_the_send_says_the_rule_it_was_held_by(
        alice: Client, clinic: Clinic, make_staff: Any, patients: Any) -> None:
    """Sent through the screens to 2 patients (the Estonian and Russian texts), over Tallinn's rule of 1: held; the
    list says the rule as the send recorded it, even after the clinic's rule changed."""
    from tests.web.conftest import preview, token_of

    clinic.approval_over = 1
    clinic.save()
    sent = alice.post("/bulk/send/", {"token": token_of(preview(alice, name="Held recall", sms_ru="Привет!"))})
    assert sent.status_code == 302
    campaign = Campaign.objects.get(name="Held recall")
    assert campaign.approval == "pending"
    clinic.approval_over = 100
    clinic.save()
    kati = make_staff("kati", "sender", clinic)
    page = html(kati.get("/approvals/"))
    assert badge(page) == "1"
    row = page.split('data-testid="approvals"', 1)[1]
    assert "Held recall" in row and "more than 1 recipient (Hammas Tallinn)" in row


def test_the_audit_log_says_the_new_actions_in_words(tln_campaign: int) -> None:
    """Approve, reject, reschedule and a test send as sentences in the user's language: never a code or a dict."""
    import datetime as dt

    from django.utils import timezone, translation

    from masspost.campaigns.audit import audit_record
    from masspost.clinic.scope import Scope
    from masspost.web.audit_words import action_name, known_for, sentence

    campaign = Campaign.objects.get(id=tln_campaign)
    scope = Scope.operator()
    start = dt.datetime(2026, 12, 8, 7, 0, tzinfo=dt.UTC)
    events = [
        audit_record(action="campaign_approve", scope=scope, campaign=campaign, detail={"messages": 3, "token": "x"}),
        audit_record(action="campaign_reject", scope=scope, campaign=campaign, detail={"messages": 1}),
        audit_record(action="campaign_reschedule", scope=scope, campaign=campaign,
                     detail={"send_at": start.isoformat(), "deadline": (start + dt.timedelta(days=3)).isoformat()}),
        audit_record(action="campaign_test_send", scope=scope,
                     detail={"settings": "abc", "content": "def", "messages": 2, "channels": ["sms", "email"],
                             "failed": 1}),
    ]
    known = known_for(events)
    said = {"en": ["“Tallinn recall”: 3 messages may go now", "“Tallinn recall”: 1 message will not be sent",
                   "“Tallinn recall”: starts 8 Dec 2026, 09:00, deadline 11 Dec 2026, 09:00",
                   "2 messages to their own phone or e-mail (SMS, e-mail), 1 failed"],
            "et": ["„Tallinn recall“: 3 sõnumit võivad nüüd minna", None,
                   "„Tallinn recall“: algab 08.12.2026 09:00, tähtaeg 11.12.2026 09:00",
                   "2 sõnumit oma telefonile või e-postile (SMS, e-post), 1 ebaõnnestus"]}
    for lang, sentences in said.items():
        with translation.override(lang), timezone.override("Europe/Tallinn"):  # as the page's middleware does
            for event, expected in zip(events, sentences, strict=True):
                text = re.sub(r"<[^>]+>", "", str(sentence(event, known)))
                assert expected is None or text == expected, (lang, event.action, text)
                assert action_name(event.action) != "Other action"
