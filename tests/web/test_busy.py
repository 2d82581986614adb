"""Issue 16, point 1 in the web UI: a request that meets the database's write lock held past the busy timeout (a
large import writing, on SQLite) is a 503 with Retry-After and a page that says what happened, never a 500 —
wherever it meets it: in a view, saving the session after it, or in a middleware before it (the 500 handler)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from masspost.web import middleware
from masspost.web.views import campaigns as campaigns_view


def test_a_locked_database_is_a_503_page_with_retry_after(alice: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(**kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    monkeypatch.setattr(campaigns_view, "list_campaigns", locked)
    response = alice.get("/campaigns/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "The database is busy" in response.content.decode()


def test_another_database_fault_is_still_a_fault(alice: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> Any:
        raise OperationalError("no such column: x")

    monkeypatch.setattr(campaigns_view, "list_campaigns", broken)
    alice.raise_request_exception = False
    assert alice.get("/campaigns/").status_code == 500


def test_a_session_that_cannot_be_saved_for_a_busy_database_is_a_503(alice: Client, monkeypatch: pytest.MonkeyPatch,
                                                                    request_log: io.StringIO) -> None:
    """The session is saved after the view, where process_exception no longer looks. The site's 500 handler would
    answer 503 too, but only after Django logged an error with its traceback: a sign-in during a large import on
    SQLite is expected, not a fault, so our SessionMiddleware answers it before that."""
    from django.contrib.sessions.backends.db import SessionStore

    def locked(self: Any, must_create: bool = False) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(SessionStore, "save", locked)
    monkeypatch.setattr(SessionStore, "modified", True, raising=False)
    alice.raise_request_exception = False
    response = alice.get("/campaigns/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "no-store" in response["Cache-Control"]
    assert "OperationalError" not in request_log.getvalue()  # a 503 line, no traceback of a fault


# --- outside the view and outside process_exception: the site's 500 handler ---------------------------------
def signing_out_fails(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The session is past its 8 hours, so the request begins by signing it out (StaffScopeMiddleware, before any
    view): and deleting the session row fails."""
    from django.contrib.sessions.backends.db import SessionStore

    def delete(self: Any, session_key: str | None = None) -> None:
        raise error

    start = middleware.clock()
    monkeypatch.setattr(middleware, "clock", lambda: start + 9 * 3600)
    monkeypatch.setattr(SessionStore, "delete", delete)


def test_a_busy_database_while_signing_out_an_expired_session_is_a_503(alice: Client,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       request_log: io.StringIO) -> None:
    alice.get("/campaigns/")  # the session's sign-in time is kept
    signing_out_fails(monkeypatch, OperationalError("database is locked"))
    alice.raise_request_exception = False
    response = alice.get("/campaigns/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "The database is busy" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_another_error_while_signing_out_is_still_a_logged_500(alice: Client, monkeypatch: pytest.MonkeyPatch,
                                                               request_log: io.StringIO) -> None:
    alice.get("/campaigns/")
    signing_out_fails(monkeypatch, OperationalError("no such table: django_session"))
    alice.raise_request_exception = False
    response = alice.get("/campaigns/")
    assert response.status_code == 500
    assert "Server Error (500)" in response.content.decode() and not response.has_header("Retry-After")
    logged = request_log.getvalue()
    assert "ERROR django.request Internal Server Error: /campaigns/" in logged
    assert "OperationalError" in logged and "delete" in logged
    assert "django_session" not in logged  # the frames, never the message


def test_a_busy_page_that_cannot_be_drawn_is_still_a_503_in_words(alice: Client, monkeypatch: pytest.MonkeyPatch,
                                                                   request_log: io.StringIO) -> None:
    """Drawing the page may need the database too (the signed-in user): then the same words, as plain text."""
    def locked(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    alice.get("/campaigns/")
    signing_out_fails(monkeypatch, OperationalError("database is locked"))
    monkeypatch.setattr(middleware, "render", locked)
    alice.raise_request_exception = False
    response = alice.get("/campaigns/")
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.content.decode().startswith("The database is busy")
