"""The staff page's API tokens: an admin makes tokens for the staff they manage (the secret shown once, on the
answer to the POST only) and revokes them; everyone else is refused, another clinic's staff are "not found"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.staff.models import ApiToken
from masspost.staff.services import staff_add
from masspost.staff.tokens import token_create, token_scope
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'id="new-token-secret" readonly[^>]*>(mp_[A-Za-z0-9_-]+)</textarea>')


def html(response: Any) -> str:
    return str(response.content.decode())


def create(client: Client, username: str = "bob", name: str = "") -> Any:
    return client.post("/users/tokens/", {"username": username, "name": name})


def secret_of(response: Any) -> str:
    found = SECRET.search(html(response))
    assert found, html(response)[:2000]
    return found.group(1)


@pytest.fixture
def tartu(other_clinic: Clinic) -> str:
    staff_add(username="tartu", password=PASSWORD, clinics=["TRT"], role="sender", scope=Scope.operator())
    return "tartu"


def test_the_admin_sees_the_tokens_of_the_staff_they_manage_only(ada: Client, bob: Client, tartu: str) -> None:
    operator = Scope.operator()
    mine = token_create(scope=operator, username="bob", name="reports")
    theirs = token_create(scope=operator, username="tartu", name="tartu-reports")
    page = html(ada.get("/users/"))
    assert 'id="api-tokens"' in page
    assert mine.prefix + "…" in page and "reports" in page
    assert theirs.prefix not in page and "tartu-reports" not in page
    assert mine.secret not in page
    # The user select offers the managed staff only.
    options = re.findall(r'<option value="([^"]*)"', page.split('id="api-tokens"')[1])
    assert sorted(options) == ["ada", "bob"]


def test_create_shows_the_secret_once_and_it_works(ada: Client, bob: Client, clinic: Clinic) -> None:
    response = create(ada, "bob", "reports")
    assert response.status_code == 200
    secret = secret_of(response)
    page = html(response)
    assert page.count(secret) == 1
    assert "Copy it now: it is not shown again." in page and "Authorization: Bearer" in page
    assert "no-store" in response["Cache-Control"]
    found = token_scope(secret=secret)
    assert found is not None
    assert (found.scope.actor, found.scope.role, found.scope.clinic_ids) == ("bob", Role.PREPARER, {clinic.id})
    assert found.name == "reports"
    event = AuditEvent.objects.get(action="token_create")
    assert (event.actor, event.detail["user"], event.detail["token"]) == ("ada", "bob", "reports")
    # The secret is nowhere once the page is loaded again; its prefix is listed.
    again = html(ada.get("/users/"))
    assert secret not in again and 'data-testid="new-token"' not in again
    assert secret[:10] + "…" in again
    assert secret not in str(ada.session.items())


def test_without_a_name_the_token_is_called_api(ada: Client, bob: Client) -> None:
    secret_of(create(ada))
    secret_of(create(ada))
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["api", "api-2"]


def test_a_taken_name_is_said_next_to_its_field_keeping_what_was_typed(ada: Client, bob: Client) -> None:
    secret_of(create(ada, "bob", "reports"))
    response = create(ada, "bob", "reports")
    assert response.status_code == 422
    page = html(response)
    assert 'id="id_name_error"' in page and "has a token named" in page
    assert 'name="name" value="reports"' in page
    assert re.search(r'<option value="bob" selected>', page)
    assert not SECRET.search(page)
    assert ApiToken.objects.count() == 1


def test_a_name_too_long_is_refused_on_its_field(ada: Client, bob: Client) -> None:
    response = create(ada, "bob", "x" * 101)
    assert response.status_code == 422
    assert 'id="id_name_error"' in html(response)
    assert not ApiToken.objects.exists()


def test_revoke_works_and_is_audited(ada: Client, bob: Client) -> None:
    secret = secret_of(create(ada, "bob", "reports"))
    page = html(ada.get("/users/"))
    assert 'data-open-dialog="revoke-1"' in page and '<dialog id="revoke-1"' in page
    response = ada.post("/users/tokens/revoke/", {"username": "bob", "name": "reports"})
    assert response.status_code == 302 and response["Location"] == "/users/#api-tokens"
    assert token_scope(secret=secret) is None
    event = AuditEvent.objects.filter(action="token_revoke").get()
    assert (event.actor, event.detail) == ("ada", {"user": "bob", "token": "reports"})
    assert "reports" not in html(ada.get("/users/"))  # live tokens only
    assert ada.post("/users/tokens/revoke/", {"username": "bob", "name": "reports"}).status_code == 404


def test_another_clinics_user_is_not_found(ada: Client, tartu: str) -> None:
    made = token_create(scope=Scope.operator(), username="tartu", name="reports")
    assert create(ada, "tartu").status_code == 404
    assert ada.post("/users/tokens/revoke/", {"username": "tartu", "name": "reports"}).status_code == 404
    assert token_scope(secret=made.secret) is not None
    assert ApiToken.objects.filter(user__username="tartu").count() == 1


def test_only_admins_reach_the_token_views(alice: Client, bob: Client, ada: Client) -> None:
    made = token_create(scope=Scope.operator(), username="bob", name="reports")
    assert create(alice, "bob").status_code == 403
    assert alice.post("/users/tokens/revoke/", {"username": "bob", "name": "reports"}).status_code == 403
    assert create(bob, "bob").status_code == 403
    assert ApiToken.objects.count() == 1 and token_scope(secret=made.secret) is not None
    assert Client().post("/users/tokens/", {"username": "bob"}).status_code == 302  # to the sign-in page
    for path in ("/users/tokens/", "/users/tokens/revoke/"):
        assert ada.get(path).status_code == 405


def test_csrf_is_enforced(ada: Client, bob: Client) -> None:
    made = token_create(scope=Scope.operator(), username="bob", name="reports")
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="ada"))
    assert client.post("/users/tokens/", {"username": "bob", "name": "x"}).status_code == 403
    assert client.post("/users/tokens/revoke/", {"username": "bob", "name": "reports"}).status_code == 403
    assert ApiToken.objects.count() == 1 and token_scope(secret=made.secret) is not None
    # With the page's token, it goes through.
    page = html(client.get("/users/"))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf
    response = client.post("/users/tokens/", {"username": "bob", "name": "x", "csrfmiddlewaretoken": csrf.group(1)})
    assert token_scope(secret=secret_of(response)) is not None


@pytest.mark.parametrize(("lang", "words"), [("et", "Kopeerige see kohe"), ("ru", "Скопируйте его сейчас")])
def test_the_section_speaks_the_users_language(ada: Client, bob: Client, lang: str, words: str) -> None:
    ada.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    page = html(create(ada, "bob"))
    assert words in page and "Copy it now" not in page and "API tokens" not in page


def test_the_same_form_sent_twice_makes_one_token(ada: Client, bob: Client) -> None:
    # A reload of the answer that showed the token sends the same form again: nothing more is made, the page says
    # why next to the name, and its new form makes a token.
    page = html(ada.get("/users/"))
    attempt = re.search(r'name="attempt" value="([^"]+)"', page)
    assert attempt, page.split('id="api-tokens"')[1][:1500]
    form = {"username": "bob", "name": "", "attempt": attempt.group(1)}
    first = ada.post("/users/tokens/", form)
    assert first.status_code == 200 and secret_of(first)
    again = ada.post("/users/tokens/", form)
    assert again.status_code == 409
    assert "made its token already" in html(again) and not SECRET.search(html(again))
    assert list(ApiToken.objects.filter(user__username="bob").values_list("name", flat=True)) == ["api"]
    fresh = re.search(r'name="attempt" value="([^"]+)"', html(again))
    assert fresh and fresh.group(1) != attempt.group(1)
    third = ada.post("/users/tokens/", form | {"attempt": fresh.group(1)})
    assert third.status_code == 200 and secret_of(third)
    assert ApiToken.objects.filter(user__username="bob").count() == 2
