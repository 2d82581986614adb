"""What comes back from the SMS network: delivery receipts and replies (docs/delivery.md, "Receipts and replies").

Both arrive on a gateway's reader thread (SMPP deliver_sm) and are written at once, each statement committing on
its own: a receipt is stored before it is applied, and a send's result is recorded before stored receipts are
looked up (claims.outbox_record), so whichever comes first, the other finds it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

from masspost.clinic.models import ConsentEvent, Patient
from masspost.delivery.models import DeliveryReceipt, MessageStatus, OutboxMessage, ReceiptStatus

log = logging.getLogger("masspost.delivery")

# Final receipt states; ENROUTE, ACCEPTD and UNKNOWN are on the way and change nothing.
RECEIPT_STATES = {"DELIVRD": ReceiptStatus.DELIVERED, "UNDELIV": ReceiptStatus.UNDELIVERED,
                  "EXPIRED": ReceiptStatus.UNDELIVERED, "REJECTD": ReceiptStatus.UNDELIVERED,
                  "DELETED": ReceiptStatus.UNDELIVERED}
STOP_WORDS = frozenset({"stop", "stopp", "lopeta", "lõpeta", "loobu", "стоп", "отписаться"})
_NOT_LETTERS = re.compile(r"[\W_]+")


def receipt_record(remote_id: str, stat: str, raw: str = "") -> bool:
    """One receipt: move its message to delivered / undelivered; True when a message was moved."""
    return receipt_record_many([(remote_id, stat, raw)]) > 0


def receipt_record_many(receipts: Sequence[tuple[str, str, str]]) -> int:
    """A burst of receipts (remote id, stat, raw text); returns how many messages moved.

    Most receipts find their message already `sent`: one UPDATE per final state moves them and nothing is
    stored. A receipt that finds nothing — its message not recorded yet, or a later part of a multipart SMS — is
    stored first and then tried again. Each statement commits on its own, in that order, so the worker, which
    records `sent` and then looks for stored receipts, and this cannot miss each other."""
    final = [(remote_id, RECEIPT_STATES[stat.upper()], stat.upper()[:10]) for remote_id, stat, _raw in receipts
             if remote_id and stat.upper() in RECEIPT_STATES]
    matched: set[str] = set()
    for status in {s for _, s, _ in final}:
        matched |= move_sent("remote_id", [r for r, s, _ in final if s == status], status)
    unmatched = [(r, s, stat) for r, s, stat in final if r not in matched]
    if unmatched:
        DeliveryReceipt.objects.bulk_create([DeliveryReceipt(remote_id=r, status=s, stat=stat)
                                             for r, s, stat in unmatched])
        for status in {s for _, s, _ in unmatched}:
            matched |= move_sent("remote_id", [r for r, s, _ in unmatched if s == status], status)
    return len(matched)


def move_sent(column: str, keys: Sequence[Any], status: str) -> set[Any]:
    """Move `sent` rows whose `column` ("id" or "remote_id") is in `keys` to a receipt's status; returns the keys
    moved. The worker and the receipt hooks (other threads, other workers) both move rows this way, many at once:
    on PostgreSQL the rows are locked in id order first, so two such statements cannot deadlock. SQLite has one
    writer at a time."""
    if not keys:
        return set()
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    lock = " ORDER BY id FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s WHERE id IN (SELECT id FROM {table} WHERE {column} IN "
            f"({', '.join(['%s'] * len(keys))}) AND status = %s{lock}) RETURNING {column}",
            [status, *keys, MessageStatus.SENT.value])
        return {row[0] for row in cursor.fetchall()}


def receipt_apply_recent(*, since: dt.datetime) -> int:
    """Stored receipts received since `since` applied to rows still `sent`: the sweep behind the hand-shake above,
    for a worker that died between recording a group and the statement after, which would have applied them."""
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    receipts = connection.ops.quote_name(DeliveryReceipt._meta.db_table)
    lock = " ORDER BY id FOR UPDATE" if connection.vendor == "postgresql" else ""
    stamp = connection.ops.adapt_datetimefield_value(since)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = r.status FROM (SELECT remote_id, status FROM {receipts} WHERE id IN "
            f"(SELECT MAX(id) FROM {receipts} WHERE received_at >= %s GROUP BY remote_id)) AS r "
            f"WHERE {table}.remote_id = r.remote_id AND {table}.id IN (SELECT id FROM {table} WHERE remote_id IN "
            # `remote_id <> ''` lets both databases use the partial index on remote_id instead of a full scan.
            f"(SELECT remote_id FROM {receipts} WHERE received_at >= %s) AND remote_id <> '' AND status = %s{lock})",
            [stamp, stamp, MessageStatus.SENT.value])
        return int(cursor.rowcount)


def receipt_prune(*, before: dt.datetime, limit: int = 10_000) -> int:
    """Delete up to `limit` stored receipts received before `before`, oldest first; returns how many. A stored
    receipt matters for minutes (until its message's result is recorded, or the sweep above); the rest — later
    parts of multipart SMS, receipts for rows that were never recorded — would pile up forever. At most `limit`
    in one statement, so that no sweep holds a long transaction; on PostgreSQL rows another worker is deleting
    are skipped, not waited for (two workers pruning at once can neither block nor deadlock each other)."""
    stamp = connection.ops.adapt_datetimefield_value(before)
    receipts = connection.ops.quote_name(DeliveryReceipt._meta.db_table)
    skip = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {receipts} WHERE id IN (SELECT id FROM {receipts} WHERE received_at < %s "
            f"ORDER BY received_at LIMIT %s{skip})", [stamp, limit])
        return int(cursor.rowcount)


def is_stop_word(text: str) -> bool:
    """Case-, space- and punctuation-insensitive: "Stop", " STOP! ", "lõ peta" all count."""
    return _NOT_LETTERS.sub("", text).casefold() in STOP_WORDS


def inbound_record(source: str, text: str) -> int:
    """An incoming SMS: a stop word turns SMS off for every patient with that number. Returns how many."""
    if not is_stop_word(text):
        return 0
    number = "+" + source.lstrip("+")
    with transaction.atomic():
        patients = list(Patient.objects.select_for_update().filter(phone_e164=number, accepts_sms=True))
        for patient in patients:
            ConsentEvent.objects.create(patient=patient, channel="sms", accepts=False, source="sms-stop")
        Patient.objects.filter(id__in=[p.id for p in patients]).update(accepts_sms=False)
    log.info("SMS stop word from a patient's number: %d patient(s) opted out of SMS (%s)", len(patients),
             ", ".join(p.external_id for p in patients))
    return len(patients)
