"""Clinic settings (/clinics/, /clinics/<code>/), for admins: their clinics' sending rules at a glance and a form
per clinic. A sender or preparer gets 403 and no menu entry; another clinic is "not found" like one that does not
exist; an error sits next to its field, keeps what was typed and changes nothing; a change is audited."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from tests.delivery.test_dkim import make_pem

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    return str(response.content.decode())


def form(**overrides: str) -> dict[str, str]:
    data = {"marketing_window": "Mon-Fri 10:00-18:00", "service_window": "Mon-Sun 08:00-21:00", "holidays": "on",
            "approval_over": "150", "approval_cost_over": "20.50", "test_before_marketing": "on",
            "recently_messaged_days": "30"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_sees_their_clinics_rules_at_a_glance(ada: Client, clinic: Clinic, other_clinic: Clinic) -> None:
    clinic.approval_over = 1500
    clinic.save()
    page = html(ada.get("/clinics/"))
    # Reached from the staff page (an admin's area: the menu's "Staff" is the current page), not a menu item of its
    # own: a phone's header stays two lines.
    assert '<a href="/users/" aria-current="page">Staff</a>' in page
    assert 'href="/clinics/" data-testid="clinic-settings-link"' in html(ada.get("/users/"))
    table = page.split('data-testid="clinics"', 1)[1]
    assert "Hammas Tallinn" in table and "Hammas Tartu" not in table
    assert "<code class=\"when\" dir=\"ltr\" lang=\"en\">Mon-Sat 09:00-20:00</code>" in table
    assert "<code class=\"when\" dir=\"ltr\" lang=\"en\">Mon-Sun 08:00-21:00</code>" in table
    assert "over 1,500 recipients" in table and "14 days" in table and "no marketing" in table
    assert "Mon = Monday" in page  # the English day abbreviations explained in the page's language


def test_an_admin_changes_a_clinics_rules(ada: Client, clinic: Clinic) -> None:
    response = ada.post("/clinics/TLN/", form(marketing_window="mon-fri 9:00-18:00", holidays=None))
    assert response.status_code == 302 and response["Location"] == "/clinics/?saved=TLN"
    clinic.refresh_from_db()
    assert clinic.marketing_window == "Mon-Fri 09:00-18:00"  # stored as the schedule writes it
    assert clinic.holidays is False and clinic.test_before_marketing is True
    assert (clinic.approval_over, clinic.approval_cost_over, clinic.recently_messaged_days) == (
        150, Decimal("20.50"), 30)
    assert "Saved: Hammas Tallinn." in html(ada.get(response["Location"]))
    event = AuditEvent.objects.get(action="clinic_settings")
    assert event.detail["clinic"] == "TLN" and "marketing_window" in event.detail["fields"]
    audit = html(ada.get("/audit/"))
    assert "Clinic settings changed" in audit and "Hammas Tallinn: Marketing hours" in audit


def test_empty_thresholds_mean_never(ada: Client, clinic: Clinic) -> None:
    ada.post("/clinics/TLN/", form(approval_over="", approval_cost_over=""))
    clinic.refresh_from_db()
    assert clinic.approval_over is None and clinic.approval_cost_over is None
    assert "never" in html(ada.get("/clinics/")).split('data-testid="clinics"', 1)[1]


@pytest.mark.parametrize(("field", "typed", "said"), [
    ("marketing_window", "Mon-Sat 20:00-09:00", "The end must be after the start"),
    ("service_window", "E-R 08:00-21:00", "Write the days in English abbreviations: Mon Tue Wed Thu Fri Sat Sun."),
    ("service_window", "every day", "Write the days, then the hours, e.g. Mon-Sat 09:00-20:00."),
    ("recently_messaged_days", "400", "less than or equal to 365"),
    ("approval_over", "0", "greater than or equal to 1"),
])
def test_an_error_sits_next_to_its_field_keeps_the_input_and_changes_nothing(
        ada: Client, clinic: Clinic, field: str, typed: str, said: str) -> None:
    response = ada.post("/clinics/TLN/", form(**{field: typed}))
    assert response.status_code == 422
    page = html(response)
    assert re.search(rf'name="{field}" value="{re.escape(typed)}"[^>]*aria-invalid="true"', page)
    error = re.search(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', page)
    assert error and said in error.group(1)
    clinic.refresh_from_db()
    assert clinic.marketing_window == "Mon-Sat 09:00-20:00" and clinic.recently_messaged_days == 14
    assert not AuditEvent.objects.filter(action="clinic_settings").exists()


def test_a_window_error_is_said_in_estonian(make_staff: Any, clinic: Clinic) -> None:
    admin = make_staff("kadri", "admin", clinic, language="et")
    page = html(admin.post("/clinics/TLN/", form(marketing_window="Mon-Sat 20:00-09:00"),
                           HTTP_ACCEPT_LANGUAGE="et"))
    assert "Lõpp peab olema pärast algust" in page
    assert "esmaspäev" in page  # Mon explained in Estonian


def test_another_clinic_is_not_found(ada: Client, other_clinic: Clinic) -> None:
    assert ada.get("/clinics/TRT/").status_code == 404
    assert ada.post("/clinics/TRT/", form()).status_code == 404
    assert ada.get("/clinics/NOPE/").status_code == 404
    other_clinic.refresh_from_db()
    assert other_clinic.marketing_window == "Mon-Sat 09:00-20:00"


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_senders_and_preparers_cannot_open_or_change_it(who: str, request: Any, clinic: Clinic) -> None:
    client: Client = request.getfixturevalue(who)
    assert 'href="/clinics/"' not in html(client.get("/patients/"))
    assert client.get("/clinics/").status_code == 403
    assert client.post("/clinics/TLN/", form()).status_code == 403
    clinic.refresh_from_db()
    assert clinic.marketing_window == "Mon-Sat 09:00-20:00"


def test_signed_out_goes_to_sign_in(client: Client, clinic: Clinic) -> None:
    response = client.get("/clinics/TLN/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


def test_the_reply_number_and_a_dkim_key_are_saved_and_the_key_is_never_shown(ada: Client, clinic: Clinic) -> None:
    pem = make_pem()
    response = ada.post("/clinics/TLN/", form(sms_reply_number="5123 4567", dkim_selector="mail2026", dkim_key=pem))
    assert response.status_code == 302, html(response)
    clinic.refresh_from_db()
    assert (clinic.sms_reply_number, clinic.dkim_selector) == ("+37251234567", "mail2026")
    assert clinic.dkim_key.strip() == pem.strip()

    page = html(ada.get("/clinics/TLN/"))
    body = "".join(pem.strip().splitlines()[1:-1])
    assert "PRIVATE KEY-----\n" not in page and body[:40] not in page and body[-40:] not in page
    assert 'name="sms_reply_number" value="+37251234567"' in page
    assert "The clinic has its own key." in page and "SHA256:" in page
    record = re.search(r'data-testid="dkim-record">([^<]*)</textarea>', page)
    assert record and record.group(1).startswith("mail2026._domainkey.hammas.example TXT &quot;v=DKIM1; k=rsa; p=")
    event = AuditEvent.objects.get(action="clinic_settings")
    assert event.detail["dkim_key"] == "set" and body[:40] not in str(event.detail)

    # Saving the form again without pasting a key keeps it.
    assert ada.post("/clinics/TLN/", form(sms_reply_number="+37251234567", dkim_selector="mail2026")).status_code == 302
    clinic.refresh_from_db()
    assert clinic.dkim_key.strip() == pem.strip()


def test_the_remove_box_removes_the_key_and_its_selector(ada: Client, clinic: Clinic) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(dkim_selector="mail2026", dkim_key=make_pem())
    assert "Remove the clinic&#x27;s own DKIM key and selector" in html(ada.get("/clinics/TLN/"))
    response = ada.post("/clinics/TLN/", form(dkim_selector="mail2026", dkim_key_remove="on"))
    assert response.status_code == 302, html(response)
    clinic.refresh_from_db()
    assert (clinic.dkim_selector, clinic.dkim_key) == ("", "")
    assert AuditEvent.objects.get(action="clinic_settings").detail["dkim_key"] == "removed"
    assert "The clinic has no key of its own." in html(ada.get("/clinics/TLN/"))


@pytest.mark.parametrize(("fields", "field", "said"), [
    ({"sms_reply_number": "+372 600 1000"}, "sms_reply_number", "Not a mobile number that can receive SMS"),
    ({"dkim_selector": "mail_2026"}, "dkim_selector", "Letters a–z, digits and hyphens"),
    ({"dkim_selector": "s1", "dkim_key": "-----BEGIN PRIVATE KEY-----\nQUJDRA==\n-----END PRIVATE KEY-----"},
     "dkim_key", "This is not an RSA private key in PEM form."),
    ({"dkim_selector": "s1"}, "dkim_key", "A selector needs its key"),
])
def test_a_bad_reply_number_selector_or_key_is_said_next_to_its_field(
        ada: Client, clinic: Clinic, fields: dict[str, str], field: str, said: str) -> None:
    response = ada.post("/clinics/TLN/", form(**fields))
    assert response.status_code == 422
    page = html(response)
    [error] = re.findall(r'<p class="error" id="id_\w+_error">([^<]*)</p>', page)  # that one, not a second
    assert said in error.replace("&#x27;", "'") and f'id="id_{field}_error"' in page
    assert "QUJDRA==" not in page  # a pasted key is never sent back, not even with an error
    clinic.refresh_from_db()
    assert (clinic.sms_reply_number, clinic.dkim_selector, clinic.dkim_key) == ("", "", "")
    assert not AuditEvent.objects.filter(action="clinic_settings").exists()


def test_a_key_error_is_said_in_estonian_and_russian(make_staff: Any, clinic: Clinic) -> None:
    for language, said in (("et", "See ei ole PEM-kujul RSA privaatvõti."),
                           ("ru", "Это не закрытый ключ RSA в формате PEM.")):
        admin = make_staff(f"admin{language}", "admin", clinic, language=language)
        page = html(admin.post("/clinics/TLN/", form(dkim_selector="s1", dkim_key="nope"),
                               HTTP_ACCEPT_LANGUAGE=language))
        assert said in page
