"""Bulk Mail (Masspostitus): the language tabs, the live count, filter errors next to their field, the SMS
counter and its punctuation fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from masspost.campaigns.selectors import campaign_counts, campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.staff.selectors import staff_scope
from tests.web.conftest import form_data

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    return str(response.content.decode())


def number(page: str, testid: str) -> int:
    """The first number inside the element with this data-testid."""
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</span>', page, re.S)
    assert found, f"no {testid} in the page"
    return int(re.sub(r"\D", "", re.search(r"\d[\d,\s]*", re.sub(r"<[^>]+>", "", found.group(1))).group()))


def oob_counts(page: str) -> dict[str, int]:
    return {code: int(n) for code, n in
            re.findall(r'<span id="tab-count-(\w+)" class="tab-count" hx-swap-oob="true">(\d+)', page)}


def scope_of(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return staff_scope(user=get_user_model().objects.get(username=username))


# --- the tabs -------------------------------------------------------------------------------------------------
def test_tabs_are_the_languages_of_the_users_own_patients(alice: Client, charlie: Client,
                                                          patients: dict[str, Patient],
                                                          make_patient: Callable[..., Patient],
                                                          other_clinic: Clinic) -> None:
    make_patient(first_name="Jānis", language="lv", clinic=other_clinic)  # Tartu's only: not Alice's tab
    page = html(alice.get("/bulk/"))
    tabs = re.findall(r'role="tab" id="tab-(\w+)"', page)
    assert tabs == ["et", "ru"]  # most patients first
    assert 'id="tab-count-et"' in page and 'id="tab-count-ru"' in page
    assert 'name="sms_et"' in page and 'name="sms_ru"' in page and 'name="sms_lv"' not in page
    assert "lv" in re.findall(r'role="tab" id="tab-(\w+)"', html(charlie.get("/bulk/")))


def test_count_fills_the_tab_numbers_out_of_band(alice: Client, patients: dict[str, Patient]) -> None:
    # The page posts every tab's fields (the Russian box empty here), and the count answers for those tabs.
    page = html(alice.post("/bulk/count/", form_data(sms_ru="")))
    # Tallinn: Mari, Anna, Jaan speak Estonian, Ivan and Olga Russian; the archived patient is never counted.
    assert oob_counts(page) == {"et": 3, "ru": 2}


# --- the count --------------------------------------------------------------------------------------------------
def _expected(username: str, data: dict[str, Any]) -> dict[str, Any]:
    """What campaign_preview says for the same campaign (the count must agree with it)."""
    content = {code: {"sms": data[f"sms_{code}"]} for code in ("et", "ru") if data.get(f"sms_{code}")}
    audience: dict[str, Any] = {}
    if data.get("age_min") or data.get("age_max"):
        audience["age"] = {k: int(data[f"age_{k}"]) for k in ("min", "max") if data.get(f"age_{k}")}
    if data.get("countries"):
        audience["countries"] = [data["countries"]]
    if data.get("clinics"):
        audience["clinics"] = list(data["clinics"])
    for prefix in ("visited", "not_visited"):
        if data.get(f"{prefix}_from"):
            audience[prefix] = {"from": data[f"{prefix}_from"], "to": data[f"{prefix}_to"]}
    spec = CampaignSpec.from_dict({"name": "x", "channel": data["channel"], "purpose": data["purpose"],
                                   "audience": audience, "content": content})
    scope = scope_of(username)
    counts = campaign_counts(spec=spec, scope=scope)
    full = campaign_preview(spec=spec, scope=scope, audit=False).to_dict()
    def nonzero(recipients: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        return {lang: by for lang, by in recipients.items() if any(by.values())}

    assert nonzero(counts["recipients"]) == nonzero(full["recipients"])
    assert {ch: {r: n for r, n in by.items() if n} for ch, by in counts["excluded"].items() if ch == "sms"} == \
        {ch: {r: n for r, n in by.items() if n} for ch, by in full["excluded"].items() if ch == "sms"}
    return full


@pytest.mark.parametrize("overrides", [
    {},
    {"sms_ru": "Здравствуйте, {first_name}!"},
    {"age_min": "40"},
    {"age_min": "30", "age_max": "50", "sms_ru": "Привет"},
    {"countries": "FI", "sms_ru": "Привет"},
    {"clinics": ["TLN"]},
    {"visited_from": "2024-01-01", "visited_to": "2024-12-31"},
    {"not_visited_from": "2024-01-01", "not_visited_to": "2024-12-31", "sms_ru": "Привет"},
])
def test_count_equals_the_preview(alice: Client, patients: dict[str, Patient], overrides: dict[str, Any]) -> None:
    data = form_data(**overrides)
    page = html(alice.post("/bulk/count/", data))
    full = _expected("alice", data)
    assert number(page, "patients") == full["audience"]["patients"]
    assert number(page, "recipients-sms") == sum(by["sms"] for by in full["recipients"].values())
    for reason, n in full["excluded"]["sms"].items():
        if n:
            assert number(page, f"excluded-sms-{reason}") == n
        else:
            assert f'excluded-sms-{reason}"' not in page


def test_filters_narrow_the_count(alice: Client, patients: dict[str, Patient]) -> None:
    def patients_for(**overrides: Any) -> int:
        return number(html(alice.post("/bulk/count/", form_data(**overrides))), "patients")

    assert patients_for() == 5
    assert patients_for(age_min="40") == 4  # Ivan is 30-something
    assert patients_for(age_min="60", age_max="90") == 1  # Olga
    assert patients_for(countries="fi") == 1
    assert patients_for(countries="EE, FI") == 5
    assert patients_for(visited_from="2024-01-01", visited_to="2024-12-31") == 1  # Mari
    assert patients_for(not_visited_from="2024-01-01", not_visited_to="2024-12-31") == 4
    assert patients_for(visited_from="2024-04-01", visited_to="2024-12-31") == 0


def test_count_by_channel_and_reason(alice: Client, patients: dict[str, Patient]) -> None:
    page = html(alice.post("/bulk/count/", form_data(sms_ru="Привет")))
    assert number(page, "recipients-sms") == 3  # Mari, Ivan, Olga
    assert number(page, "excluded-sms-no_address") == 1  # Anna
    assert number(page, "excluded-sms-opted_out") == 1  # Jaan
    both = html(alice.post("/bulk/count/", form_data(channel="both", subject_et="Meeldetuletus",
                                                     body_et="Tere {first_name}!")))
    assert 'data-testid="recipients-email"' in both
    assert number(both, "excluded-sms-no_content") == 2  # no Russian SMS
    assert number(both, "excluded-email-no_content") == 2


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"age_min": "50", "age_max": "40"}, "age_max", "The upper age is below the lower one."),
    ({"countries": "XX1"}, "countries", "Not a country code: XX1"),
    ({"countries": "EE, XX"}, "countries", "Not a country code: XX"),
    ({"visited_from": "2024-01-01"}, "visited_to", "Give both dates of the period."),
    ({"not_visited_to": "2024-01-01"}, "not_visited_from", "Give both dates of the period."),
    ({"visited_from": "2024-05-01", "visited_to": "2024-01-01"}, "visited_to", "The period ends before it starts."),
    ({"age_min": "-1"}, "age_min", "greater than or equal to 0"),
])
def test_a_filter_error_is_shown_next_to_its_field_not_a_count(alice: Client, patients: dict[str, Patient],
                                                              overrides: dict[str, Any], field: str,
                                                              message: str) -> None:
    page = html(alice.post("/bulk/count/", form_data(**overrides)))
    assert 'data-testid="patients"' not in page
    assert 'data-testid="filter-errors"' in page
    slot = re.search(rf'<div class="field-errors" id="errors-{field}" hx-swap-oob="true">(.*?)</div>', page, re.S)
    assert slot and message in slot.group(1)
    # The bulk page has the same slot, so the message lands next to the field.
    assert f'id="errors-{field}"' in html(alice.get("/bulk/"))


def test_a_corrected_filter_clears_its_error(alice: Client, patients: dict[str, Patient]) -> None:
    page = html(alice.post("/bulk/count/", form_data(age_min="40", age_max="50")))
    assert number(page, "patients") == 3
    assert '<div class="field-errors" id="errors-age_max" hx-swap-oob="true"></div>' in page


# --- the SMS counter --------------------------------------------------------------------------------------------
def counter(client: Client, text: str, field: str = "sms_et") -> str:
    response = client.post("/bulk/sms/", {"field": field, field: text})
    assert response.status_code == 200
    return html(response)


def stat(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</span>', page, re.S)
    assert found, testid
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


@pytest.mark.parametrize(("text", "encoding", "parts", "limit"), [
    ("a" * 160, "GSM-7", "1 part", "160 per part"),
    ("a" * 161, "GSM-7", "2 parts", "153 per part"),
    ("a" * 306, "GSM-7", "2 parts", "153 per part"),
    ("a" * 307, "GSM-7", "3 parts", "153 per part"),
    ("€" * 80, "GSM-7", "1 part", "160 per part"),  # an extension character counts two
    ("€" * 81, "GSM-7", "2 parts", "153 per part"),
    ("Ж" * 70, "UCS-2", "1 part", "70 per part"),
    ("Ж" * 71, "UCS-2", "2 parts", "67 per part"),
    ("Tere õhtust" + "a" * 59, "UCS-2", "1 part", "70 per part"),
    ("Tere õhtust" + "a" * 60, "UCS-2", "2 parts", "67 per part"),
])
def test_counter_gsm7_and_ucs2_limits(alice: Client, text: str, encoding: str, parts: str, limit: str) -> None:
    page = counter(alice, text)
    assert stat(page, "encoding") == encoding
    assert stat(page, "parts") == parts
    assert stat(page, "limit") == limit
    assert stat(page, "chars") == f"{len(text)} characters"


def test_counter_refills_the_boxs_merge_field_slot(alice: Client) -> None:
    # The counter says it in the box's own error slot (out of band), not in the counter: once, next to the box.
    page = counter(alice, "Tere {foo}!")
    slot = re.search(r'<div class="field-errors" id="merge-error-sms_et" hx-swap-oob="true">(.*?)</div>', page, re.S)
    assert slot and slot.group(1).count('data-testid="template-error"') == 1
    assert "{foo} is not a field masspost knows — use the buttons below." in slot.group(1)
    assert page.count("{foo} is not a field") == 1 and "Position" not in page
    fine = counter(alice, "Tere {first_name}!")  # a right text empties the slot
    assert re.search(r'<div class="field-errors" id="merge-error-sms_et" hx-swap-oob="true"></div>', fine)


def test_counter_only_counts_a_known_box(alice: Client) -> None:
    page = html(alice.post("/bulk/sms/", {"field": "subject_et", "subject_et": "x" * 500}))
    assert 'data-testid="chars"' not in page and "x" * 20 not in page  # not an SMS box: nothing of it is measured


def test_fix_replaces_lookalikes_when_it_saves_a_part(alice: Client) -> None:
    text = "Tere {first_name}! Teie “aeg” on homme – palun tulge… " + "a" * 100
    before = counter(alice, text)
    assert stat(before, "encoding") == "UCS-2"
    assert 'data-testid="suggestion"' in before and 'hx-post="/bulk/sms/fix/"' in before
    response = alice.post("/bulk/sms/fix/", {"field": "sms_et", "sms_et": text})
    page = html(response)
    box = re.search(r'<textarea name="sms_et"[^>]*>(.*?)</textarea>', page, re.S)
    assert box
    fixed = box.group(1)
    assert "&quot;aeg&quot;" in fixed and " - palun" in fixed and "tulge..." in fixed
    assert "“" not in fixed and "–" not in fixed and "…" not in fixed
    assert stat(page, "encoding") == "GSM-7"
    assert int(stat(page, "parts").split()[0]) < int(stat(before, "parts").split()[0])
    assert "parts saved" in page or "part saved" in page
    assert '<label for="id_sms_et">SMS text (Eesti)</label>' in page  # the box keeps its label


def test_no_fix_offered_when_it_saves_nothing(alice: Client) -> None:
    russian = "Здравствуйте! «Запись» на завтра – ждём вас."  # Cyrillic keeps it UCS-2 anyway
    assert 'data-testid="suggestion"' not in counter(alice, russian, field="sms_ru")
    short = "Tere! “Aeg” on homme."  # GSM-7 after the fix, but one part either way
    assert 'data-testid="suggestion"' not in counter(alice, short)
    page = html(alice.post("/bulk/sms/fix/", {"field": "sms_et", "sms_et": short}))
    assert "“Aeg”" in page and "saved" not in page


def test_a_tab_whose_patients_have_no_text_is_marked(alice: Client, patients: dict[str, Patient]) -> None:
    page = html(alice.post("/bulk/count/", form_data(sms_ru="")))
    marks = {part[:2]: part for part in page.split('id="tab-count-')[1:]}
    assert "No text: they get nothing" in marks["ru"]
    assert "No text" not in marks["et"]
    with_fallback = html(alice.post("/bulk/count/", form_data(sms_ru="", fallback_language="et")))
    assert "No text: they get the fallback language" in with_fallback
    written = html(alice.post("/bulk/count/", form_data(sms_ru="Здравствуйте!")))
    assert "No text" not in written


# --- the e-mail boxes' live check ----------------------------------------------------------------------------
def test_the_email_boxes_are_checked_as_they_are_typed(alice: Client, patients: dict[str, Patient]) -> None:
    page = html(alice.get("/bulk/"))
    for name in ("subject_et", "body_et", "subject_ru", "body_ru"):
        box = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', page)
        assert box, name
        assert 'hx-post="/bulk/text/"' in box.group() and f'hx-target="#errors-{name}"' in box.group()
        assert f'id="errors-{name}"' in page  # the slot it refills


@pytest.mark.parametrize("name", ["subject_et", "body_ru"])
def test_the_live_check_says_what_the_preview_would_of_a_merge_field(alice: Client, name: str) -> None:
    response = alice.post("/bulk/text/", {"field": name, name: "Tere {eesnimi}!"})
    assert response.status_code == 200
    page = html(response).strip()
    assert re.fullmatch(rf'<div class="field-errors" id="errors-{name}"><p class="error" id="id_{name}_error">'
                        r'\{eesnimi\} is not a field masspost knows — use the buttons below.</p></div>', page), page
    ok = html(alice.post("/bulk/text/", {"field": name, name: "Tere {first_name}!"})).strip()
    assert re.fullmatch(rf'<div class="field-errors" id="errors-{name}"></div>', ok)


def test_the_live_check_takes_only_an_email_box(alice: Client) -> None:
    for name in ("sms_et", "name", "subject_", "subject_x1", "body_eng", ""):
        assert alice.post("/bulk/text/", {"field": name, name: "{x"}).status_code == 400, name


def test_the_live_check_refuses_a_line_break_in_a_subject(alice: Client) -> None:
    page = html(alice.post("/bulk/text/", {"field": "subject_et", "subject_et": "Tere\r\nMari"}))
    assert "A subject is one line: remove the line break." in page
    # A text may hold lines: only the subject is one header line.
    assert '<p class="error"' not in html(alice.post("/bulk/text/", {"field": "body_et", "body_et": "Tere\r\nMari"}))


# --- patients without a language of their own --------------------------------------------------------------------
@pytest.mark.parametrize(("language", "one", "two", "five"), [
    ("en", "1 patient has no language set: they get Estonian, their clinic's language.",
     "2 patients have no language set: they get Estonian, their clinic's language.",
     "5 patients have no language set"),
    ("et", "1 patsiendil pole suhtluskeelt määratud: ta saab sõnumi oma kliiniku keeles (eesti).",
     "2 patsiendil pole suhtluskeelt määratud: nad saavad sõnumi oma kliiniku keeles (eesti).",
     "5 patsiendil pole suhtluskeelt"),
    ("ru", "У 1 пациента не указан язык общения: он получит сообщение на языке своей клиники (эстонский).",
     "У 2 пациентов не указан язык общения: они получат сообщения на языке своей клиники (эстонский).",
     "У 5 пациентов не указан язык общения"),
])
def test_the_count_says_how_many_get_their_clinics_language(make_staff: Callable[..., Client], clinic: Clinic,
                                                            make_patient: Callable[..., Patient], language: str,
                                                            one: str, two: str, five: str) -> None:
    client = make_staff("rita", "sender", clinic, language=language)
    make_patient(language="ru")
    said = []
    for _ in range(5):
        make_patient(language="")
        page = html(client.post("/bulk/count/", form_data()))
        said.append(re.search(r'data-testid="no-language-et">(.*?)</span>', page, re.S).group(1))  # type: ignore[union-attr]
    assert said[0] == one and said[1] == two and said[4].startswith(five)
    assert 'data-testid="no-language-ru"' not in page  # the Russian speaker has a language of their own
