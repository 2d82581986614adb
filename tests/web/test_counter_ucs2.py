"""The live SMS counter says why a text is UCS-2 the way a receptionist can act on it (issue 17, point 8): the
language's own letters named once with what they cost — never highlighted as if to be fixed — and only the
characters that could be replaced pointed at; GSM-7 and UCS-2 explained in the user's language."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def counter(client: Client, text: str, field: str = "sms_et") -> str:
    response = client.post("/bulk/sms/", {"field": field, field: text})
    assert response.status_code == 200
    return str(response.content.decode())


def forcing(page: str) -> str:
    found = re.search(r'data-testid="forcing">(.*?)</div>', page, re.S)
    assert found, page
    return found.group(1)


def test_a_languages_own_letters_are_named_once_not_highlighted(alice: Client) -> None:
    estonian = forcing(counter(alice, "Tere õhtust, Õie! Kõik hästi."))
    assert "<mark" not in estonian
    assert "Letter õ: 70 characters per part instead of 160." in estonian
    long_estonian = forcing(counter(alice, "Tere õhtust! " + "a" * 80))
    assert "Letter õ: 67 characters per part instead of 153." in long_estonian
    both = forcing(counter(alice, "Šokolaad ja žürii õhtul"))
    assert "Letters š, ž, õ: 70 characters per part instead of 160." in both
    russian = forcing(counter(alice, "Здравствуйте! «Запись» на завтра – ждём вас.", field="sms_ru"))
    assert "<mark" not in russian  # « » – change nothing while the Cyrillic keeps it UCS-2
    assert "Cyrillic letters: 70 characters per part instead of 160." in russian


def test_only_replaceable_characters_are_highlighted_each_with_its_count(alice: Client) -> None:
    said = forcing(counter(alice, "Tere! Teie “aeg” on homme – palun tulge… 😀 “"))
    marks = re.findall(r'<mark title="([^"]+)">(.+?)</mark>(<small>×(\d+)</small>)?', said)
    assert [(char, n or "1") for _title, char, _small, n in marks] == [
        ("“", "2"), ("”", "1"), ("–", "1"), ("…", "1"), ("😀", "1")]
    assert "U+201C LEFT DOUBLE QUOTATION MARK" in said
    assert "replace or remove them and it fits 160 characters per part instead of 70:" in said
    long = forcing(counter(alice, "Tere! Teie “aeg” on homme. " + "a" * 60))  # two parts: each part's limits
    assert "replace or remove them and it fits 153 characters per part instead of 67:" in long
    invisible = forcing(counter(alice, "Tere\u00a0Mari"))  # a no-break space is shown, and said what it is
    assert re.search(r'<mark title="U\+00A0 NO-BREAK SPACE">␣</mark>', invisible)
    assert 'data-testid="forcing"' not in counter(alice, "Tere ohtust, Oie! Äge, öö, ü.")  # ä ö ü are GSM-7


@pytest.mark.parametrize(("lang", "letters", "abbr"), [
    ("et", "Kirillitsa tähed: 70 märki osa kohta, mitte 160.", "UCS-2: SMS-i tähestik kõigi muude märkide jaoks"),
    ("ru", "Буквы кириллицы: 70 символов на часть вместо 160.", "UCS-2: алфавит SMS для всех остальных символов"),
    ("en", "Cyrillic letters: 70 characters per part instead of 160.", "UCS-2: the SMS alphabet for every other"),
])
def test_the_explanation_is_in_the_users_language(alice: Client, lang: str, letters: str, abbr: str) -> None:
    alice.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    page = counter(alice, "Привет", field="sms_ru")
    assert letters in forcing(page)
    assert re.search(rf'data-testid="encoding"><abbr title="{re.escape(abbr)}[^"]*">UCS-2</abbr>', page)
    gsm = counter(alice, "Tere!")
    assert re.search(r'data-testid="encoding"><abbr title="GSM-7: [^"]*160[^"]*">GSM-7</abbr>', gsm)
