# (campaign, id): a campaign's messages in the order written, a page at a time, for the REST API's cursor
# (`GET /campaigns/{id}/messages?after=…`) without reading and sorting the whole campaign.
#
# On PostgreSQL the outbox may hold millions of rows while workers send: the index is built CONCURRENTLY (no lock
# on the table while it is built), after dropping one an interrupted attempt may have left invalid.

from django.db import migrations, models

TABLE = "delivery_outboxmessage"
NAME = "outbox_campaign_id"


def forwards(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {concurrently}IF EXISTS {NAME}")
        cursor.execute(f"CREATE INDEX {concurrently}{NAME} ON {TABLE} (campaign_id, id)")


def backwards(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {concurrently}IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("delivery", "0004_inbound_message")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="outboxmessage",
                                                  index=models.Index(fields=["campaign", "id"], name=NAME))],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
