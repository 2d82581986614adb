"""E-mail addresses already stored with letters other than a–z before the "@" become unusable, as an import now
makes them (clinic.contact.normalize_email): the SMTP gateway sends without SMTPUTF8 and refuses them, so such a
patient must be "invalid address" at the preview, not a message failed at the worker until a re-import."""

from typing import Any

from django.db import migrations

BATCH = 2_000
INVALID = 2  # clinic.models.AddressStatus.INVALID
# A candidate: a character outside ASCII somewhere before an "@" (PostgreSQL's `~`; on SQLite Django's REGEXP,
# Python's re). Only candidates are read; the rule below decides.
CANDIDATE = r"[^\x01-\x7f][^@]*@"


def _unusable(address: str) -> bool:
    # The rule of clinic.contact.normalize_email at the time of this migration, kept here on purpose: a migration
    # must not change its meaning when that module does. Anything but ASCII before the last "@".
    return not address.rpartition("@")[0].isascii()


def forwards(apps: Any, schema_editor: Any) -> None:
    patients = apps.get_model("clinic", "Patient")._base_manager.using(schema_editor.connection.alias)
    candidates = patients.filter(email_normalized__regex=CANDIDATE).order_by("id")
    last = 0
    while True:
        rows = list(candidates.filter(id__gt=last).values_list("id", "email_normalized")[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        bad = [pk for pk, address in rows if _unusable(address)]
        if bad:
            patients.filter(id__in=bad).update(email_status=INVALID, email_normalized="")


class Migration(migrations.Migration):
    dependencies = [("clinic", "0003_consent_staff")]

    # Not reversible in meaning (the normalised address is gone; the raw one is kept in `email`): backwards does
    # nothing, and a re-import restores whatever the rule then allows.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
