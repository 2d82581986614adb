"""Signing in for real (password, django-axes), the audit of it, the remembered UI language, and a disabled
account losing its open session."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.staff.models import StaffMember
from masspost.staff.services import staff_disable
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "wrong horse battery"


@pytest.fixture
def dora(make_staff: Callable[..., Client], clinic: Clinic) -> str:
    """A sender of Tallinn who has not signed in yet (the client make_staff signs in is not used)."""
    make_staff("dora", "sender", clinic)
    return "dora"


def sign_in(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/sign-in/", {"username": username, "password": password, **extra}, REMOTE_ADDR="10.0.0.7")


def lang(response: Any) -> str:
    found = re.search(r'<html lang="([^"]+)">', response.content.decode())
    assert found
    return found.group(1)


def test_the_right_password_goes_to_bulk_mail_and_is_audited(dora: str) -> None:
    client = Client()
    response = sign_in(client, dora, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/bulk/"
    assert client.get("/bulk/").status_code == 200
    event = AuditEvent.objects.get(action="sign_in")
    assert event.actor == "dora" and event.address == "10.0.0.7"


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(dora: str) -> None:
    client = Client()
    assert sign_in(client, dora, PASSWORD, next="/campaigns/")["Location"] == "/campaigns/"
    other = Client()
    assert sign_in(other, dora, PASSWORD, next="https://evil.example/")["Location"] == "/bulk/"
    page = Client().get("/sign-in/?next=/campaigns/").content.decode()
    assert 'name="next" value="/campaigns/"' in page


def test_a_wrong_password_shows_the_form_again_and_is_audited(dora: str) -> None:
    client = Client()
    response = sign_in(client, dora, WRONG)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="sign-in-error"' in page and 'value="dora"' in page
    assert WRONG not in page
    event = AuditEvent.objects.get(action="sign_in_failed")
    assert event.actor == "dora" and event.address == "10.0.0.7"
    assert WRONG not in str(event.detail) and "password" not in str(event.detail)
    assert not any(WRONG in str(e.detail) or WRONG in e.actor for e in AuditEvent.objects.all())
    assert client.get("/bulk/").status_code == 302  # not signed in


def test_a_tried_password_is_stored_nowhere(dora: str) -> None:
    sign_in(Client(), dora, WRONG)
    sign_in(Client(), "nobody", WRONG)
    for model in apps.get_models():
        for row in model.objects.all().values():
            assert WRONG not in str(row), model


def test_five_failures_lock_the_account_out_even_with_the_right_password(dora: str, make_staff: Callable[..., Client],
                                                                       clinic: Clinic) -> None:
    client = Client()
    for _ in range(4):
        assert sign_in(client, dora, WRONG).status_code == 200
    locked = sign_in(client, dora, WRONG)
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.content.decode()
    right = sign_in(client, dora, PASSWORD)
    assert right.status_code == 429 and "Too many failed sign-ins" in right.content.decode()
    assert client.get("/bulk/").status_code == 302
    assert not AuditEvent.objects.filter(action="sign_in").exists()
    assert AuditEvent.objects.filter(action="sign_in_failed", actor="dora").count() >= 5
    # Only this name is locked: a colleague at the same computer signs in.
    make_staff("eve", "preparer", clinic)
    assert sign_in(Client(), "eve", PASSWORD)["Location"] == "/bulk/"


def test_the_chosen_language_comes_back_at_the_next_sign_in(dora: str) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    sign_in(client, dora, PASSWORD)
    assert lang(client.get("/bulk/")) == "en"
    response = client.post("/language/", {"language": "ru", "next": "/bulk/"})
    assert response.status_code == 302 and response["Location"] == "/bulk/"
    assert lang(client.get("/bulk/")) == "ru"
    assert StaffMember.objects.get(user__username="dora").language == "ru"
    client.post("/sign-out/")
    fresh = Client(HTTP_ACCEPT_LANGUAGE="en")  # another computer: no language cookie
    assert lang(fresh.get("/sign-in/")) == "en"
    sign_in(fresh, dora, PASSWORD)
    assert lang(fresh.get("/bulk/")) == "ru"


def test_an_unknown_language_or_an_off_site_next_is_ignored(dora: str) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    sign_in(client, dora, PASSWORD)
    response = client.post("/language/", {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert StaffMember.objects.get(user__username="dora").language in ("", "en")
    assert lang(client.get("/bulk/")) == "en"


def test_sign_out_is_audited_and_ends_the_session(alice: Client) -> None:
    response = alice.post("/sign-out/")
    assert response.status_code == 302 and response["Location"] == "/sign-in/"
    assert AuditEvent.objects.filter(action="sign_out", actor="alice").exists()
    assert alice.get("/bulk/").status_code == 302


def test_a_disabled_user_is_signed_out_on_the_next_request(alice: Client) -> None:
    assert alice.get("/bulk/").status_code == 200
    staff_disable(username="alice", scope=Scope.operator())
    response = alice.get("/bulk/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
    assert alice.post("/bulk/count/", {}).status_code == 302
    assert sign_in(Client(), "alice", PASSWORD).status_code == 200  # and cannot sign in again


def test_an_idle_session_ends(alice: Client, settings: Any) -> None:
    assert alice.get("/bulk/").status_code == 200
    session = alice.session
    session["seen"] = int(time.time()) - settings.MASSPOST_SESSION_IDLE - 5
    session.save()
    response = alice.get("/bulk/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
    assert alice.get("/bulk/").status_code == 302  # for good, not for one request


def test_switching_language_on_the_preview_stays_on_the_preview(alice: Client, patients: Any) -> None:
    from tests.web.conftest import form_data

    page = alice.post("/bulk/preview/", form_data(name="Keelevahetus")).content.decode()
    assert 'name="next" value="/bulk/preview/"' in page  # the switch on the preview page
    response = alice.post("/language/", {"language": "et", "next": "/bulk/preview/"})
    assert response["Location"] == "/bulk/preview/"  # a GET of it previews the kept draft again
    again = alice.get(response["Location"], HTTP_SEC_FETCH_SITE="same-origin")  # the redirect after that POST
    assert again.status_code == 200 and lang(again) == "et" and "Keelevahetus" in again.content.decode()
    assert 'value="Keelevahetus"' in alice.get("/bulk/").content.decode()  # and Back finds the form as it was
    assert alice.post("/language/", {"language": "en", "next": "/bulk/send/"})["Location"] == "/bulk/"
    assert alice.post("/language/", {"language": "en", "next": "/campaigns/?status=done"})["Location"] == \
        "/campaigns/?status=done"


def test_the_audit_log_takes_the_client_address_from_a_trusted_proxy_only(settings: Any) -> None:
    from django.test import RequestFactory

    from masspost.web.middleware import client_address

    factory = RequestFactory()
    forged = factory.get("/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert client_address(forged) == "203.0.113.7"  # not a proxy of ours: its header is ignored
    settings.MASSPOST_TRUSTED_PROXIES = frozenset({"127.0.0.1"})
    proxied = factory.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.4")
    assert client_address(proxied) == "198.51.100.4"  # the address our proxy saw, not the one the client wrote


@pytest.mark.parametrize("typed", ["\x00", "dora\x00", "do\x00ra\n" + "x\x00" * 200])
def test_a_user_name_with_a_nul_is_the_sign_in_error_and_is_audited_cleaned(dora: str, typed: str) -> None:
    """PostgreSQL refuses a NUL in text: were it to reach the audit row (or the look-up of the account it names),
    a visitor's sign-in would be a 500. It is the ordinary sign-in error, and the row holds the name cleaned."""
    response = sign_in(Client(), typed, WRONG)
    assert response.status_code == 200 and 'name="username"' in response.content.decode()
    event = AuditEvent.objects.get(action="sign_in_failed")
    cleaned = typed.replace("\x00", "").replace("\n", "")[:150]
    assert event.actor == cleaned and event.actor_kind == "visitor"
    assert event.actor_user_id == (StaffMember.objects.get(user__username="dora").user_id
                                   if cleaned == "dora" else None)
