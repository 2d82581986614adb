"""The outbox's index migration (delivery 0003) both ways, with rows in the table: on PostgreSQL it builds and
drops indexes CONCURRENTLY outside a transaction, elsewhere Django's operations run in one. The provider webhooks'
migration (0006) both ways: a receipt stored before it reads as one without an error or an opt-out."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.delivery.models import DeliveryReceipt, OutboxMessage
from tests.conftest import campaign

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = OutboxMessage._meta.db_table
RECEIPTS = DeliveryReceipt._meta.db_table


def indexes() -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """(unique column lists but the primary key, plain index column lists) of the outbox."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TABLE)
    unique = {tuple(c["columns"]) for c in found.values() if c["unique"] and not c["primary_key"]}
    plain = {tuple(c["columns"]) for c in found.values() if c["index"] and not c["unique"]}
    return unique, plain


def duplicate_refused(row_id: int) -> bool:
    """Whether a copy of outbox row `row_id` is refused as a second (patient, campaign, channel). In SQL over the
    columns the table has now: at an earlier migration it lacks columns the model has since gained."""
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, TABLE) if c.name != "id"]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {connection.ops.quote_name(TABLE)} ({names}) "
                           f"SELECT {names} FROM {connection.ops.quote_name(TABLE)} WHERE id = %s", [row_id])
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(TABLE)} WHERE id <> %s AND id = "
                           f"(SELECT MAX(id) FROM {connection.ops.quote_name(TABLE)})", [row_id])
    except IntegrityError:
        return True
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
        assert duplicate_refused(rows[0][0])
    finally:
        call_command("migrate", "delivery", verbosity=0)

    unique, plain = indexes()
    assert unique == {("patient_id", "campaign_id", "channel")}
    assert ("patient_id",) not in plain
    assert sorted(OutboxMessage.objects.values_list("id", "patient_id", "campaign_id", "channel")) == rows
    assert duplicate_refused(rows[0][0])


def receipt_columns() -> set[str]:
    with connection.cursor() as cursor:
        return {column.name for column in connection.introspection.get_table_description(cursor, RECEIPTS)}


def test_the_provider_webhook_migration_runs_both_ways_and_an_older_receipt_has_no_opt_out() -> None:
    DeliveryReceipt.objects.create(remote_id="SM1", status="undelivered", stat="UNDELIV", error="twilio 21610: x",
                                   opt_out=True)
    try:
        call_command("migrate", "delivery", "0005", verbosity=0)
        assert {"error", "opt_out"}.isdisjoint(receipt_columns())
        with connection.cursor() as cursor:  # a receipt as the release before stores it
            cursor.execute(f"INSERT INTO {connection.ops.quote_name(RECEIPTS)} (remote_id, status, stat, received_at) "
                           "VALUES (%s, %s, %s, CURRENT_TIMESTAMP)", ["SM2", "undelivered", "UNDELIV"])
    finally:
        call_command("migrate", "delivery", verbosity=0)

    assert {"error", "opt_out"} <= receipt_columns()
    assert sorted(DeliveryReceipt.objects.values_list("remote_id", "error", "opt_out")) == [
        ("SM1", "", False), ("SM2", "", False)]
    DeliveryReceipt.objects.create(remote_id="SM3", status="undelivered", stat="UNDELIV")
    assert DeliveryReceipt.objects.get(remote_id="SM3").opt_out is False  # the database's default
