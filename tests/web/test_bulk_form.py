"""Bulk Mail's form as a receptionist fills it (issue 17, points 3 and 10): a merge-field mistake said once, in the
user's language, next to its box; visit periods as "the last 12 months" that stay relative when a campaign is used
as a start; countries ticked by name; a campaign name already there."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from masspost.audience import selectors
from masspost.campaigns.models import Campaign
from masspost.clinic.models import Patient, Visit
from masspost.web import forms
from tests.web.conftest import form_data, preview, token_of

pytestmark = pytest.mark.django_db

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def html(response: Any) -> str:
    return str(response.content.decode())


def speaking(client: Client, language: str) -> Client:
    client.cookies["masspost_language"] = language
    return client


def on_day(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    """A fixed clock for the audience and the form (noon UTC of `day`, the same date in Tallinn) — not for the
    session, which would expire a month on."""
    moment = dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(selectors, "timezone", SimpleNamespace(now=lambda: moment))
    monkeypatch.setattr(forms, "timezone", SimpleNamespace(localdate=lambda: day))


# --- a merge-field mistake --------------------------------------------------------------------------------------
WORDS = {
    "en": "{eesnimi} is not a field masspost knows — use the buttons below.",
    "et": "{eesnimi} – sellist välja masspost ei tunne. Kasutage allolevaid nuppe.",
    "ru": "{eesnimi} — такого поля masspost не знает. Используйте кнопки ниже.",
}


@pytest.mark.parametrize("language", ["en", "et", "ru"])
def test_a_merge_field_mistake_is_said_once_in_the_users_language(alice: Client, patients: dict[str, Patient],
                                                                  language: str) -> None:
    speaking(alice, language)
    refused = preview(alice, sms_et="Tere {eesnimi}! Aeg kontrolliks.")
    assert refused.status_code == 422
    page = html(refused)
    assert page.count(WORDS[language]) == 1  # once: in the box's slot, not also in the counter
    slot = re.search(r'<div class="field-errors" id="merge-error-sms_et">(.*?)</div>', page, re.S)
    assert slot and WORDS[language] in slot.group(1)
    for english in ("unknown merge field", "Position", "position", "allowed:"):
        assert english not in page
    # The live counter says it in the same slot (out of band) and nowhere else.
    counter = html(alice.post("/bulk/sms/", {"field": "sms_et", "sms_et": "Tere {eesnimi}! Aeg kontrolliks."}))
    assert counter.count(WORDS[language]) == 1 and 'id="merge-error-sms_et" hx-swap-oob="true"' in counter


@pytest.mark.parametrize(("text", "words"), [
    ("Tere {first_name", "A “{” is not closed (at “Tere {first_name”)"),
    ("Tere } Mari", "A “}” has no “{” before it (at “Tere } Mari”)"),
    ("Tere {}!", "Empty braces {}"),
    ("Tere {first_name.__class__}!", "{first_name.__class__} is not a field masspost knows"),
])
def test_every_kind_of_merge_field_mistake_has_its_own_words(alice: Client, text: str, words: str) -> None:
    page = html(alice.post("/bulk/text/", {"field": "subject_et", "subject_et": text}))
    assert words in page and "position" not in page.lower()


def test_a_merge_field_mistake_in_estonian_for_every_kind(alice: Client) -> None:
    speaking(alice, "et")
    said = [html(alice.post("/bulk/text/", {"field": "body_et", "body_et": text}))
            for text in ("Tere {eesnimi", "Tere }", "Tere {}", "Tere {x!r}", "Tere {eesnimi}")]
    for page in said:
        message = re.search(r'<p class="error"[^>]*>(.*?)</p>', page, re.S)
        assert message, page
        assert not re.search(r"\b(field|position|brace|unknown|the|is)\b", message.group(1)), message.group(1)


# --- relative periods ---------------------------------------------------------------------------------------------
def test_a_relative_period_stays_relative_when_the_campaign_is_used_a_month_later(
        alice: Client, patients: dict[str, Patient], make_visit: Callable[..., Visit],
        monkeypatch: pytest.MonkeyPatch) -> None:
    make_visit(patients["ivan"], dt.datetime(2025, 7, 1, 10, 0))  # 11½ months before the first send
    on_day(monkeypatch, dt.date(2026, 6, 15))
    first = preview(alice, not_visited_period="12", sms_ru="Привет!")
    assert first.status_code == 200, html(first)[:500]
    # Tallinn's active patients who can be selected: Mari (visit in 2024), Ivan, Olga, Anna, Jaan — Ivan visited.
    assert first.context["p"]["audience"]["patients"] == 4
    sent = alice.post("/bulk/send/", {"token": token_of(first)})
    campaign_id = int(sent["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert Campaign.objects.get(id=campaign_id).spec["audience"]["not_visited"] == {"last_months": 12}

    on_day(monkeypatch, dt.date(2026, 7, 15))  # a month later Ivan's visit is more than 12 months back
    assert alice.post("/bulk/", {"start": str(campaign_id)}).status_code == 302
    form = html(alice.get("/bulk/"))
    assert re.search(r'<option value="12" selected>', form)  # the choice, not two dates
    assert not re.search(r'name="not_visited_from"[^>]*value="\d', form)
    again = alice.get("/bulk/preview/", headers=SAME_ORIGIN)
    assert again.status_code == 200
    assert again.context["p"]["audience"]["patients"] == 5


@pytest.mark.parametrize(("choice", "months", "audience"), [
    ("6", "", {"last_months": 6}),
    ("24", "", {"last_months": 24}),
    ("months", "18", {"last_months": 18}),
])
def test_the_period_choices_make_relative_periods(alice: Client, patients: dict[str, Patient], choice: str,
                                                  months: str, audience: dict[str, int]) -> None:
    response = preview(alice, visited_period=choice, visited_months=months)
    assert response.status_code == 200
    assert response.context["p"]["audience"]["filter"] == {"visited": audience}


def test_exact_dates_are_still_a_choice(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, visited_period="dates", visited_from="2024-01-01", visited_to="2024-12-31")
    assert response.status_code == 200 and response.context["p"]["audience"]["patients"] == 1  # Mari
    missing = preview(alice, visited_period="dates", visited_from="2024-01-01")
    assert missing.status_code == 422 and "Give both dates of the period." in html(missing)
    no_number = preview(alice, visited_period="months", visited_months="")
    assert no_number.status_code == 422 and "How many months?" in html(no_number)


def test_choosing_exact_dates_asks_for_them_while_counting(alice: Client, patients: dict[str, Patient]) -> None:
    # Said at once, next to the box, and again on a refused preview: the same words, never a red box without them.
    page = html(alice.post("/bulk/count/", form_data(visited_period="dates")))
    slot = re.search(r'<div class="field-errors" id="errors-visited_from" hx-swap-oob="true">(.*?)</div>', page, re.S)
    assert slot and "Give both dates of the period." in slot.group(1)
    assert 'data-testid="filter-errors"' in page


# --- countries by name ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("language", "finland", "estonia"), [
    ("en", "Finland", "Estonia"), ("et", "Soome", "Eesti"), ("ru", "Финляндия", "Эстония")])
def test_countries_are_ticked_by_name_in_the_users_language(alice: Client, patients: dict[str, Patient],
                                                            language: str, finland: str, estonia: str) -> None:
    page = html(speaking(alice, language).get("/bulk/"))
    boxes = dict((name, code) for code, name in re.findall(
        r'<input type="checkbox" name="countries" value="(\w\w)"[^>]*>\s*([^<]+?)\s*</label>', page))
    assert boxes == {estonia: "EE", finland: "FI"}  # the countries Tallinn's patients live in, no others
    assert 'name="countries" type="text"' not in page and "ISO" not in page
    ticked = preview(alice, countries="FI")
    assert ticked.status_code == 200 and ticked.context["p"]["audience"]["patients"] == 1  # Olga


# --- the name -----------------------------------------------------------------------------------------------------
# the day as every other date of the language is shown (masspost_format.day): English names the month
@pytest.mark.parametrize(("language", "name"), [
    ("et", "Masspostitus 15.06.2026"), ("en", "Bulk mail 15 Jun 2026"), ("ru", "Рассылка 15.06.2026")])
def test_the_campaign_name_is_prefilled(alice: Client, monkeypatch: pytest.MonkeyPatch, language: str,
                                        name: str) -> None:
    on_day(monkeypatch, dt.date(2026, 6, 15))
    page = html(speaking(alice, language).get("/bulk/"))
    assert re.search(rf'name="name" value="{name}"', page)


def test_an_invisible_character_in_the_name_or_a_text_is_said_on_its_box(alice: Client,
                                                                          patients: dict[str, Patient]) -> None:
    speaking(alice, "et")
    response = preview(alice, name="Recall\u0007", sms_et="Tere\u0001 {first_name}!")
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert errors["name"] == ["Nimes on nähtamatu märk, mida ei saa näidata (U+0007): kustutage see."]
    assert errors["sms_et"] == ["Tekstis on nähtamatu märk, mida ei saa saata (U+0001): kustutage see."]
    assert not response.context["form"].non_field_errors()  # nothing left for the campaign file's English words


# --- every campaign rule the form can break is said on its box, in the user's words -----------------------------
BROKEN = {  # a rule of the campaign file (CampaignSpec.from_dict, AudienceFilter.from_dict) → a form that breaks it
    "no SMS text": {"sms_et": ""},
    "an e-mail without its text": {"channel": "email", "sms_et": "", "subject_et": "Tere"},
    "an e-mail with nothing left once cleaned": {"channel": "email", "sms_et": "", "subject_et": "Tere",
                                                 "body_et": "<script>x()</script>"},
    "a subject of two lines": {"channel": "email", "subject_et": "Tere\nMari", "body_et": "Tere"},
    "a control character in the SMS": {"sms_et": "Tere\u0001"},
    "a name of two lines": {"name": "Recall\u0007"},
    "a fallback language with no text": {"fallback_language": "ru"},
    "an unknown country": {"countries": "XX"},
    "a clinic not the user's": {"clinics": ["NOPE"]},
    "ages the wrong way round": {"age_min": "60", "age_max": "20"},
    "an age beyond a life": {"age_max": "151"},
    "too many months": {"visited_period": "months", "visited_months": "9999"},
    "a period the wrong way round": {"visited_period": "dates", "visited_from": "2026-05-01",
                                     "visited_to": "2026-01-01"},
}


@pytest.mark.parametrize("rule", list(BROKEN))
def test_a_broken_campaign_rule_is_said_on_its_box_not_in_the_files_english(alice: Client,
                                                                          patients: dict[str, Patient],
                                                                          rule: str) -> None:
    response = preview(speaking(alice, "et"), **BROKEN[rule])
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors and not form.non_field_errors(), form.errors  # on a box, not above the form


HAND_POSTED = "Selle vormi põhjal ei saa kampaaniat koostada: laadige leht uuesti ja täitke vorm uuesti."


@pytest.mark.parametrize("tampered", [{"sms_zz": "Tere"}, {"sms_ET": "Tere"}])  # no language; et twice
def test_a_form_posted_by_hand_is_refused_in_the_users_language(alice: Client, patients: dict[str, Patient],
                                                                 tampered: dict[str, str]) -> None:
    response = preview(speaking(alice, "et"), **tampered)
    assert response.status_code == 422
    assert response.context["form"].non_field_errors() == [HAND_POSTED]
    page = html(response)
    assert "ISO 639" not in page and "language code" not in page and "same language" not in page


def test_with_no_language_tab_the_missing_text_is_said_above_the_form(alice: Client) -> None:
    from django.utils import translation

    with translation.override("et"):
        form = forms.BulkForm(data=form_data(sms_et=""), clinics=[], languages=[])
        assert form.spec() is None
        assert form.non_field_errors() == ["Kirjutage SMS vähemalt ühes keeles."]


# --- a text with a mistake is not a missing text ------------------------------------------------------------------
def test_a_text_with_a_mistake_is_not_counted_as_no_text(alice: Client, patients: dict[str, Patient]) -> None:
    """The Estonian SMS has a merge-field mistake: the answer bar says those patients wait for the text to be
    fixed, not that they have no text in their language; the tab's ⚠ says the same."""
    russian = "Здравствуйте, {first_name}!"
    good = html(alice.post("/bulk/count/", form_data(sms_ru=russian)))
    sent = re.search(r'data-testid="recipients-sms">.*?<b>(\d+)</b>', good, re.S)
    assert sent is not None and 'data-testid="excluded-sms-no_content"' not in good
    page = html(alice.post("/bulk/count/", form_data(sms_et="Tere {eesnimi}!", sms_ru=russian)))
    waiting = re.search(r'data-testid="excluded-sms-text_mistake">the text for (\d+) patients? has a mistake<', page)
    assert waiting is not None
    left = re.search(r'data-testid="recipients-sms">.*?<b>(\d+)</b>', page, re.S)
    assert left is not None and int(left[1]) + int(waiting[1]) == int(sent[1])  # the same patients, not more
    assert 'data-testid="excluded-sms-no_content"' not in page  # nobody "has no text in their language"
    assert 'data-testid="text-mistake-et"' in page and 'data-testid="text-mistake-ru"' not in page
    # A language really without a text is still said as such.
    page = html(alice.post("/bulk/count/", form_data(sms_et="Tere {eesnimi}!")))
    assert 'data-testid="excluded-sms-no_content"' in page and 'data-testid="excluded-sms-text_mistake"' in page


def test_an_empty_sms_box_counts_no_parts(alice: Client) -> None:
    empty = html(alice.post("/bulk/sms/", {"field": "sms_et", "sms_et": ""}))
    assert 'data-testid="parts"' not in empty and 'data-testid="chars"' not in empty
    written = html(alice.post("/bulk/sms/", {"field": "sms_et", "sms_et": "Tere!"}))
    assert re.search(r'data-testid="parts"><b>1</b> part<', written)
