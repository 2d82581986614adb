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

from masspost.clinic.models import Patient
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
    ("et", "Saajad on muutunud: 1 saaja telefoninumber on muutunud (eelvaates 3 sõnumit, nüüd 3)."),
    ("ru", "Изменились получатели: у 1 получателя изменился номер телефона (в предпросмотре 3 сообщения, "
           "сейчас 3)."),
    ("en", "The recipients changed: 1 recipient's phone number changed (3 messages at preview, 3 now)."),
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
