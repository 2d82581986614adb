"""Issue 16, point 1 in the web UI: a request that meets the database's write lock held past the busy timeout (a
large import writing, on SQLite) is a 503 with Retry-After and a page that says what happened, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

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


def test_a_session_that_cannot_be_saved_for_a_busy_database_is_a_503(alice: Client,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The session is saved after the view, where process_exception no longer looks: Django alone answers 500."""
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
