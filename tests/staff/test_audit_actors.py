"""Audit actors are unambiguous (issue 16, point 2): staff by user id, the command line a kind of its own with
its OS user. A clinic admin who names a user "cli" reads nothing of the operator's; only an admin of every clinic
sees the command line's rows. Existing rows migrate: a user's name to their id, "cli" to the command line."""

from __future__ import annotations

import getpass
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from masspost.campaigns.audit import audit_events, audit_record
from masspost.campaigns.models import AuditEvent, Campaign, IdempotentSend
from masspost.clinic.models import Clinic
from masspost.clinic.scope import ActorKind, Scope
from masspost.staff.selectors import staff_scope
from masspost.staff.services import staff_add, staff_change

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"
OPERATOR = Scope.operator()


def scope_of(username: str) -> Scope:
    scope = staff_scope(user=get_user_model().objects.get(username=username))
    assert scope is not None
    return scope


@pytest.fixture
def tallinn_admin(clinic: Clinic, other_clinic: Clinic) -> Scope:
    """Ada administers Tallinn; the operator then made a user Ada manages, and Ada named a user of hers "cli"."""
    staff_add(username="ada", password=PASSWORD, clinics=["TLN"], role="admin", scope=OPERATOR)
    staff_add(username="tartu", password=PASSWORD, clinics=["TRT"], role="admin", scope=OPERATOR)
    ada = scope_of("ada")
    staff_add(username="cli", password=PASSWORD, clinics=["TLN"], role="preparer", scope=ada)
    return ada


def test_a_user_named_cli_does_not_open_the_command_lines_trail(tallinn_admin: Scope) -> None:
    assert AuditEvent.objects.filter(actor_kind=ActorKind.COMMAND_LINE).count() == 2  # the operator's user_adds
    staff_change(username="cli", role="sender", scope=tallinn_admin)
    seen = list(audit_events(scope=tallinn_admin))
    assert [e.action for e in seen] == ["user_change", "user_add"]  # Ada's own; none of the operator's
    assert all(e.actor_kind == ActorKind.USER and e.actor == "ada" for e in seen)
    assert list(audit_events(scope=tallinn_admin, actor_kind=ActorKind.COMMAND_LINE)) == []
    # The filter by the name "cli" is the user cli's rows (none), never the command line's.
    audit_record(action="sign_in", user=get_user_model().objects.get(username="cli"), address="10.0.0.1")
    assert [(e.action, e.actor_kind) for e in audit_events(scope=tallinn_admin, actor="cli")] == [
        ("sign_in", "user")]


def test_only_an_admin_of_every_clinic_sees_the_command_line(tallinn_admin: Scope) -> None:
    staff_add(username="boss", password=PASSWORD, clinics=["TLN", "TRT"], role="admin", scope=OPERATOR)
    events = audit_events(scope=scope_of("boss"), actor_kind=ActorKind.COMMAND_LINE)
    assert [e.detail["user"] for e in events] == ["boss", "tartu", "ada"]
    assert {(e.actor, e.actor_user_id) for e in events} == {(getpass.getuser(), None)}  # the OS user, no user id
    assert audit_events(scope=OPERATOR, actor_kind=ActorKind.COMMAND_LINE).count() == 3


def test_staff_are_recorded_by_user_id_with_their_name_as_it_was(tallinn_admin: Scope) -> None:
    event = AuditEvent.objects.get(action="user_add", detail__user="cli")
    assert (event.actor_kind, event.actor, event.actor_user_id) == (
        "user", "ada", get_user_model().objects.get(username="ada").pk)


def test_a_failed_sign_in_is_a_visitors_tied_to_the_account_named(tallinn_admin: Scope) -> None:
    audit_record(action="sign_in_failed", actor="cli", address="10.0.0.9")
    audit_record(action="sign_in_failed", actor="nobody", address="10.0.0.9")
    cli_user = get_user_model().objects.get(username="cli").pk
    assert list(AuditEvent.objects.filter(action="sign_in_failed").values_list(
        "actor_kind", "actor", "actor_user_id").order_by("id")) == [("visitor", "cli", cli_user),
                                                                   ("visitor", "nobody", None)]
    # Ada sees the attempt on her user's account, not the one under a name that is nobody's.
    assert [e.actor for e in audit_events(scope=tallinn_admin, action="sign_in_failed")] == ["cli"]


def test_a_user_named_cli_and_the_command_line_never_share_an_idempotency_key_or_an_author(
        tallinn_admin: Scope) -> None:
    assert Scope.operator().actor_key == "cli" and scope_of("cli").actor_key.startswith("user:")
    assert scope_of("cli").actor_key != Scope.operator().actor_key
    assert OPERATOR.who.startswith("command line") and scope_of("cli").who == "cli"


def test_existing_rows_migrate_by_name_to_id_and_cli_to_the_command_line(tallinn_admin: Scope) -> None:
    migration = __import__("masspost.campaigns.migrations.0006_audit_actor", fromlist=["forwards"])
    AuditEvent.objects.all().delete()
    users = dict(get_user_model().objects.values_list("username", "id"))
    old = [("cli", "user_add", "", ""), ("cli", "sign_in", "10.0.0.1", ""), ("cli", "export", "", "api:x"),
           ("ada", "campaign_send", "10.0.0.2", ""), ("guess", "sign_in_failed", "10.0.0.3", ""),
           ("ada", "sign_in_failed", "10.0.0.3", ""), ("bench", "demo.generate", "", ""),
           ("gone", "preview", "10.0.0.4", "")]
    for actor, action, address, via in old:  # as 0005 left them: a name, the kind not known yet
        AuditEvent.objects.create(actor=actor, actor_kind="user", action=action, address=address, via=via)
    campaign = Campaign.objects.create(name="c", purpose="service", channel="sms", spec={}, audience={}, token="t",
                                       deadline="2026-12-08T00:00:00Z", created_by="cli")
    by_ada = Campaign.objects.create(name="c", purpose="service", channel="sms", spec={}, audience={}, token="u",
                                     deadline="2026-12-08T00:00:00Z", created_by="ada")
    IdempotentSend.objects.create(actor="ada", key="k", body_digest="d")
    IdempotentSend.objects.create(actor="cli", key="k", body_digest="d")
    IdempotentSend.objects.create(actor="gone", key="k", body_digest="d")
    IdempotentSend.objects.create(actor="g" * 150, key="k", body_digest="d")  # "name:" + it would not fit

    migration.forwards(apps, SimpleNamespace(connection=SimpleNamespace(alias="default")))

    assert list(AuditEvent.objects.order_by("id").values_list("actor_kind", "actor", "actor_user_id")) == [
        ("cli", "", None),  # the command line: its OS user was never recorded
        ("user", "cli", users["cli"]),  # a sign-in is a user's, even under the name cli
        ("user", "cli", users["cli"]),  # so is what came over an API token
        ("user", "ada", users["ada"]),
        ("visitor", "guess", None),
        ("visitor", "ada", users["ada"]),  # an attempt on Ada's account
        ("cli", "bench", None),  # only the command line makes a demo
        ("user", "gone", None),  # a name that is nobody's: visible to an admin of every clinic only
    ]
    campaign.refresh_from_db()
    by_ada.refresh_from_db()
    assert (campaign.created_by, campaign.created_by_user_id) == ("command line", None)
    assert (by_ada.created_by, by_ada.created_by_user_id) == ("ada", users["ada"])
    # A key under a name that is nobody's can never be used again: it is dropped, not rewritten (and a long name
    # with a prefix would not fit the column: a DataError on PostgreSQL).
    assert sorted(IdempotentSend.objects.values_list("actor", flat=True)) == sorted([f"user:{users['ada']}", "cli"])
    assert all(len(a) <= IdempotentSend._meta.get_field("actor").max_length
               for a in IdempotentSend.objects.values_list("actor", flat=True))
    assert list(audit_events(scope=tallinn_admin).values_list("action", flat=True)) == [
        "sign_in_failed", "campaign_send", "export", "sign_in"]

    migration.backwards(apps, SimpleNamespace(connection=SimpleNamespace(alias="default")))  # still reversible
    assert sorted(IdempotentSend.objects.values_list("actor", flat=True)) == ["ada", "cli"]
    campaign.refresh_from_db()
    assert campaign.created_by == "cli" and AuditEvent.objects.filter(actor="cli").count() == 4
