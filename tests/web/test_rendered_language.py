"""Every staff page as it is rendered, in Estonian and Russian (and for the time format, English too): no
untranslated source string of the catalogue, no English domain error and no raw code (`campaign_send`, `preparer`,
`{'`) in the text a receptionist reads; and one time format per language ("07.12.2026 14:05" in et and ru,
"7 Dec 2026, 14:05" in en — never ISO, "12/07/2026", "a.m." or seconds). A check over the rendered pages, not only
the catalogues (issue 17, "How it is judged"): a string missing from the catalogue, or shown without gettext, or a
code rendered as it is stored is caught here. The checks themselves: tests/page_language.py.

The data is an admin's day at two clinics: a campaign by SMS and e-mail sent, partly delivered, one failed, paused
and resumed, exported; a preparer and a sender on the staff page, an API token, a failed sign-in, a consent."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from masspost.clinic.models import Clinic, Patient
from masspost.delivery.models import MessageStatus, OutboxMessage
from tests.page_language import page_language, time_problems, untranslated, visible_text
from tests.web.conftest import PASSWORD, form_data, token_of

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
TEXTS = {"sms_et": "Tere {first_name}! Aeg hambaarsti juurde. Helista {clinic_phone}.",
         "sms_en": "Hello {first_name}! It is time for your check-up. Call {clinic_phone}.",
         "subject_en": "Your check-up", "body_en": "Hello {first_name}!\nIt is time for your check-up.",
         "sms_ru": "Здравствуйте, {first_name}! Пора на осмотр. Звоните {clinic_phone}.",
         "subject_et": "Kontroll", "body_et": "Tere {first_name}!\nAeg kontrolli tulla.",
         "subject_ru": "Осмотр", "body_ru": "Здравствуйте, {first_name}!\nПора на осмотр."}


@dataclass
class Day:
    boss: Callable[[str], Client]  # the admin, speaking a language
    campaign: int  # still sending: 3 delivered, 1 failed, the rest queued
    done: int  # every message delivered
    patient: str  # an external id


def speaking(client: Client, lang: str) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = lang
    return client


@pytest.fixture
def day(make_staff: Callable[..., Client], clinic: Clinic, other_clinic: Clinic, alice: Client, bob: Client,
        patients: dict[str, Patient], make_patient: Callable[..., Patient]) -> Day:
    """An English-speaking patient too: the English texts shown on an Estonian page are marked as English."""
    make_patient(first_name="John", last_name="Smith", language="en")
    make_patient(first_name="Aino", last_name="Virtanen", language="fi")  # no Finnish text: the fallback
    boss = make_staff("juhataja", "admin", clinic, other_clinic)
    make_staff("kati", "preparer", other_clinic)

    def send(name: str) -> int:
        fields = form_data(name=name, channel="both", clinics=[clinic.code, other_clinic.code], **TEXTS)
        preview = boss.post("/bulk/preview/", fields)
        assert preview.status_code == 200, preview
        sent = boss.post("/bulk/send/", {"token": token_of(preview)})
        assert sent.status_code == 302, sent
        return int(sent["Location"].rstrip("/").rsplit("/", 1)[-1])

    done = send("Kontroll novembris")
    OutboxMessage.objects.filter(campaign_id=done).update(status=MessageStatus.DELIVERED, sent_at=timezone.now())
    campaign = send("Kontroll detsembris")
    messages = list(OutboxMessage.objects.filter(campaign_id=campaign).order_by("id").values_list("id", flat=True))
    OutboxMessage.objects.filter(id__in=messages[:3]).update(status=MessageStatus.DELIVERED, sent_at=timezone.now())
    OutboxMessage.objects.filter(id__in=messages[3:4]).update(status=MessageStatus.FAILED,
                                                              last_error="number not in use")
    for action in ("pause", "resume"):
        assert boss.post(f"/campaigns/{campaign}/{action}/").status_code in (200, 302)
    assert boss.get(f"/campaigns/{campaign}/messages.csv").status_code == 200
    assert boss.post("/users/tokens/", {"username": "bob", "name": "aruanded"}).status_code == 200
    Client().post("/sign-in/", {"username": "juhataja", "password": PASSWORD + "x"})
    return Day(boss=lambda lang: speaking(boss, lang), campaign=campaign, done=done,
               patient=patients["jaan"].external_id)


def _sign_in(day: Day, lang: str) -> Any:
    return speaking(Client(), lang).get("/sign-in/")


def _sign_in_error(day: Day, lang: str) -> Any:
    return speaking(Client(), lang).post("/sign-in/", {"username": "juhataja", "password": "vale"})


def _bulk(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/bulk/?new=1")


def _bulk_merge_error(day: Day, lang: str) -> Any:
    """Both channels, and a merge field that is not one (Estonian for first_name): the form again, its error."""
    fields = form_data(channel="both", **(TEXTS | {"sms_et": "Tere {eesnimi}! Aeg kontrolli."}))
    return day.boss(lang).post("/bulk/preview/", fields)


def _bulk_count(day: Day, lang: str) -> Any:
    return day.boss(lang).post("/bulk/count/", form_data(channel="both", **TEXTS), headers=HTMX)


def _bulk_sms_counter(day: Day, lang: str) -> Any:
    return day.boss(lang).post("/bulk/sms/", {"field": "sms_ru", "sms_ru": TEXTS["sms_ru"]}, headers=HTMX)


def _bulk_text_check(day: Day, lang: str) -> Any:
    """The live check under an e-mail body, with a merge field that is not one."""
    return day.boss(lang).post("/bulk/text/", {"field": "body_ru", "body_ru": "Здравствуйте, {imja}!"}, headers=HTMX)


def _preview(day: Day, lang: str) -> Any:
    """Both channels, and a fallback language: a patient whose language has no text gets Estonian."""
    fields = form_data(channel="both", name="Kontroll", fallback_language="et", **TEXTS)
    return day.boss(lang).post("/bulk/preview/", fields)


def _campaigns(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/campaigns/")


def _campaign(day: Day, lang: str) -> Any:
    return day.boss(lang).get(f"/campaigns/{day.campaign}/")


def _campaign_done(day: Day, lang: str) -> Any:
    return day.boss(lang).get(f"/campaigns/{day.done}/")


def _campaign_messages(day: Day, lang: str) -> Any:
    return day.boss(lang).get(f"/campaigns/{day.campaign}/messages/", headers=HTMX)


def _campaign_progress(day: Day, lang: str) -> Any:
    return day.boss(lang).get(f"/campaigns/{day.campaign}/progress/", headers=HTMX)


def _patient(day: Day, lang: str) -> Any:
    return day.boss(lang).get(f"/patients/?patient={day.patient}")


def _staff(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/users/")


def _staff_new_token(day: Day, lang: str) -> Any:
    return day.boss(lang).post("/users/tokens/", {"username": "alice", "name": f"öine-{lang}"})


def _audit(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/audit/")


def _profile(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/account/")


def _clinics(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/clinics/")


def _clinic(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/clinics/TLN/")


def _approvals(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/approvals/")


def _not_found(day: Day, lang: str) -> Any:
    return day.boss(lang).get("/campaigns/987654/")


PAGES: dict[str, Callable[[Day, str], Any]] = {
    "sign-in": _sign_in, "sign-in-error": _sign_in_error, "bulk": _bulk, "bulk-merge-error": _bulk_merge_error,
    "bulk-count": _bulk_count, "bulk-sms-counter": _bulk_sms_counter, "bulk-text-check": _bulk_text_check,
    "preview": _preview, "campaigns": _campaigns, "campaign": _campaign, "campaign-done": _campaign_done,
    "campaign-messages": _campaign_messages, "campaign-progress": _campaign_progress, "patient": _patient,
    "staff": _staff, "staff-new-token": _staff_new_token, "audit": _audit, "profile": _profile,
    "clinics": _clinics, "clinic": _clinic, "approvals": _approvals, "404": _not_found,
}
STATUS = {"404": (404,), "bulk-merge-error": (200, 422), "sign-in-error": (200, 400, 401, 403, 422)}
PARTIAL = {"bulk-count", "bulk-sms-counter", "bulk-text-check", "campaign-messages", "campaign-progress"}


def rendered(day: Day, page: str, lang: str) -> str:
    response = PAGES[page](day, lang)
    assert response.status_code in STATUS.get(page, (200,)), (page, response.status_code)
    html = response.content.decode()
    if page not in PARTIAL:
        assert page_language(html) == lang, f"{page}: <html lang={page_language(html)!r}>, not {lang!r}"
    else:  # a fragment: its language is the page's it lands in
        html = f'<html lang="{lang}">{html}</html>'
    return html


def problems(day: Day, lang: str, check: Callable[[str, str], list[str]]) -> str:
    """Every page's problems by `check`, page by page ("" when there are none)."""
    out = []
    for page in PAGES:
        text = visible_text(rendered(day, page, lang))
        assert len(text) > 20, f"{page}: hardly any text: {text!r}"
        if found := check(text, lang):
            out.append(f"{lang} {page}:\n    " + "\n    ".join(found))
    return "\n".join(out)


@pytest.mark.parametrize("lang", ["et", "ru"])
def test_no_english_source_string_or_raw_code_on_any_page(day: Day, lang: str) -> None:
    found = problems(day, lang, untranslated)
    assert not found, "untranslated or raw text reaches the page:\n" + found


# A sending window as the clinics file writes it ("Mon-Sat 09:00-20:00", "Mon-Sun 00:00-24:00"): a fixed format,
# the same in every language (docs/campaign.md), not a time shown in the language's own.
WINDOW = re.compile(r"\b[A-Z][a-z]{2}(?:[-,][A-Z][a-z]{2})* \d{2}:\d{2}-\d{2}:\d{2}\b")


@pytest.mark.parametrize("lang", ["et", "en", "ru"])
def test_one_time_format_per_language(day: Day, lang: str) -> None:
    found = problems(day, lang, lambda text, lang: time_problems(WINDOW.sub("", text), lang))
    assert not found, "a date or time not in the language's one format:\n" + found


def test_the_pages_show_times_at_all(day: Day) -> None:
    """The time-format test is not vacuous: the campaign list, the audit log and the staff page show times, in the
    language's form."""
    for page, lang, form in (("audit", "et", r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}"),
                             ("campaigns", "ru", r"\d{2}:\d{2}"),
                             ("audit", "en", r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}")):
        text = visible_text(rendered(day, page, lang))
        assert re.search(form, text), f"{lang} {page}: no time like {form!r} in {text[:400]!r}"


# --- the checks catch what they are for ----------------------------------------------------------------------------
def test_the_checks_find_english_raw_codes_and_other_time_formats() -> None:
    page = ('<html lang="et"><head><title>Masspostitus</title><style>.a{color:red}</style></head><body>'
            '<h1>Bulk Mail</h1><p>Koht 6: unknown merge field \'{eesnimi}\'</p>'
            '<td>campaign_send</td><td>clinics={\'TLN\': 1}</td><select><option>preparer</option></select>'
            '<p>Ühel patsiendil pole numbrit: the SMS is not sent to him.</p><input placeholder="Patient ID">'
            '<td>12/07/2026 1:11 a.m.</td><td>2026-12-07 14:05</td>'
            '<td>07.12.2026 14:05:09</td><td>07.12.2026 14:05</td><td>14:05 UTC</td><time datetime="2026-12-07">'
            '07.12.2026</time><textarea>Hello and welcome to the Bulk Mail</textarea>'
            '<p lang="en">Hello {first_name}! Sign in to see the Bulk Mail</p><script>let a = "Sign in";</script>'
            '</body></html>')
    text = visible_text(page)
    assert "Patient ID" in text and "Hello" not in text and "Sign in" not in text and "color" not in text
    found = "\n".join(untranslated(text, "et"))
    for expected in ("'Bulk Mail'", "'merge field'", "'campaign_send'", "\"{'\"", "'preparer'", "'Patient ID'",
                     "the SMS is not sent to him'"):
        assert expected in found, (expected, found)
    found = "\n".join(time_problems(text, "et"))
    for expected in ("'12/07/2026'", "'1:11 a.m.'", "'2026-12-07'", "'14:05:09'", "UTC"):
        assert expected in found, (expected, found)
    assert "'07.12.2026'" not in found
    assert time_problems("7 Dec 2026, 14:05 · 7 Dec, 09:30 · 14:05", "en") == []
    assert time_problems("07.12.2026 14:05 · 07.12 09:30", "ru") == []
    assert time_problems("7 Dec 2026", "et") and time_problems("07.12.2026", "en")
    assert untranslated("Кампания отправлена", "ru") and not untranslated("Рассылка отправлена", "ru")
    assert untranslated("5 saajat saavad varukeele (et).", "et")
    assert time_problems("7 декабря 2026 г.", "ru") and time_problems("7. detsember 2026", "et")
