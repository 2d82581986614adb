"""The consent ledger (masspost.clinic.ledger; docs/consent.md, "The ledger"): a patient's consent columns are the
fold of their events after every change, whatever the order, the sources or the clocks; the events come back in
the order they were made; no interface updates or deletes one (the ORM refuses, the database refuses an UPDATE);
deleting a patient still erases their events; migration 0007 makes the ledger from what was held before it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from masspost.clinic.consent import consent_history
from masspost.clinic.ledger import consent_change, consent_change_many, ledger_state
from masspost.clinic.models import AppendOnlyError, ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.clinic.services import clinic_data_reset
from masspost.consent import CHANNELS, PURPOSES, ConsentState

pytestmark = pytest.mark.django_db
MIGRATION = __import__("masspost.clinic.migrations.0007_consent_ledger_data",
                       fromlist=["marketing_split", "columns_to_ledger", "trigger_create", "trigger_drop",
                                 "marketing_join", "migrated_drop"])
SCHEMA_EDITOR = SimpleNamespace(connection=connection)

# A source as stored → its kind as the history shows it.
SOURCES = {"import": "import", "sms-stop": "sms-stop", "unsubscribe": "unsubscribe", "provider": "provider",
           "staff:anna": "staff", "api:sync": "api", "operator": "operator", "migrated": "migrated"}
T0 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def columns(patient_id: int) -> ConsentState:
    p = Patient.objects.get(id=patient_id)
    return ConsentState(accepts_sms=p.accepts_sms, accepts_email=p.accepts_email, marketing_sms=p.marketing_sms,
                        marketing_email=p.marketing_email)


# -- the columns are the ledger's fold -----------------------------------------------------------------------------

ONE = st.tuples(st.just("one"), st.integers(0, 2), st.sampled_from(CHANNELS), st.sampled_from(PURPOSES),
                st.booleans(), st.sampled_from(sorted(SOURCES)))
MANY = st.tuples(st.just("many"), st.sets(st.integers(0, 2), max_size=3), st.sampled_from(CHANNELS),
                 st.sampled_from(PURPOSES), st.booleans(), st.sampled_from(sorted(SOURCES)), st.booleans())
# Each change's clock, in seconds from T0: machines whose clocks disagree, a clock set back.
STEP = st.tuples(st.one_of(ONE, MANY), st.integers(-3600, 3600))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_the_columns_are_the_ledgers_fold_after_every_change_and_the_history_is_in_order(
        make_patient: Callable[..., Patient], steps: list[tuple[tuple[Any, ...], int]]) -> None:
    patients = [make_patient(marketing_consent=False) for _ in range(3)]  # the columns before any event
    written: dict[int, list[tuple[str, str, bool, str]]] = {p.id: [] for p in patients}
    for step, clock in steps:
        with mock.patch("masspost.clinic.ledger.timezone.now", return_value=T0 + dt.timedelta(seconds=clock)):
            if step[0] == "one":
                _, who, channel, purpose, accepts, source = step
                pid = patients[who].id
                consent_change(patient_id=pid, channel=channel, purpose=purpose, accepts=accepts, source=source)
                written[pid].append((channel, purpose, accepts, SOURCES[source]))
            else:
                _, whom, channel, purpose, accepts, source, only_changes = step
                ids = [patients[i].id for i in sorted(whom)]
                before = {pid: columns(pid).get(channel, purpose) for pid in ids}
                changed = consent_change_many(patient_ids=ids, channel=channel, purpose=purpose, accepts=accepts,
                                              source=source, only_changes=only_changes)
                assert changed == sorted(pid for pid in ids if before[pid] != accepts or not only_changes)
                for pid in changed:
                    written[pid].append((channel, purpose, accepts, SOURCES[source]))
        for p in patients:
            assert columns(p.id) == ledger_state(p.id)
            history = consent_history(scope=Scope.operator(), external_id=p.external_id)
            assert [(e.channel, e.purpose, e.accepts, e.source) for e in history] == written[p.id]
            assert [e.at for e in history] == sorted(e.at for e in history)


def test_a_change_always_appends_an_event_but_many_only_where_it_changes(
        make_patient: Callable[..., Patient]) -> None:
    a, b = make_patient(marketing_consent=False), make_patient(marketing_consent=False)
    consent_change(patient_id=a.id, channel="sms", purpose="service", accepts=True, source="staff:anna")
    assert ConsentEvent.objects.filter(patient=a).count() == 1  # the same value, recorded: proof all the same
    consent_change(patient_id=a.id, channel="sms", purpose="service", accepts=False, source="sms-stop")
    assert consent_change_many(patient_ids=[a.id, b.id, b.id], channel="sms", purpose="service", accepts=False,
                               source="provider") == [b.id]
    assert consent_change_many(patient_ids=[], channel="sms", purpose="service", accepts=False,
                               source="provider") == []
    assert ConsentEvent.objects.filter(patient=b, source="provider").count() == 1
    assert columns(a.id) == columns(b.id) == ConsentState(accepts_sms=False)


def test_an_event_of_a_later_change_is_never_before_an_earlier_one(make_patient: Callable[..., Patient]) -> None:
    """A clock set back an hour (or another machine's): the second change still comes second, at the first's
    time, and is the consent."""
    p = make_patient(marketing_consent=False)
    with mock.patch("masspost.clinic.ledger.timezone.now", return_value=T0):
        first = consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=True, source="import")
    with mock.patch("masspost.clinic.ledger.timezone.now", return_value=T0 - dt.timedelta(hours=1)):
        second = consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=False,
                                source="unsubscribe")
        consent_change_many(patient_ids=[p.id], channel="sms", purpose="service", accepts=False, source="sms-stop")
    events = list(ConsentEvent.objects.filter(patient=p).order_by("at", "id"))
    assert [e.id for e in events] == [first.id, second.id, events[2].id] and events[2].source == "sms-stop"
    assert [e.at for e in events] == [T0, T0, T0]
    assert ledger_state(p.id) == columns(p.id) == ConsentState(accepts_sms=False)


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"channel": "marketing", "purpose": "service"}, "no consent for channel"),
    ({"purpose": "offers"}, "no consent for channel"),
    ({"accepts": 1}, "accepts must be True or False"),
    ({"source": ""}, "source must have"),
    ({"source": "x" * 101}, "source must have"),
])
def test_a_change_that_is_not_valid_is_refused_and_writes_nothing(make_patient: Callable[..., Patient],
                                                                  kwargs: dict[str, Any], reason: str) -> None:
    p = make_patient(marketing_consent=False)
    values = {"channel": "sms", "purpose": "service", "accepts": False, "source": "import"} | kwargs
    with pytest.raises(ValueError, match=reason):
        consent_change(patient_id=p.id, **values)
    with pytest.raises(ValueError, match=reason):
        consent_change_many(patient_ids=[p.id], **values)
    assert not ConsentEvent.objects.exists() and columns(p.id) == ConsentState()


# -- append-only ---------------------------------------------------------------------------------------------------


def raw_update(sql_set: str, event_id: int) -> None:
    """A plain SQL UPDATE of one event, in its own savepoint (PostgreSQL: a refused statement spoils the
    transaction)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE clinic_consentevent SET {sql_set} WHERE id = %s", [event_id])


def test_no_interface_updates_or_deletes_an_event(make_patient: Callable[..., Patient]) -> None:
    p = make_patient(marketing_consent=False)
    event = consent_change(patient_id=p.id, channel="sms", purpose="service", accepts=False, source="sms-stop")
    events = ConsentEvent.objects.filter(id=event.id)
    attempts: list[Callable[[], object]] = [
        lambda: events.update(accepts=True),
        lambda: ConsentEvent.objects.update(accepts=True),
        lambda: events.delete(),
        lambda: ConsentEvent.objects.all().delete(),
        lambda: ConsentEvent.objects.bulk_update([event], ["accepts"]),
        lambda: ConsentEvent.objects.update_or_create(id=event.id, defaults={"accepts": True}),
        event.save,
        event.delete,
    ]
    for attempt in attempts:
        # Each in a savepoint: bulk_update's own atomic block has none, and its error spoils the transaction.
        with pytest.raises(AppendOnlyError, match="append-only"), transaction.atomic():
            attempt()
    stored = ConsentEvent.objects.get(id=event.id)
    stored.accepts = True
    with pytest.raises(AppendOnlyError):
        stored.save(update_fields=["accepts"])
    for sql_set in ("accepts = NOT accepts", "source = 'import'", "at = at", "staff_id = NULL"):
        with pytest.raises(IntegrityError, match="append-only"):
            raw_update(sql_set, event.id)
    assert ConsentEvent.objects.get(id=event.id).accepts is False and columns(p.id).accepts_sms is False


def test_the_database_refuses_an_update_that_also_unlinks_a_user(make_patient: Callable[..., Patient]) -> None:
    """The one UPDATE the database lets through is a deleted user's SET NULL, and only that."""
    anna = get_user_model().objects.create_user(username="anna", password="correct horse battery")
    p = make_patient(marketing_consent=False)
    event = consent_change(patient_id=p.id, channel="sms", purpose="marketing", accepts=True, source="staff:anna",
                           staff_id=anna.id, method="phone")
    with pytest.raises(IntegrityError, match="append-only"):
        raw_update("staff_id = NULL, accepts = NOT accepts", event.id)
    assert ConsentEvent.objects.get(id=event.id).staff_id == anna.id


def test_deleting_a_user_keeps_their_events_with_their_name(make_patient: Callable[..., Patient]) -> None:
    anna = get_user_model().objects.create_user(username="anna", password="correct horse battery")
    p = make_patient(marketing_consent=False)
    event = consent_change(patient_id=p.id, channel="sms", purpose="marketing", accepts=True, source="staff:anna",
                           staff_id=anna.id, method="phone")
    anna.delete()
    kept = ConsentEvent.objects.get(id=event.id)
    assert (kept.staff_id, kept.source, kept.accepts, kept.method) == (None, "staff:anna", True, "phone")
    assert [(e.source, e.staff) for e in consent_history(scope=Scope.operator(), external_id=p.external_id)] == [
        ("staff", "anna")]


def test_deleting_a_patient_erases_their_events(make_patient: Callable[..., Patient]) -> None:
    """The GDPR's erasure, and the clinic data reset: the database lets a DELETE through."""
    gone, kept = make_patient(marketing_consent=False), make_patient(marketing_consent=False)
    for p in (gone, kept):
        consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=True, source="import")
    gone.delete()
    assert list(ConsentEvent.objects.values_list("patient_id", flat=True)) == [kept.id]
    clinic_data_reset()
    assert not ConsentEvent.objects.exists() and not Patient.objects.exists()


# -- migration 0007 ------------------------------------------------------------------------------------------------


def legacy(patient: Patient, *, channel: str, accepts: bool, at: dt.datetime, source: str = "import",
           **fields: Any) -> None:
    """An event as masspost stored it before the ledger (the channel "marketing" then, its own time)."""
    ConsentEvent(patient=patient, channel=channel, accepts=accepts, source=source, at=at,
                 **fields).save_base(raw=True, force_insert=True)


def test_the_migration_makes_the_ledger_from_what_was_held_before_it(make_patient: Callable[..., Patient]) -> None:
    anna = get_user_model().objects.create_user(username="anna", password="correct horse battery")
    t1, t2 = T0 - dt.timedelta(days=30), T0 - dt.timedelta(days=2)
    MIGRATION.trigger_drop(apps, SCHEMA_EDITOR)  # the state before 0007 (the test's transaction is rolled back)
    # Marketing given to staff: one legacy event, and 0006 copied the column to e-mail.
    given = make_patient(marketing_consent=True)
    legacy(given, channel="marketing", accepts=True, at=t1, source="staff:anna", staff=anna, method="signed-form",
           note="at the desk")
    # Consent set without any event (by hand, or an import before events): the columns are the word.
    unrecorded = make_patient(accepts_sms=False, marketing_consent=True)
    # Events the columns disagree with: the columns are what masspost acted on.
    disagrees = make_patient(accepts_sms=True, marketing_sms=True, marketing_email=False)
    legacy(disagrees, channel="marketing", accepts=False, at=t1)
    legacy(disagrees, channel="sms", accepts=False, at=t2, source="sms-stop")
    # Marketing given, then withdrawn: the latest legacy event is the consent on both channels.
    withdrawn = make_patient(marketing_consent=False)
    legacy(withdrawn, channel="marketing", accepts=True, at=t1)
    legacy(withdrawn, channel="marketing", accepts=False, at=t2, source="unsubscribe")
    untouched = make_patient(marketing_consent=False)

    MIGRATION.marketing_split(apps, SCHEMA_EDITOR)
    MIGRATION.columns_to_ledger(apps, SCHEMA_EDITOR)
    MIGRATION.trigger_create(apps, SCHEMA_EDITOR)

    def events(p: Patient) -> list[tuple[Any, ...]]:
        return list(ConsentEvent.objects.filter(patient=p).order_by("at", "id").values_list(
            "channel", "purpose", "accepts", "source", "at", "staff_id", "method", "note", "wording"))

    assert events(given) == [("sms", "marketing", True, "staff:anna", t1, anna.id, "signed-form", "at the desk", ""),
                             ("email", "marketing", True, "staff:anna", t1, anna.id, "signed-form", "at the desk",
                              "")]
    migrated = [e for p in (unrecorded, disagrees) for e in events(p) if e[3] == "migrated"]
    assert {e[8] for e in migrated} == {MIGRATION.WORDING}
    assert len({e[4] for e in migrated}) == 1 and migrated[0][4] > t2  # one moment: the migration's, the latest
    assert [e[:4] for e in events(unrecorded)] == [("sms", "service", False, "migrated"),
                                                  ("sms", "marketing", True, "migrated"),
                                                  ("email", "marketing", True, "migrated")]
    assert [e[:4] for e in events(disagrees)] == [("sms", "marketing", False, "import"),
                                                 ("email", "marketing", False, "import"),
                                                 ("sms", "service", False, "sms-stop"),
                                                 ("sms", "service", True, "migrated"),
                                                 ("sms", "marketing", True, "migrated")]
    assert [e[:4] for e in events(withdrawn)] == [("sms", "marketing", True, "import"),
                                                 ("email", "marketing", True, "import"),
                                                 ("sms", "marketing", False, "unsubscribe"),
                                                 ("email", "marketing", False, "unsubscribe")]
    assert events(untouched) == []
    for p in (given, unrecorded, disagrees, withdrawn, untouched):
        assert columns(p.id) == ledger_state(p.id), p.external_id
    assert not ConsentEvent.objects.exclude(channel__in=CHANNELS).exists()
    count = ConsentEvent.objects.count()
    MIGRATION.columns_to_ledger(apps, SCHEMA_EDITOR)  # once the columns are the fold, nothing more to write
    assert ConsentEvent.objects.count() == count
    with pytest.raises(IntegrityError, match="append-only"):  # the trigger is back
        raw_update("accepts = NOT accepts", ConsentEvent.objects.values_list("id", flat=True).first() or 0)

    # Backwards (the trigger dropped first, as the migration's reverse order does): the events as the code before
    # the ledger reads them — one "marketing" consent, no "migrated" events.
    MIGRATION.trigger_drop(apps, SCHEMA_EDITOR)
    MIGRATION.migrated_drop(apps, SCHEMA_EDITOR)
    MIGRATION.marketing_join(apps, SCHEMA_EDITOR)
    assert [e[:4] for e in events(withdrawn)] == [("marketing", "marketing", True, "import"),
                                                 ("marketing", "marketing", False, "unsubscribe")]
    assert [e[:4] for e in events(disagrees)] == [("marketing", "marketing", False, "import"),
                                                 ("sms", "service", False, "sms-stop")]
    assert events(unrecorded) == []
    MIGRATION.trigger_create(apps, SCHEMA_EDITOR)


def test_the_migrations_trigger_is_in_the_database() -> None:
    """Every test database is migrated through 0007: the trigger that the tests above rely on is its."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'clinic_consentevent'::regclass "
                           "AND NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                           "AND tbl_name = 'clinic_consentevent'")
        assert [name for (name,) in cursor.fetchall()] == [MIGRATION.TRIGGER]
