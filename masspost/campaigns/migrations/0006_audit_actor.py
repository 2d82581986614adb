"""Audit actors by kind and user id instead of by name (issue 16, point 2): a member of staff named "cli" is no
longer taken for the command line, nor the command line for them.

Existing rows: the command line wrote the actor "cli" with no address and no API token — those become the
command-line kind (its OS user unknown); the demo's rows too (only the command line makes a demo). A sign-in or
sign-out, a row with an address or an API token, is a member of staff's even under the name "cli". A failed sign-in
is a visitor's, tied to the account of the name typed when there is one. Every other name that is a user's becomes
that user's id. Campaigns: "cli" as author becomes "command line"; the others get their user's id. Idempotency keys
(kept a week) become the user's by id ("user:12"); a key under a name that is no user's could never be used again
(every send is now by a user's id or the command line's), so it is deleted — "name:" and a 150-character name
would not fit the column either."""

from typing import Any

from django.conf import settings
from django.db import migrations, models
from django.db.models import Q

SIGN_IN = ("sign_in", "sign_out", "sign_in_failed")
DEMO = ("demo.generate", "demo.reset")


def forwards(apps: Any, schema_editor: Any) -> None:
    db = schema_editor.connection.alias
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    AuditEvent = apps.get_model("campaigns", "AuditEvent")
    Campaign = apps.get_model("campaigns", "Campaign")
    IdempotentSend = apps.get_model("campaigns", "IdempotentSend")
    users = dict(User._default_manager.using(db).values_list("username", "id"))
    events = AuditEvent._default_manager.using(db)

    command_line = (Q(actor="cli", address="", via="") & ~Q(action__in=SIGN_IN)) | Q(action__in=DEMO)
    events.filter(command_line & Q(actor="cli")).update(actor_kind="cli", actor="")
    events.filter(command_line).update(actor_kind="cli")
    events.filter(action="sign_in_failed").update(actor_kind="visitor")
    names = set(events.exclude(actor_kind="cli").values_list("actor", flat=True).distinct())
    for name in names & users.keys():
        events.filter(actor=name).exclude(actor_kind="cli").update(actor_user_id=users[name])

    campaigns = Campaign._default_manager.using(db)
    campaigns.filter(created_by="cli").update(created_by="command line")
    for name in set(campaigns.values_list("created_by", flat=True).distinct()) & users.keys():
        campaigns.filter(created_by=name).update(created_by_user_id=users[name])

    keys = IdempotentSend._default_manager.using(db)
    keys.exclude(actor="cli").exclude(actor__in=users.keys()).delete()
    for send in keys.exclude(actor="cli"):
        send.actor = f"user:{users[send.actor]}"
        send.save(update_fields=["actor"])


def backwards(apps: Any, schema_editor: Any) -> None:
    db = schema_editor.connection.alias
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    names = {f"user:{pk}": name for name, pk in User._default_manager.using(db).values_list("username", "id")}
    apps.get_model("campaigns", "AuditEvent")._default_manager.using(db).filter(
        actor_kind="cli").update(actor="cli")
    apps.get_model("campaigns", "Campaign")._default_manager.using(db).filter(
        created_by__startswith="command line").update(created_by="cli")
    for send in apps.get_model("campaigns", "IdempotentSend")._default_manager.using(db).all():
        send.actor = names.get(send.actor, send.actor.removeprefix("name:"))
        send.save(update_fields=["actor"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0005_idempotentsend"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="actor_kind",
            field=models.CharField(choices=[("user", "user"), ("cli", "cli"), ("visitor", "visitor")],
                                   default="user", max_length=10),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="actor_user",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=models.deletion.DO_NOTHING, related_name="+",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="campaign",
            name="created_by_user",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=models.deletion.DO_NOTHING, related_name="+",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(forwards, backwards),
    ]
