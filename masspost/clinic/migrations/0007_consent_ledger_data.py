"""The consent ledger from what masspost held before it (issue 20; docs/consent.md, "The ledger"), then append-only.

1. A legacy event of the channel "marketing" was the one marketing consent for every channel: it becomes the
   marketing consent on SMS, with a copy of it (same patient, time, source, staff, method and note) on e-mail —
   as migration 0006 copied the marketing column to both channels.
2. A patient whose consent columns differ from the fold of their events (consent set by hand, by an import before
   issue 9, or by the test data) gets one event per differing (channel, purpose) with source "migrated", so that
   from here on the columns are the ledger's fold for every patient. In SQL: a clinic may have 200 000 patients.
3. The database refuses an UPDATE of a consent event (a trigger; masspost's ORM refuses update and delete too).
   DELETE stays possible: deleting a patient (GDPR erasure, the demo's reset) takes their events with them.

Note for later migrations: on SQLite, Django rebuilds a table for most ALTERs, which drops its triggers: one that
alters clinic_consentevent must create the trigger again (`trigger_create`)."""

from typing import Any

from django.db import migrations
from django.db.models import Max
from django.utils import timezone

TABLE = "clinic_consentevent"
TRIGGER = "clinic_consentevent_append_only"
MIGRATED = "migrated"  # clinic.models.MIGRATED_SOURCE
WORDING = "consent as masspost held it before the ledger (no record of how it was given)"
# The consent before any event (masspost.consent.ConsentState() at the time of this migration, kept here on purpose:
# a migration must not change its meaning when that module does): (channel, purpose, column, default).
COLUMNS = (("sms", "service", "accepts_sms", True), ("email", "service", "accepts_email", True),
           ("sms", "marketing", "marketing_sms", False), ("email", "marketing", "marketing_email", False))
# Every column of an event, as this migration knows them.
EVENT_COLUMNS = ("patient_id", "channel", "purpose", "accepts", "source", "at", "staff_id", "method", "note",
                 "wording", "campaign_id")
REFUSED = "consent events are append-only: an UPDATE of clinic_consentevent is refused"


def marketing_split(apps: Any, schema_editor: Any) -> None:
    """Step 1: each legacy "marketing" event → marketing on SMS, plus its copy on e-mail (a later id, the same
    time: of one moment, the ledger keeps the order rows were written in)."""
    q = schema_editor.connection.ops.quote_name
    copied = ", ".join(q(c) for c in EVENT_COLUMNS if c not in ("channel", "purpose"))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(TABLE)} ({copied}, {q('channel')}, {q('purpose')}) "
            f"SELECT {copied}, 'email', 'marketing' FROM {q(TABLE)} WHERE {q('channel')} = 'marketing' "
            f"ORDER BY {q('id')}")
        cursor.execute(f"UPDATE {q(TABLE)} SET {q('channel')} = 'sms', {q('purpose')} = 'marketing' "
                       f"WHERE {q('channel')} = 'marketing'")


def marketing_join(apps: Any, schema_editor: Any) -> None:
    """Step 1 backwards, for the code before the ledger (one marketing consent, channel "marketing"): a marketing
    event on SMS becomes a "marketing" event again and one on e-mail is deleted. Lossy on purpose — the old schema
    cannot say "offers by e-mail only" —, and the columns follow 0006's reverse (marketing_sms is kept)."""
    q = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {q(TABLE)} WHERE {q('purpose')} = 'marketing' AND {q('channel')} = 'email'")
        cursor.execute(f"UPDATE {q(TABLE)} SET {q('channel')} = 'marketing' WHERE {q('purpose')} = 'marketing'")


def migrated_drop(apps: Any, schema_editor: Any) -> None:
    """Step 2 backwards: the "migrated" events go (the columns were there before them)."""
    q = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {q(TABLE)} WHERE {q('source')} = %s", [MIGRATED])


def columns_to_ledger(apps: Any, schema_editor: Any) -> None:
    """Step 2: a "migrated" event for each consent column that differs from the latest event of its (channel,
    purpose), or from the default where there is none. Its time is now — or the latest event's, should a clock
    have put one in the future — so it is each patient's latest word."""
    connection = schema_editor.connection
    q = connection.ops.quote_name
    events = apps.get_model("clinic", "ConsentEvent")._base_manager.using(connection.alias)
    latest = events.aggregate(latest=Max("at"))["latest"]
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(max(now, latest) if latest is not None else now)
    e, p = q(TABLE), q("clinic_patient")
    with connection.cursor() as cursor:
        for channel, purpose, column, default in COLUMNS:
            last = (f"SELECT ev.{q('accepts')} FROM {e} ev WHERE ev.{q('patient_id')} = pt.{q('id')} "
                    f"AND ev.{q('channel')} = %s AND ev.{q('purpose')} = %s "
                    f"ORDER BY ev.{q('at')} DESC, ev.{q('id')} DESC LIMIT 1")
            cursor.execute(
                f"INSERT INTO {e} ({', '.join(q(c) for c in EVENT_COLUMNS)}) "
                f"SELECT pt.{q('id')}, %s, %s, pt.{q(column)}, %s, %s, NULL, '', '', %s, NULL FROM {p} pt "
                f"WHERE pt.{q(column)} <> COALESCE(({last}), %s) ORDER BY pt.{q('id')}",
                [channel, purpose, MIGRATED, at, WORDING, channel, purpose, default])


def trigger_create(apps: Any, schema_editor: Any) -> None:
    """The database refuses an UPDATE of an event — all but one: a deleted staff user's events lose the link to
    them (`staff` is on_delete=SET_NULL; the source keeps the name as it was), and nothing else changes."""
    connection = schema_editor.connection
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"""
                CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $body$
                BEGIN
                    IF OLD.staff_id IS NOT NULL AND NEW.staff_id IS NULL
                       AND to_jsonb(NEW) - 'staff_id' = to_jsonb(OLD) - 'staff_id' THEN
                        RETURN NEW;
                    END IF;
                    RAISE EXCEPTION '{REFUSED}' USING ERRCODE = 'restrict_violation';
                END
                $body$""")
            cursor.execute(f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON {q(TABLE)} "
                           f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()")
        elif connection.vendor == "sqlite":
            # Every column as the table has it now (SQLite has no row comparison that survives a new column).
            names = [c.name for c in connection.introspection.get_table_description(cursor, TABLE)]
            same = " AND ".join(f"NEW.{q(n)} IS OLD.{q(n)}" for n in names if n != "staff_id")
            cursor.execute(
                f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON {q(TABLE)} FOR EACH ROW "
                f"WHEN NOT (OLD.{q('staff_id')} IS NOT NULL AND NEW.{q('staff_id')} IS NULL AND {same}) "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END")
        else:
            raise NotImplementedError(f"no append-only trigger for {connection.vendor}")


def trigger_drop(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}" + (
            f" ON {connection.ops.quote_name(TABLE)}" if connection.vendor == "postgresql" else ""))
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")


class Migration(migrations.Migration):
    dependencies = [("clinic", "0006_consent_ledger")]

    # Backwards (the trigger goes first): the "migrated" events are deleted and marketing is one consent again, as
    # the code before the ledger reads it (lossy: an e-mail-only marketing change is dropped).
    operations = [
        migrations.RunPython(marketing_split, marketing_join),
        migrations.RunPython(columns_to_ledger, migrated_drop),
        migrations.RunPython(trigger_create, trigger_drop),
    ]
