"""The outbox's index migration (delivery 0003) both ways, with rows in the table: on PostgreSQL it builds and
drops indexes CONCURRENTLY outside a transaction, elsewhere Django's operations run in one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from tests.conftest import campaign

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = OutboxMessage._meta.db_table


def indexes() -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """(unique column lists but the primary key, plain index column lists) of the outbox."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TABLE)
    unique = {tuple(c["columns"]) for c in found.values() if c["unique"] and not c["primary_key"]}
    plain = {tuple(c["columns"]) for c in found.values() if c["index"] and not c["unique"]}
    return unique, plain


def duplicate_refused(row: OutboxMessage) -> bool:
    copy = OutboxMessage(**{f.attname: getattr(row, f.attname) for f in OutboxMessage._meta.concrete_fields
                            if f.attname != "id"})
    try:
        with transaction.atomic():
            copy.save()
    except IntegrityError:
        return True
    copy.delete()
    return False


def test_the_outbox_index_migration_runs_both_ways_keeping_rows_and_uniqueness(make_patient: Any) -> None:
    for _ in range(3):
        make_patient()
    campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator())
    rows = sorted(OutboxMessage.objects.values_list("id", "patient_id", "campaign_id", "channel"))
    assert len(rows) == 3
    assert indexes()[0] == {("patient_id", "campaign_id", "channel")}
    assert ("patient_id",) not in indexes()[1]

    try:
        call_command("migrate", "delivery", "0002", verbosity=0)
        unique, plain = indexes()
        assert unique == {("campaign_id", "patient_id", "channel")}
        assert ("patient_id",) in plain
        assert duplicate_refused(OutboxMessage.objects.order_by("id").first())
    finally:
        call_command("migrate", "delivery", verbosity=0)

    unique, plain = indexes()
    assert unique == {("patient_id", "campaign_id", "channel")}
    assert ("patient_id",) not in plain
    assert sorted(OutboxMessage.objects.values_list("id", "patient_id", "campaign_id", "channel")) == rows
    assert duplicate_refused(OutboxMessage.objects.order_by("id").first())
