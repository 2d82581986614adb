"""A send refused because things changed since the preview says what changed in the user's language (the domain's
English stays for the CLI and the API), with its numbers and plural forms."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from masspost.campaigns import changes
from masspost.campaigns.changes import Change
from masspost.clinic.models import Patient
from masspost.errors import StaleTokenError
from masspost.web.stale_words import SAY, say, stale_view
from tests.web.conftest import form_data, token_of

pytestmark = pytest.mark.django_db

RU = "Здравствуйте, {first_name}!"


def refused(client: Client, token: str) -> str:
    response = client.post("/bulk/send/", {"token": token})
    assert response.status_code == 409
    found = re.search(r'data-testid="stale-reason">(.*?)</div>', response.content.decode(), re.S)
    assert found
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))).strip()


def speaking(client: Client, lang: str) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


ENGLISH = re.compile(r"\b(changed|recipients?|patients?|preview|audience|messages?|now|the)\b", re.I)


@pytest.mark.parametrize(("lang", "expected"), [
    ("et", "Saajad on muutunud (eelvaates 3 sõnumit, nüüd 3): 1 saaja telefoninumber on muutunud"),
    ("ru", "Изменились получатели (в предпросмотре 3 сообщения, сейчас 3): У 1 получателя изменился номер "
           "телефона"),
    ("en", "The recipients changed (3 messages at preview, 3 now): 1 recipient's phone number changed"),
])
def test_a_changed_phone_is_said_in_the_users_language(alice: Client, patients: dict[str, Patient], lang: str,
                                                        expected: str) -> None:
    client = speaking(alice, lang)
    token = token_of(client.post("/bulk/preview/", form_data(sms_ru=RU)))
    Patient.objects.filter(id=patients["ivan"].id).update(phone="55512345", phone_e164="+37255512345")
    said = refused(client, token)
    assert said == expected
    if lang != "en":
        assert not ENGLISH.search(said), said


@pytest.mark.parametrize("lang", ["et", "ru"])
def test_new_patients_and_a_changed_filter_in_estonian_and_russian(alice: Client, patients: dict[str, Patient],
                                                                   make_patient: Callable[..., Any],
                                                                   lang: str) -> None:
    client = speaking(alice, lang)
    token = token_of(client.post("/bulk/preview/", form_data(sms_ru=RU)))
    for n in range(5):
        make_patient(first_name=f"Uus{n}")
    said = refused(client, token)
    assert {"et": "5 patsienti vastavad nüüd ka filtritele", "ru": "5 пациентов теперь тоже подходят под фильтры"}[
        lang] in said
    assert not ENGLISH.search(said), said
    # The texts changed since: said as such (no patient needs to be looked at).
    token = token_of(client.post("/bulk/preview/", form_data(sms_ru=RU)))
    client.post("/bulk/preview/", form_data(sms_ru=RU + " Ootame!"))  # the kept draft now has other texts
    said = refused(client, token)
    assert said == {"et": "Tekstid on muutunud.", "ru": "Изменились тексты."}[lang]


# --- every change the domain can give has its words ---------------------------------------------------------------
def example(code: str) -> Change:
    """A Change with each value its code may have (counts over one, for the plural forms)."""
    params: dict[str, Any] = {"n": 2, "channel": "sms", "reasons": {"opted_out": 2}}
    if code == changes.RECIPIENTS:
        params = {"then": 5, "now": 3, "items": [Change(changes.GONE, {"n": 2})]}
    return Change(code, params)


@pytest.mark.parametrize("lang", ["et", "ru", "en"])
@pytest.mark.parametrize("code", sorted(changes.CODES))
def test_every_change_the_domain_gives_has_its_words(code: str, lang: str) -> None:
    assert code in SAY
    for channel in ("sms", "email"):
        change = example(code)
        if "channel" in change.params:
            change.params["channel"] = channel
        with translation.override(lang):
            said = say(change)
        assert said and "%(" not in said and "opted_out" not in said, said
        if lang != "en":
            assert not ENGLISH.search(said), said
            assert said != str(change)


def test_a_change_is_said_from_its_code_not_from_its_english(monkeypatch: pytest.MonkeyPatch) -> None:
    refusal = StaleTokenError([Change(changes.TEXTS), Change(changes.RECIPIENTS, {"then": 3, "now": 3, "items": [
        Change(changes.ADDRESSES, {"n": 1, "channel": "sms"}),
        Change(changes.LEFT_OUT, {"n": 2, "channel": "email", "reasons": {"opted_out": 1, "no_address": 1}})]})])
    with translation.override("et"):
        before = stale_view(refusal)
        monkeypatch.setitem(changes.ENGLISH, changes.ADDRESSES, lambda p: "some phones are different now")
        monkeypatch.setitem(changes.ENGLISH, changes.RECIPIENTS, lambda p: "who gets it is different")
        assert stale_view(refusal) == before
    texts, recipients = before["changes"]
    assert texts == {"text": "tekstid on muutunud", "details": []}
    assert recipients["text"] == "saajad on muutunud (eelvaates 3 sõnumit, nüüd 3)"
    phone, left_out = recipients["details"]
    assert phone == "1 saaja telefoninumber on muutunud"
    # each reason in words (presenting.reason_sentence), never its code
    assert left_out.startswith("2 saajat jäävad nüüd e-kirjast välja (1 ") and "loobunud" in left_out
    assert "opted_out" not in left_out and "no_address" not in left_out


def test_an_english_page_says_why_in_words_not_codes(alice: Client, patients: dict[str, Patient]) -> None:
    client = speaking(alice, "en")
    token = token_of(client.post("/bulk/preview/", form_data(sms_ru=RU)))
    Patient.objects.filter(id=patients["ivan"].id).update(accepts_sms=False)
    said = refused(client, token)
    assert "1 recipient is now left out of the SMS (1 patient has opted out of SMS)" in said, said
    assert "opted_out" not in said and "audience" not in said
