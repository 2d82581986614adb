"""The user's own profile (/account/): their phone and e-mail for test sends, shown formatted, changed by them
alone (audited "staff_contact", never the values), errors next to their field keeping what was typed; reachable
from the user's name in the header for every role."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from masspost.campaigns.models import AuditEvent
from masspost.staff.models import StaffMember

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    return str(response.content.decode())


def member(name: str) -> StaffMember:
    return StaffMember.objects.get(user__username=name)


def test_every_role_reaches_their_profile_from_the_name_in_the_header(bob: Client) -> None:
    page = html(bob.get("/patients/"))
    assert re.search(r'<a class="user-name" href="/account/"[^>]*><bdi>bob</bdi></a>', page)
    profile = bob.get("/account/")
    assert profile.status_code == 200
    assert "Test sends go here: to you, never to patients." in html(profile)


def test_a_preparer_saves_their_own_phone_and_email_and_sees_them_formatted(bob: Client) -> None:
    response = bob.post("/account/", {"phone": "5123 4567", "email": " Bob@Hammas.Example "})
    assert response.status_code == 302 and response["Location"] == "/account/?saved=1"
    stored = member("bob")
    assert (stored.phone, stored.email) == ("+37251234567", "Bob@hammas.example")
    page = html(bob.get(response["Location"]))
    assert "Saved." in page
    assert 'value="+372 5123 4567"' in page  # E.164 shown as a person reads it
    assert '<span class="phone" dir="ltr">+372 5123 4567</span>' in page
    event = AuditEvent.objects.get(action="staff_contact")
    assert event.actor == "bob"
    assert "5123" not in str(event.detail) and "hammas" not in str(event.detail).lower()


def test_an_empty_field_removes_the_address(bob: Client) -> None:
    bob.post("/account/", {"phone": "+372 5123 4567", "email": "bob@hammas.example"})
    bob.post("/account/", {"phone": "", "email": "bob@hammas.example"})
    assert member("bob").phone == ""
    assert "no phone yet: no test SMS" in html(bob.get("/account/"))


@pytest.mark.parametrize(("phone", "email", "field", "said"), [
    ("12", "", "phone", "This is not a phone number we can send to."),
    ("+372 640 0000", "", "phone", "This is not a mobile number"),  # a landline cannot take an SMS
    ("", "not-an-address", "email", "Enter an e-mail address like name@clinic.ee."),
])
def test_an_error_sits_next_to_its_field_and_keeps_what_was_typed(bob: Client, phone: str, email: str, field: str,
                                                                  said: str) -> None:
    response = bob.post("/account/", {"phone": phone, "email": email})
    assert response.status_code == 422
    page = html(response)
    typed = phone if field == "phone" else email
    assert re.search(rf'<input type="text" name="{field}" value="{re.escape(typed)}"[^>]*aria-invalid="true"', page)
    assert re.search(rf'<p class="error" id="id_{field}_error">{re.escape(said)}', page)
    assert member("bob").phone == "" and member("bob").email == ""
    assert not AuditEvent.objects.filter(action="staff_contact").exists()


def test_the_profile_is_in_estonian_and_russian(make_staff: Any, clinic: Any) -> None:
    for language, words in (("et", "Proovisaated lähevad siia"), ("ru", "Пробные отправки приходят сюда")):
        client = make_staff(f"user{language}", "sender", clinic, language=language)
        assert words in html(client.get("/account/", HTTP_ACCEPT_LANGUAGE=language))


def test_signed_out_goes_to_sign_in(client: Client) -> None:
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
