"""The audit log in words (issue 17, point 6): every action the log holds reads as a translated name and a short
sentence in et, ru and en — campaigns and clinics by name, a token by its name — and no dict, "=", preview token
or raw action code reaches the page."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from masspost.campaigns.audit import ACTIONS
from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Clinic
from masspost.clinic.scope import ActorKind
from masspost.web import audit_words

pytestmark = pytest.mark.django_db

TOKEN = "v3.1e70f00dfeedbeef1e70f00dfeedbeef"


@pytest.fixture
def log(clinic: Clinic) -> Campaign:
    """One event of every action, with details as the code that writes them records them."""
    campaign = Campaign.objects.create(name="Recall A", purpose="service", channel="sms", spec={},
                                       audience={"clinics": ["TLN"]}, token=TOKEN, messages=216,
                                       deadline=timezone.now() + dt.timedelta(days=1), created_by="alice")
    events: list[tuple[str, dict[str, Any], Campaign | None]] = [
        ("sign_in", {}, None), ("sign_in_failed", {}, None), ("sign_out", {}, None),
        ("preview", {"patients": 154, "messages": 216, "token": TOKEN}, None),
        ("campaign_send", {"messages": 216, "token": TOKEN, "sms_parts": 319}, campaign),
        ("campaign_pause", {"messages": 1}, campaign),
        ("campaign_resume", {"messages": 21}, campaign),
        ("campaign_cancel", {"messages": 3}, campaign),
        ("campaign_resend_unknown", {"messages": 5}, campaign),
        ("export", {"list": "messages", "campaign": campaign.id, "rows": 216}, campaign),
        ("export", {"list": "messages", "campaign": campaign.id + 1000, "rows": 4}, None),
        ("export", {"list": "excluded", "channel": "sms", "reason": "no_address", "rows": 12, "token": TOKEN}, None),
        ("user_add", {"user": "mari", "role": "sender", "clinics": ["TLN"]}, None),
        ("user_change", {"user": "mari", "role": "admin", "tokens_revoked": 2}, None),
        ("user_disable", {"user": "mari"}, None),
        ("demo.generate", {"clinics": {"TLN": clinic.id}, "patients": 4000, "visits": 12000, "seed": 7,
                           "patient_ids": [1, 4000], "visit_ids": [1, 12000], "campaigns_after": 0,
                           "receipts_after": 0}, None),
        ("demo.reset", {"clinics": 1, "patients": 4000, "visits": 12000, "campaigns": 2, "messages": 300,
                        "consent_events": 0}, None),
        ("import", {"kind": "patients", "rows": 1200, "imported": 1190, "written": 1190, "errors": 10,
                    "warnings": 0}, None),
        ("import", {"kind": "visits", "job": 3, "status": "queued", "bytes": 2048}, None),
        ("token_create", {"user": "mari", "token": "reports", "prefix": "v3.1e70"}, None),
        ("token_revoke", {"user": "mari", "token": "reports"}, None),
        ("consent_record", {"patient": "P01042", "channel": "sms", "accepts": False, "method": "phone"}, None),
        ("frobnicate", {"rows": 3, "list": "x", "nested": {"a": 1}, "token": TOKEN}, None),
    ]
    for action, detail, linked in events:
        AuditEvent.objects.create(actor="root", actor_kind=ActorKind.COMMAND_LINE.value, action=action,
                                  detail=detail, campaign=linked)
    return campaign


def cells(html: str, name: str) -> list[str]:
    """The visible text of every `<td class="name">` of the log, tags removed."""
    found = re.findall(rf'<td class="{name}"[^>]*>(.*?)</td>', html, re.S)
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in found]


def page(make_staff: Callable[..., Client], clinic: Clinic, language: str) -> str:
    client = make_staff(f"admin_{language}", "admin", clinic, language=language)
    response = client.get("/audit/")
    assert response.status_code == 200
    return response.content.decode()


def visible(html: str) -> str:
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", body))


EXPECTED = {
    "en": [
        "“Recall A”: 216 messages of Hammas Tallinn",  # no outbox here: to how many patients, test_audit
        "216 messages; 154 patients match the filters",  # the filter's patients, not the recipients
        "“Recall A”: 1 message held back",
        "“Recall A”: 21 messages back in the queue",
        "“Recall A”: 3 messages will not be sent",
        "“Recall A”: 5 messages of unknown fate sent again",
        "“Recall A”: its messages, 216 rows",
        "the campaign's messages, 4 rows",
        "“mari”: sender, Hammas Tallinn",
        "“mari”: role: administrator; 2 API tokens revoked",
        "1 clinic, 4,000 patients, 12,000 visits",
        "removed: 1 clinic, 4,000 patients, 12,000 visits, 2 campaigns, 300 messages, 0 consent changes",
        "patients: 1,200 rows, 1,190 saved, 10 with errors",
        "visits: file received, in the queue",
        "“reports” for “mari”",
        "patient P01042, SMS: no (phone call)",
    ],
    "et": [
        "„Recall A“: 216 sõnumit, kliinik Hammas Tallinn",
        "216 sõnumit; filtritele vastab 154 patsienti",
        "„Recall A“: 1 sõnum jäeti ootele",
        "„Recall A“: 21 sõnumit on taas järjekorras",
        "„Recall A“: 3 sõnumit jääb saatmata",
        "„mari“: saatja, Hammas Tallinn",
        "1 kliinik, 4\xa0000 patsienti, 12\xa0000 visiiti",
        "patsiendid: 1\xa0200 rida, 1\xa0190 salvestatud, 10 veaga",
        "„reports“ kasutajale „mari“",
        "patsient P01042, SMS: ei (telefonikõne)",
    ],
    "ru": [
        "«Recall A»: 216 сообщений клиники Hammas Tallinn",
        "216 сообщений; фильтрам соответствуют 154 пациента",
        "«Recall A»: 1 сообщение приостановлено",
        "«Recall A»: 21 сообщение снова в очереди",
        "«Recall A»: 3 сообщения не будут отправлены",
        "сообщения рассылки, 4 строки",  # of a campaign that is gone: "рассылка", as the menu says
        "«mari»: отправитель, Hammas Tallinn",
        "«mari»: роль: администратор; 2 API-токена отозваны",
        "1 клиника, 4\xa0000 пациентов, 12\xa0000 визитов",
        "пациенты: 1\xa0200 строк, сохранено: 1\xa0190, 10 с ошибками",
        "«reports» для пользователя «mari»",
    ],
}
NAMES = {
    "en": {"campaign_send": "Campaign sent", "sign_in_failed": "Sign-in failed", "token_create": "API token made",
           "frobnicate": "Other action"},
    "et": {"campaign_send": "Kampaania saadetud", "user_add": "Kasutaja lisatud", "demo.reset": "Demoandmed eemaldatud",
           "import": "Importimine", "frobnicate": "Muu toiming"},
    "ru": {"campaign_send": "Рассылка отправлена", "campaign_pause": "Рассылка приостановлена",
           "token_revoke": "API-токен отозван", "frobnicate": "Другое действие"},
}


@pytest.mark.parametrize("language", ["en", "et", "ru"])
def test_every_action_reads_as_a_name_and_a_sentence(language: str, log: Campaign,
                                                     make_staff: Callable[..., Client], clinic: Clinic) -> None:
    html = page(make_staff, clinic, language)
    details = cells(html, "detail")
    for sentence in EXPECTED[language]:
        assert sentence in details, (sentence, details)
    actions = dict(zip(re.findall(r'<tr data-action="([^"]+)">', html), cells(html, "action"), strict=True))
    for code, name in NAMES[language].items():
        assert actions[code] == name
    # a list of those left out names why, in the preview's words ("12 patients have no phone number")
    left_out = {"en": "the preview's patients left out: 12 ", "et": "eelvaatest välja jäetud: 12 ",
                "ru": "без сообщения (предпросмотр): 12 "}[language]
    assert any(d.startswith(left_out) and len(d) > len(left_out) + 5 for d in details), details
    # the campaign's name links to its page
    assert f'<a href="/campaigns/{log.id}/">' in html


@pytest.mark.parametrize("language", ["en", "et", "ru"])
def test_no_code_dict_or_token_reaches_the_page(language: str, log: Campaign,
                                                make_staff: Callable[..., Client], clinic: Clinic) -> None:
    html = page(make_staff, clinic, language)
    text = visible(html)
    for mark in ("{", "}", "=", "[", "]", "v3.", "1e70", TOKEN):
        assert mark not in text, mark
    codes = {*ACTIONS, "consent_record", "frobnicate", "sms_parts", "tokens_revoked", "patient_ids"}
    for code in codes if language != "en" else {c for c in codes if "_" in c or "." in c}:  # "preview" is English
        assert code not in text, code
    assert re.search(r"\b(campaign|send|pause|user|token)_", text) is None
    details = dict(zip(re.findall(r'<tr data-action="([^"]+)">', html), cells(html, "detail"), strict=True))
    # an unknown action: only the counts it can say in the user's words, never a raw key ("list x, rows 3")
    assert details["frobnicate"] == {"en": "3 rows", "et": "3 rida", "ru": "3 строки"}[language]


@pytest.mark.parametrize(("language", "option"), [
    ("en", '<option value="campaign_send">Campaign sent</option>'),
    ("et", '<option value="campaign_send">Kampaania saadetud</option>'),
    ("ru", '<option value="consent_record">Согласие записано</option>'),
])
def test_the_action_filter_lists_translated_names(language: str, option: str, make_staff: Callable[..., Client],
                                                  clinic: Clinic, log: Campaign) -> None:
    html = page(make_staff, clinic, language)
    select = re.search(r'<select name="action".*?</select>', html, re.S)
    assert select is not None and option in select[0]
    labels = re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', select[0])
    assert not any("_" in label or "." in label for label in labels)
    client = make_staff("filtering", "admin", clinic, language=language)
    assert re.findall(r'<tr data-action="([^"]+)">', client.get("/audit/?action=consent_record").content.decode()) \
        == ["consent_record"]


def test_the_date_filter_is_in_local_time(ada: Client) -> None:
    # 22:30 UTC on 6 December is 00:30 on the 7th in Tallinn: it belongs to the 7th
    event = AuditEvent.objects.create(actor="root", actor_kind=ActorKind.COMMAND_LINE.value, action="sign_in")
    AuditEvent.objects.filter(id=event.id).update(at=dt.datetime(2026, 12, 6, 22, 30, tzinfo=dt.UTC))
    on_the_7th = ada.get("/audit/?since=2026-12-07&until=2026-12-07&action=sign_in").content.decode()
    assert "7 Dec 2026, 00:30" in on_the_7th
    assert "00:30" not in ada.get("/audit/?until=2026-12-06&action=sign_in").content.decode()


@pytest.mark.parametrize("language", ["en", "et", "ru"])
def test_no_english_heading_on_et_and_ru_pages(language: str, make_staff: Callable[..., Client],
                                               clinic: Clinic) -> None:
    html = page(make_staff, clinic, language)
    heading = {"en": "When (Tallinn time)", "et": "Millal (Tallinna aeg)", "ru": "Когда (таллинское время)"}
    assert heading[language] in html and "UTC" not in html


@pytest.mark.parametrize(("language", "patients", "clinics", "said"), [
    ("en", 154, ["TLN"], "“Recall”: 216 messages to 154 patients of Hammas Tallinn"),
    ("et", 154, ["TLN"], "„Recall“: 216 sõnumit 154 patsiendile, kliinik Hammas Tallinn"),
    ("ru", 154, ["TLN"], "«Recall»: 216 сообщений 154 пациентам клиники Hammas Tallinn"),
    ("ru", 21, ["TLN", "TRT"], "«Recall»: 216 сообщений 21 пациенту клиник Hammas Tallinn, Hammas Tartu"),
])
def test_a_send_says_to_how_many_patients_of_which_clinics(language: str, patients: int, clinics: list[str],
                                                            said: str) -> None:
    campaign = Campaign(id=7, name="Recall", audience={"clinics": clinics})
    known = audit_words.Known(campaigns={7: campaign}, clinics={"TLN": "Hammas Tallinn", "TRT": "Hammas Tartu"},
                              patients_by_campaign={7: patients})
    event = AuditEvent(action="campaign_send", campaign_id=7, detail={"messages": 216})
    with translation.override(language):
        assert htmllib.unescape(re.sub(r"<[^>]+>", "", audit_words.sentence(event, known))) == said


@pytest.mark.parametrize(("detail", "said"), [
    ({"list": "messages", "reason": "whatever", "job_kind": "x"}, ""),
    ({"rows": "12", "patients": [1, 2], "colour": "blue"}, "2 patsienti, 12 rida"),
    ({"messages": "many"}, ""),
])
def test_an_unknown_detail_says_only_the_counts_it_has_words_for(detail: dict[str, Any], said: str) -> None:
    known = audit_words.Known(campaigns={}, clinics={}, patients_by_campaign={})
    with translation.override("et"):
        assert audit_words.sentence(AuditEvent(action="frobnicate", detail=detail), known) == said
