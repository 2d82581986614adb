"""The preview's Encoding column says why a language's SMS are UCS-2 as the live counter does (issue 17, point 8):
the language's own letters named once, replaceable characters highlighted, and apart from the text the letters
that only some patients' names bring — then only their SMS are UCS-2."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from django.test import Client

from masspost.clinic.models import Clinic, Patient
from tests.web.conftest import form_data

pytestmark = pytest.mark.django_db


def encoding_cell(client: Client, lang: str, **overrides: str) -> str:
    page = str(client.post("/bulk/preview/", form_data(**overrides)).content.decode())
    row = re.search(rf'<tr data-lang="{lang}">(.*?)</tr>', page, re.S)
    assert row, page
    cell = re.search(r'<td class="encoding"[^>]*>(.*?)</td>', row.group(1), re.S)
    assert cell
    return re.sub(r"\s+", " ", cell.group(1))


def test_cyrillic_is_named_once(alice: Client, clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    make_patient(first_name="Ivan", language="ru")
    cell = encoding_cell(alice, "ru", sms_ru="Здравствуйте, {first_name}! «Запись» – ждём вас.")
    assert "Cyrillic letters: 70 characters per part instead of 160." in cell
    assert "<mark" not in cell  # neither the 20 letters nor « » –, which change nothing here
    assert re.search(r'<abbr title="UCS-2: [^"]+">UCS-2</abbr>', cell)


def test_replaceable_characters_are_highlighted(alice: Client, clinic: Clinic,
                                                make_patient: Callable[..., Patient]) -> None:
    make_patient(first_name="Mari")
    cell = encoding_cell(alice, "et", sms_et="Tere {first_name}! Teie “aeg” on homme.")
    assert [m for m in re.findall(r"<mark[^>]*>(.*?)</mark>", cell)] == ["“", "”"]


def test_letters_in_some_names_only_are_said_apart(alice: Client, clinic: Clinic,
                                                   make_patient: Callable[..., Patient]) -> None:
    make_patient(first_name="Mari")
    make_patient(first_name="Šarlote")
    cell = encoding_cell(alice, "et", sms_et="Tere {first_name}! Aeg kontrolli.")
    assert ">GSM-7</abbr>, <abbr" in cell and ">UCS-2</abbr>" in cell
    assert 'data-testid="forcing"' not in cell  # the text itself is GSM-7
    names = re.search(r'data-testid="ucs2-names">(.*?)</div>', cell)
    assert names and html.unescape(names.group(1)) == (
        "Some patients' names have characters GSM-7 lacks (š): their SMS fit 70 characters per part instead of 160.")
