"""The worker's start of a scheduled campaign (delivery.windows.outbox_start_due) against a user who reschedules or
cancels it at the same moment (review of issue 19, S1 and S2).

- A reschedule or a cancel that commits after the worker read which starts are due wins: the campaign is not
  started, its rows are left as they are (on SQLite and PostgreSQL).
- The start locks the campaign row before its gate, as cancel, reject and reschedule do: a campaign a user is
  changing is skipped without waiting and started by the next call, and a cancel during a start waits for it
  rather than deadlocking (PostgreSQL only: SQLite has no row locks)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from masspost.campaigns.models import Campaign
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_cancel, campaign_reschedule, campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from masspost.delivery import windows
from masspost.delivery.models import CampaignGate, OutboxMessage
from masspost.delivery.windows import outbox_start_due
from tests.conftest import campaign

OPERATOR = Scope.operator()
UTC = dt.UTC
NOW = dt.datetime(2027, 3, 1, 10, 0, tzinfo=UTC)  # Monday 12:00 in Tallinn
START = dt.datetime(2027, 3, 2, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Tallinn: the campaign's start
LATER = dt.datetime(2027, 3, 3, 8, 0, tzinfo=UTC)  # Wednesday 10:00: the start it is moved to
POSTGRESQL_ONLY = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="row locks: PostgreSQL only (set DATABASE_URL=postgres://… to run)")


@pytest.fixture(autouse=True)
def clinic_windows(settings: Any) -> None:
    settings.MASSPOST_SENDING_WINDOWS = "clinics"


def send_scheduled(make_patient: Callable[..., Patient]) -> tuple[int, Patient]:
    """A campaign to two patients starting at START, sent at NOW; then one of them opts out of SMS (so a start
    would leave them out). Returns the campaign id and that patient."""
    make_patient()
    opts_out = make_patient()
    spec = CampaignSpec.from_dict(campaign(send_at="2027-03-02T10:00"))
    token = str(campaign_preview(spec=spec, scope=OPERATOR, now=NOW).token)
    campaign_id = campaign_send(spec=spec, scope=OPERATOR, token=token, now=NOW).campaign_id
    Patient.objects.filter(id=opts_out.id).update(accepts_sms=False)
    return campaign_id, opts_out


def statuses(campaign_id: int) -> list[str]:
    return sorted(OutboxMessage.objects.filter(campaign_id=campaign_id).values_list("status", flat=True))


def between_read_and_lock(monkeypatch: pytest.MonkeyPatch, change: Callable[[], object]) -> None:
    """Run `change` (a user's action, committed) after the start read which gates are due, before it locks one."""
    read = windows._due_gates

    def due_then_change(*, now: dt.datetime) -> list[tuple[int, int]]:
        due = read(now=now)
        change()
        return due

    monkeypatch.setattr(windows, "_due_gates", due_then_change)


# -- S2: the start checks the gate again under its lock ------------------------------------------------------------


@pytest.mark.django_db
def test_a_campaign_rescheduled_after_the_due_read_is_not_started(
        clinic: Clinic, make_patient: Callable[..., Patient], monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id, opts_out = send_scheduled(make_patient)
    between_read_and_lock(monkeypatch, lambda: campaign_reschedule(
        campaign_id=campaign_id, scope=OPERATOR, send_at=LATER, deadline=None, now=START))

    assert outbox_start_due(now=START) == []
    c = Campaign.objects.get(id=campaign_id)
    assert c.started_at is None and c.send_at == LATER
    assert list(CampaignGate.objects.filter(campaign_id=campaign_id).values_list("reason", "until")) == [
        ("scheduled", LATER)]
    assert statuses(campaign_id) == ["queued", "queued"]  # the opted-out patient is not left out yet

    monkeypatch.undo()
    assert outbox_start_due(now=LATER - dt.timedelta(minutes=1)) == []
    assert outbox_start_due(now=LATER) == [(campaign_id, {"opted_out": 1})]  # the check runs at the new start
    assert Campaign.objects.get(id=campaign_id).started_at == LATER
    assert OutboxMessage.objects.get(patient=opts_out).status == "left_out"


@pytest.mark.django_db
def test_a_campaign_cancelled_after_the_due_read_is_not_started(
        clinic: Clinic, make_patient: Callable[..., Patient], monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id, _ = send_scheduled(make_patient)
    between_read_and_lock(monkeypatch, lambda: campaign_cancel(campaign_id=campaign_id, scope=OPERATOR))

    assert outbox_start_due(now=START) == []
    assert Campaign.objects.get(id=campaign_id).started_at is None
    assert not CampaignGate.objects.filter(campaign_id=campaign_id).exists()
    assert statuses(campaign_id) == ["cancelled", "cancelled"]  # none became left_out


@pytest.mark.django_db
def test_a_campaign_due_at_the_read_still_starts(clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    campaign_id, _ = send_scheduled(make_patient)
    assert outbox_start_due(now=START - dt.timedelta(seconds=1)) == []
    assert outbox_start_due(now=START) == [(campaign_id, {"opted_out": 1})]
    assert outbox_start_due(now=START) == []  # started once
    assert statuses(campaign_id) == ["left_out", "queued"]


# -- S1: one lock order, campaign then gate (PostgreSQL) ------------------------------------------------------------


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Run `work` on its own database connection; its exception, if any, lands in the returned list."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def _wait_for_a_lock_wait() -> None:
    """Until another session of this database waits for a row lock (at most 10 s)."""
    give_up = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < give_up:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the same view all through a transaction
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the other session never waited for a lock")


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_the_start_skips_a_campaign_a_user_holds_and_starts_it_on_the_next_call(
        clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    campaign_id, _ = send_scheduled(make_patient)
    locked, release = threading.Event(), threading.Event()

    def user_changing_it() -> None:  # as cancel, reject and reschedule begin: campaign_get(for_update=True)
        with transaction.atomic():
            Campaign.objects.select_for_update().get(id=campaign_id)
            locked.set()
            release.wait(30)

    thread, errors = _in_thread(user_changing_it)
    try:
        assert locked.wait(10)
        began = time.monotonic()
        assert outbox_start_due(now=START) == []  # skipped, no error, no wait for the user
        assert time.monotonic() - began < 5
        assert Campaign.objects.get(id=campaign_id).started_at is None
        assert statuses(campaign_id) == ["queued", "queued"]
    finally:
        release.set()
        thread.join(30)
    assert not errors
    assert outbox_start_due(now=START) == [(campaign_id, {"opted_out": 1})]
    assert Campaign.objects.get(id=campaign_id).started_at == START


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_cancel_during_the_start_waits_for_it_and_neither_side_deadlocks(
        clinic: Clinic, make_patient: Callable[..., Patient], monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id, _ = send_scheduled(make_patient)
    leave_out = windows._leave_out
    cancelled: list[int] = []
    user: list[tuple[threading.Thread, list[BaseException]]] = []

    def start_then_cancel_arrives(**kwargs: Any) -> dict[str, int]:
        # The worker is inside the start's transaction: the user's cancel comes in now and must wait for it.
        user.append(_in_thread(lambda: cancelled.append(campaign_cancel(campaign_id=campaign_id, scope=OPERATOR))))
        _wait_for_a_lock_wait()
        return leave_out(**kwargs)

    monkeypatch.setattr(windows, "_leave_out", start_then_cancel_arrives)
    assert outbox_start_due(now=START) == [(campaign_id, {"opted_out": 1})]
    thread, errors = user[0]
    thread.join(30)
    assert not errors  # no DeadlockDetected on the user's side either
    assert cancelled == [1]  # the one row the start kept is cancelled once the start has committed
    assert statuses(campaign_id) == ["cancelled", "left_out"]
    assert Campaign.objects.get(id=campaign_id).started_at == START
