# The outbox's patient foreign key loses its own index, and the unique (campaign, patient, channel) index becomes
# (patient, campaign, channel), which serves the patient's lookups (docs/benchmarks.md, "Delivery").
#
# On PostgreSQL the outbox may hold millions of rows while workers are sending: the new unique index is built
# CONCURRENTLY, takes over the constraint's name with `UNIQUE USING INDEX` (a catalogue change, no scan), and the
# old patient index is dropped CONCURRENTLY; the foreign key itself is left alone. Only the swap takes the table's
# lock, for a moment. Django's own operations would drop and re-add the foreign key and build the index inside one
# transaction, locking the table for the whole build. Elsewhere (SQLite: one worker, rebuilt tables) Django's
# operations run as generated.

import django.db.models.deletion
from django.db import migrations, models, transaction
from django.db.migrations.operations.base import Operation

TABLE = "delivery_outboxmessage"
NAME = "outbox_one_per_patient_channel"

NEW_CONSTRAINT = models.UniqueConstraint(fields=("patient", "campaign", "channel"), name=NAME)
STATE_OPERATIONS = [
    migrations.RemoveConstraint(model_name="outboxmessage", name=NAME),
    migrations.AlterField(
        model_name="outboxmessage",
        name="patient",
        field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                to="clinic.patient"),
    ),
    migrations.AddConstraint(model_name="outboxmessage", constraint=NEW_CONSTRAINT),
]


class ExceptOnPostgreSQL(Operation):
    """Runs `operations` against the database, one state after the other, in one transaction (the migration is
    not atomic, for PostgreSQL's sake), on every database but PostgreSQL."""

    reduces_to_sql = False
    reversible = True

    def __init__(self, operations):
        self.operations = operations

    def state_forwards(self, app_label, state):
        pass  # the state changes in SeparateDatabaseAndState's state_operations

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return
        state = from_state
        with transaction.atomic(using=schema_editor.connection.alias):
            for operation in self.operations:
                after = state.clone()
                operation.state_forwards(app_label, after)
                operation.database_forwards(app_label, schema_editor, state, after)
                state = after

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return
        states = [to_state]
        for operation in self.operations[:-1]:
            after = states[-1].clone()
            operation.state_forwards(app_label, after)
            states.append(after)
        state = from_state
        with transaction.atomic(using=schema_editor.connection.alias):
            for operation, before in zip(reversed(self.operations), reversed(states), strict=True):
                operation.database_backwards(app_label, schema_editor, state, before)
                state = before

    def describe(self):
        return "Django's operations, except on PostgreSQL"


def _postgresql(schema_editor, statements):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _patient_index_name(schema_editor):
    # The name Django gives a foreign key's index (what 0001 created, and what a migration back re-creates).
    return schema_editor._create_index_name(TABLE, ["patient_id"], suffix="")


def forwards(apps, schema_editor):
    _postgresql(schema_editor, [
        f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}_new",  # left by an interrupted earlier attempt: maybe invalid
        f"CREATE UNIQUE INDEX CONCURRENTLY {NAME}_new ON {TABLE} (patient_id, campaign_id, channel)",
        f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}, ADD CONSTRAINT {NAME} UNIQUE USING INDEX {NAME}_new",
        f"DROP INDEX CONCURRENTLY IF EXISTS {_patient_index_name(schema_editor)}",
    ])


def backwards(apps, schema_editor):
    _postgresql(schema_editor, [
        f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}_old",
        f"CREATE UNIQUE INDEX CONCURRENTLY {NAME}_old ON {TABLE} (campaign_id, patient_id, channel)",
        f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}, ADD CONSTRAINT {NAME} UNIQUE USING INDEX {NAME}_old",
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {_patient_index_name(schema_editor)} ON {TABLE} (patient_id)",
    ])


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("campaigns", "0001_initial"),
        ("clinic", "0001_initial"),
        ("delivery", "0002_worker_turn"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=STATE_OPERATIONS,
            database_operations=[ExceptOnPostgreSQL(STATE_OPERATIONS), migrations.RunPython(forwards, backwards)],
        ),
    ]
