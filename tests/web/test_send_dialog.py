"""The moment of sending (issue 17, points 1, 2, 7): the confirmation's numbers are the preview's and add up
("216 messages: 129 SMS (319 parts) and 87 e-mails"), it names the campaign, the clinics and when; the summary bar
repeats them per channel; who is left out is said per channel in sentences; the rows follow the form's tabs."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from masspost.clinic.models import Clinic, Patient
from masspost.web.templatetags.masspost_format import money
from tests.web.conftest import form_data

pytestmark = pytest.mark.django_db

RU = "Здравствуйте, {first_name}! Пора на осмотр."
SENTENCE = r'<span class="sentence">([^<]*)</span>'
EMAIL = {"subject_et": "Meeldetuletus", "body_et": "Tere {first_name}!", "subject_ru": "Напоминание",
         "body_ru": "Здравствуйте!"}


def page_of(client: Client, **overrides: Any) -> str:
    response = client.post("/bulk/preview/", form_data(**overrides))
    assert response.status_code == 200, response
    return str(response.content.decode())


def as_int(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def cell(page: str, testid: str) -> int:
    found = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    assert found, testid
    return as_int(found.group(1))


def dialog(page: str) -> str:
    found = re.search(r'<dialog id="confirm-send".*?</dialog>', page, re.S)
    assert found
    return found.group(0)


def said(html: str) -> dict[str, int]:
    """The numbers of the dialog's sum, by what they count."""
    found = re.search(r'data-testid="confirm-sum">(.*?)</p>', html, re.S)
    assert found
    return {name: as_int(n) for name, n in re.findall(r'<b data-n="(\w+)">([^<]*)</b>', found.group(1))}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


@pytest.fixture
def priced(settings: Any) -> Decimal:
    settings.MASSPOST_SMS_PART_PRICE = "0.065 EUR"
    return Decimal("0.065")


@pytest.mark.parametrize(("channel", "extra"), [("sms", {}), ("email", EMAIL), ("both", EMAIL)])
def test_the_dialogs_numbers_are_the_previews_and_add_up(alice: Client, patients: dict[str, Patient],
                                                         priced: Decimal, channel: str, extra: dict[str, str]) -> None:
    page = page_of(alice, name="Recall A", channel=channel, sms_ru=RU, **extra)
    box = dialog(page)
    numbers = said(box)
    sms = cell(page, "sms-total") if channel != "email" else 0
    parts = cell(page, "parts-total") if channel != "email" else 0
    emails = cell(page, "email-total") if channel != "sms" else 0
    if channel == "both":
        assert numbers == {"messages": sms + emails, "sms": sms, "parts": parts, "emails": emails}
        assert text(re.search(r'data-testid="confirm-sum">(.*?)</p>', box, re.S).group(1)) == (  # type: ignore[union-attr]
            f"{sms + emails} messages: {sms} SMS ({parts} parts) and {emails} e-mails")
    elif channel == "sms":
        assert numbers == {"sms": sms, "parts": parts}
    else:
        assert numbers == {"emails": emails}
    assert sms + parts + emails > 0
    messages = sms + emails
    # The buttons say the same number.
    assert re.search(rf'data-open-dialog="confirm-send">Send {messages} messages…</button>', page)
    assert re.search(rf'data-testid="confirm-send">Send {messages} messages now</button>', box)
    # The cost: the preview's, the same words in the table, the bar and the dialog (SMS only cost).
    if channel == "email":
        assert 'data-testid="confirm-cost"' not in box
    else:
        cost = money(str(priced * parts), "EUR")  # the shared filter: "€0.195" in English
        assert cost.startswith("€0.") or cost.startswith("€1")
        assert f'data-testid="cost">about {cost}<' in page
        assert f'data-testid="summary-cost">about {cost}<' in page
        assert f'data-testid="confirm-cost">about {cost}<' in box
    # What, from where, when.
    assert '<dd data-testid="confirm-campaign">Recall A</dd>' in box
    assert '<dt>Clinic</dt><dd data-testid="confirm-clinics">Hammas Tallinn</dd>' in box
    assert '<dd data-testid="confirm-when">now</dd>' in box


def test_the_clinics_are_named(make_staff: Callable[..., Client], clinic: Clinic, other_clinic: Clinic,
                               patients: dict[str, Patient]) -> None:
    dora = make_staff("dora", "sender", clinic, other_clinic)
    box = dialog(page_of(dora, sms_ru=RU))
    assert '<dt>Clinics</dt><dd data-testid="confirm-clinics">Hammas Tallinn, Hammas Tartu</dd>' in box
    box = dialog(page_of(dora, clinics=["TRT"], sms_ru=RU))
    assert '<dt>Clinic</dt><dd data-testid="confirm-clinics">Hammas Tartu</dd>' in box


def test_the_summary_bar_says_per_channel_what_the_page_says(alice: Client, patients: dict[str, Patient]) -> None:
    page = page_of(alice, channel="both", sms_ru=RU, **EMAIL)
    bar = re.search(r'<footer class="send-bar" data-testid="send-bar">(.*?)</footer>', page, re.S)
    assert bar, "the summary and the actions share one sticky bar"
    assert 'data-testid="back"' in bar.group(1) and 'data-open-dialog="confirm-send"' in bar.group(1)
    summary = {m.group(1): text(m.group(2)) for m in
               re.finditer(r'data-testid="summary-(sms|email)">(.*?)</span>\s*(?=<span|</p>)', bar.group(1), re.S)}
    sms, emails = cell(page, "sms-total"), cell(page, "email-total")
    assert summary["sms"].startswith(f"SMS: {sms} recipients ({cell(page, 'parts-total')} SMS parts)")
    assert summary["email"].startswith(f"E-mail: {emails} recipients")
    patients_shown = as_int(re.search(r'class="big"><b>(\d+)</b>', bar.group(1)).group(1))  # type: ignore[union-attr]
    assert patients_shown == 5
    # Left out per channel: each channel's recipients and left out make up the patients, never two channels added.
    for channel, recipients in (("sms", sms), ("email", emails)):
        left = cell(page, f"left-out-{channel}-total")
        assert recipients + left == patients_shown, channel
        assert (f"· {left} left out" in summary[channel]) == (left > 0)
    assert "Left out: " not in page  # no total that adds two channels' exclusions


def test_left_out_reasons_are_sentences_per_channel(alice: Client, patients: dict[str, Patient],
                                                   make_patient: Callable[..., Patient]) -> None:
    make_patient(first_name="Eve", email="", email_normalized="")
    make_patient(first_name="Ott", accepts_email=False)
    make_patient(first_name="Uku", accepts_email=False)
    page = page_of(alice, channel="both", sms_ru=RU, **EMAIL)

    def reason(channel: str, why: str) -> str:
        found = re.search(rf'data-testid="reason-{channel}-{why}" data-count="\d+">{SENTENCE}', page)
        assert found, (channel, why)
        return found.group(1).strip()

    assert reason("sms", "no_address") == "1 patient has no phone number"  # Anna
    assert reason("sms", "opted_out") == "1 patient has opted out of SMS"  # Jaan
    assert reason("email", "no_address") == "1 patient has no e-mail address"  # Eve
    assert reason("email", "opted_out") == "2 patients have opted out of e-mail"  # Ott, Uku
    assert "does not accept this channel" not in page and "phone number or e-mail address" not in page


@pytest.mark.parametrize(("lang", "expected"), [
    ("et", {1: "1 patsient on SMS-idest loobunud", 2: "2 patsienti on SMS-idest loobunud",
            5: "5 patsienti on SMS-idest loobunud"}),
    ("ru", {1: "1 пациент отказался от SMS", 2: "2 пациента отказались от SMS",
            5: "5 пациентов отказались от SMS", 21: "21 пациент отказался от SMS"}),
])
def test_reasons_have_their_languages_plural_forms(alice: Client, make_patient: Callable[..., Patient],
                                                   lang: str, expected: dict[int, str]) -> None:
    alice.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    make_patient(first_name="Mari")
    refused = 0
    for n, sentence in expected.items():
        while refused < n:
            make_patient(first_name=f"P{refused}", accepts_sms=False)
            refused += 1
        page = page_of(alice)
        found = re.search(rf'data-testid="reason-sms-opted_out" data-count="\d+">{SENTENCE}', page)
        assert found and found.group(1).strip() == sentence
        count = str(alice.post("/bulk/count/", form_data()).content.decode())
        assert re.search(rf'data-testid="excluded-sms-opted_out">{re.escape(sentence)}</li>', count), count


@pytest.mark.parametrize(("lang", "sentence"), [
    ("et", "216 sõnumit: 129 SMS-i (319 osa) ja 87 e-kirja"),
    ("ru", "216 сообщений: 129 SMS (319 частей) и 87 писем"),
    ("en", "216 messages: 129 SMS (319 parts) and 87 e-mails"),
])
def test_the_sum_in_each_language(lang: str, sentence: str) -> None:
    from django.utils import translation

    from masspost.web.presenting import messages_sentence

    with translation.override(lang):
        html = messages_sentence(messages=216, sms=129, parts=319, emails=87, channels=["sms", "email"])
    assert text(html) == sentence


def test_rows_follow_the_forms_tabs(alice: Client, clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    for n in range(3):
        make_patient(first_name=f"Ivan{n}", language="ru")
    make_patient(first_name="Mari")
    form = str(alice.get("/bulk/").content.decode())
    tabs = re.findall(r'role="tab" id="tab-(\w\w)"', form)
    assert tabs[:2] == ["ru", "et"], "most used first"
    data = {"name": "Recall", "channel": "sms", "purpose": "service"}
    data |= {f"sms_{code}": {"ru": RU, "et": "Tere {first_name}!"}.get(code, "") for code in tabs}
    page = str(alice.post("/bulk/preview/", data).content.decode())
    assert re.findall(r'<tr data-lang="(\w\w)">', page) == ["ru", "et"]
    again = str(alice.get("/bulk/preview/", HTTP_SEC_FETCH_SITE="none").content.decode())
    assert re.findall(r'<tr data-lang="(\w\w)">', again) == ["ru", "et"]


@pytest.mark.parametrize(("lang", "title", "help_line", "left_out"), [
    ("et", "GSM-7: tavaline SMS-i tähestik", "ainult ladina tähti (v.a õ, š ja ž)", "1 patsient on SMS-idest loobunud"),
    ("ru", "GSM-7: ", "только латинские буквы без õ, š, ž", "1 пациент отказался от SMS"),
    ("en", "GSM-7: the plain SMS alphabet, 160 characters in one SMS", "only Latin letters without õ, š, ž",
     "1 patient has opted out of SMS"),
])
def test_the_encoding_words_are_the_counters(alice: Client, patients: dict[str, Patient], lang: str, title: str,
                                             help_line: str, left_out: str) -> None:
    """The Encoding column's tooltip and the help line under the table are sms_words' — the counter's — words."""
    from django.utils import translation

    from masspost.web.sms_words import encoding_help, encoding_title

    alice.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    page = page_of(alice, sms_ru=RU)
    with translation.override(lang):
        gsm7, ucs2, said = encoding_title("GSM-7"), encoding_title("UCS-2"), encoding_help()
    assert gsm7.startswith(title) and help_line in said
    assert f'<abbr title="{gsm7}">GSM-7</abbr>' in page and f'<abbr title="{ucs2}">UCS-2</abbr>' in page
    assert f'<p class="help encoding-help">{said}</p>' in page
    assert re.search(rf'data-testid="reason-sms-opted_out" data-count="1">{SENTENCE}', page).group(1) == left_out  # type: ignore[union-attr]
