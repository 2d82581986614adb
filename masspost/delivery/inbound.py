"""What comes back from the SMS network: delivery receipts and replies (docs/delivery.md, "Receipts", "Stop
words").

Both arrive on a gateway's hook thread (SMPP deliver_sm) or by an HTTP provider's webhook (delivery.webhooks), and
are written at once, each statement committing on its own: a receipt is stored before it is applied, and a send's
result is recorded before stored receipts are looked up (claims.outbox_record), so whichever comes first, the other
finds it. A hook that raises makes the SMSC deliver again (a provider calls its webhook again), so nothing here
raises for what can never be written: a receipt's id is keyed to fit (`models.remote_key`), one receipt the
database refuses is dropped alone, and every reply is stored (`InboundMessage`) whether it matches a patient or not;
a provider's reply once per its message id.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DataError, IntegrityError, connection, transaction

from masspost.clinic.models import SMS_STOP_SOURCE, Clinic, Patient
from masspost.delivery.incoming_number import TON_UNKNOWN, incoming_numbers
from masspost.delivery.models import (
    DeliveryReceipt,
    InboundKind,
    InboundMessage,
    MessageStatus,
    OutboxMessage,
    ReceiptStatus,
    remote_key,
)
from masspost.delivery.suppress import opt_out_counted

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


def receipt_record_many(receipts: Sequence[tuple[str, str, str]], *, errors: Mapping[str, str] | None = None,
                        opt_outs: Collection[str] = ()) -> int:
    """A burst of receipts (remote id, stat, raw text); returns how many messages moved. `errors`: remote id → the
    provider's error code and text ("twilio 30003: Unreachable destination handset"), kept in last_error of a
    message a receipt makes undelivered — also when the receipt is stored and applied later. `opt_outs`: remote
    ids whose undelivered receipt says the recipient opted out with the provider (Twilio 21610), kept with a stored
    receipt so that the opt-out is recorded when it is applied (claims.stored_receipts_apply); the caller records
    it for the messages moved at once. The raw text is never kept (an SMPP receipt's `text:` quotes the message).

    Most receipts find their message already `sent`: one UPDATE per final state moves them and nothing is
    stored. A receipt that finds nothing — its message not recorded yet, or a later part of a multipart SMS — is
    stored first and then tried again. Each statement commits on its own, in that order, so the worker, which
    records `sent` and then looks for stored receipts, and this cannot miss each other. Ids are keyed as the
    columns keep them (`remote_key`), so an id that does not fit still finds its message; a receipt the database
    will not store anyway is dropped alone (`_store`), never the burst. A receipt that comes again (a provider
    retrying its webhook) finds its message past `sent` and is not stored again: it changes nothing."""
    given = {remote_key(remote_id): error for remote_id, error in (errors or {}).items() if error}
    opted_out = {remote_key(remote_id) for remote_id in opt_outs}
    final: list[_Final] = []
    for remote_id, stat, _raw in receipts:
        if remote_id and stat.upper() in RECEIPT_STATES:
            key, status = remote_key(remote_id), RECEIPT_STATES[stat.upper()]
            undelivered = status == ReceiptStatus.UNDELIVERED
            final.append((key, status, stat.upper()[:10], given.get(key, "") if undelivered else "",
                          undelivered and key in opted_out))
    matched = _move(final)
    unmatched = [receipt for receipt in final if receipt[0] not in matched]
    if unmatched:
        settled = _already_final([key for key, *_rest in unmatched])
        unmatched = _store([receipt for receipt in unmatched if receipt[0] not in settled])
        matched |= _move(unmatched)
    return len(matched)


# remote key, status (ReceiptStatus), stat, the provider's error ("" none), whether it says the recipient opted out
_Final = tuple[str, str, str, str, bool]


def _move(receipts: Sequence[_Final]) -> set[str]:
    matched: set[str] = set()
    for status in {s for _, s, _, _, _ in receipts}:
        matched |= move_sent("remote_id", [r for r, s, _, _, _ in receipts if s == status], status,
                             errors={r: e for r, s, _, e, _ in receipts if s == status and e})
    return matched


def _already_final(keys: list[str]) -> set[str]:
    """Of these remote keys, those whose message a receipt already moved (a receipt that came again): storing it
    would change nothing but the table."""
    return set(OutboxMessage.objects.filter(remote_id__in=keys,
                                            status__in=(MessageStatus.DELIVERED, MessageStatus.UNDELIVERED))
               .values_list("remote_id", flat=True))


def _store(receipts: list[_Final]) -> list[_Final]:
    """Store receipts (remote key, status, stat, error, opt-out) for messages not recorded yet; returns those stored.
    Should the database refuse the burst for its data (not an outage: that raises, and the SMSC delivers the
    burst again), each receipt is tried alone, and one refused alone is logged and dropped: the hook must not
    fail — the SMSC would deliver the same burst again and again — for one receipt that can never be written."""
    if not receipts:
        return []
    try:
        with transaction.atomic():  # on its own, as in autocommit; a savepoint inside a caller's transaction
            DeliveryReceipt.objects.bulk_create([
                DeliveryReceipt(remote_id=r, status=s, stat=stat, error=error.replace("\x00", "\ufffd"),
                                opt_out=opt_out)
                for r, s, stat, error, opt_out in receipts])
        return receipts
    except (DataError, IntegrityError) as exc:
        if len(receipts) == 1:
            log.error("a delivery receipt (%s, id of %d characters) cannot be stored (%s); acknowledged without it",
                      receipts[0][2], len(receipts[0][0]), type(exc).__name__)
            return []
    return [stored for receipt in receipts for stored in _store([receipt])]


def move_sent(column: str, keys: Sequence[Any], status: str, errors: Mapping[Any, str] | None = None) -> set[Any]:
    """Move `sent` rows whose `column` ("id" or "remote_id") is in `keys` to a receipt's status, with the
    provider's error (`errors`: key → error) as last_error; returns the keys moved. The worker and the receipt
    hooks (other threads, other workers) both move rows this way, many at once: on PostgreSQL the rows are locked
    in id order first, so two such statements cannot deadlock. SQLite has one writer at a time."""
    if not keys:
        return set()
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    lock = " ORDER BY id FOR UPDATE" if connection.vendor == "postgresql" else ""
    with_error = [(key, error.replace("\x00", "\ufffd")) for key, error in (errors or {}).items() if error]
    set_error = (f", last_error = CASE {' '.join([f'WHEN {column} = %s THEN %s'] * len(with_error))} "
                 f"ELSE last_error END" if with_error else "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s{set_error} WHERE id IN (SELECT id FROM {table} WHERE {column} IN "
            f"({', '.join(['%s'] * len(keys))}) AND status = %s{lock}) RETURNING {column}",
            [status, *(value for pair in with_error for value in pair), *keys, MessageStatus.SENT.value])
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
            f"UPDATE {table} SET status = r.status, last_error = CASE WHEN r.error <> '' THEN r.error "
            f"ELSE {table}.last_error END FROM (SELECT remote_id, status, error FROM {receipts} WHERE id IN "
            f"(SELECT MAX(id) FROM {receipts} WHERE received_at >= %s GROUP BY remote_id)) AS r "
            f"WHERE {table}.remote_id = r.remote_id AND {table}.id IN (SELECT id FROM {table} WHERE remote_id IN "
            # `remote_id <> ''` lets both databases use the partial index on remote_id instead of a full scan.
            f"(SELECT remote_id FROM {receipts} WHERE received_at >= %s) AND remote_id <> '' AND status = %s{lock})",
            [stamp, stamp, MessageStatus.SENT.value])
        return int(cursor.rowcount)


def receipt_errors_apply(*, since: dt.datetime) -> int:
    """The provider's error of receipts stored since `since` (those that came before their message's result was
    recorded), copied to their messages that the receipt made undelivered without it: the worker's turn applies a
    stored receipt's status in the statement that records the next group, and this, once per turn and in the
    sweep, its error — one statement, not one more per group. Returns how many rows got their error."""
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    receipts = connection.ops.quote_name(DeliveryReceipt._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(since)
    latest = (f"SELECT remote_id, status, error FROM {receipts} WHERE id IN (SELECT MAX(id) FROM {receipts} "
              f"WHERE received_at >= %s GROUP BY remote_id)")
    # Rows locked in id order, as every statement that moves receipts' rows locks them: two workers ending their
    # turns at once cannot deadlock; the second finds the error there and changes nothing.
    lock = " ORDER BY id FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_error = r.error FROM ({latest}) AS r WHERE {table}.remote_id = r.remote_id "
            f"AND r.status = %s AND r.error <> '' "
            # `remote_id <> ''`: the partial index on remote_id, not a scan of the outbox.
            f"AND {table}.id IN (SELECT id FROM {table} WHERE remote_id IN (SELECT remote_id FROM {receipts} "
            f"WHERE received_at >= %s AND error <> '') AND remote_id <> '' AND status = %s AND last_error = ''{lock})",
            [stamp, MessageStatus.UNDELIVERED.value, stamp, MessageStatus.UNDELIVERED.value])
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


@dataclass(frozen=True, kw_only=True, slots=True)
class InboundRecorded:
    message_id: int  # the InboundMessage row
    kind: str  # InboundKind
    patients: int  # patients with that number (0: it matched nobody)
    opted_out: int  # of them, those a stop word turned SMS off for
    suppressed: int = 0  # their queued SMS the stop word suppressed (delivery.suppress)
    repeated: bool = False  # the provider sent it again (same remote id): stored and acted on before, not now


def inbound_record(source: str, text: str, source_ton: int = TON_UNKNOWN, *, remote_id: str = "") -> InboundRecorded:
    """An incoming SMS, from `source` with the SMSC's type of number `source_ton` (an HTTP provider's number, in
    whatever format it gives: TON_UNKNOWN): stored (InboundMessage) whether or not it matches a patient; a stop word
    turns SMS off for every patient whose number it can be (`incoming_numbers`, read in the clinics' countries),
    each with a ledger event (source "sms-stop"), and suppresses their queued SMS (delivery.suppress). One
    transaction: should it fail, the hook raises and the SMSC delivers the message again. `remote_id`, the
    provider's id of the message, makes it idempotent: a provider retries a webhook whose answer it did not get,
    and the message it already stored is answered again, not stored or acted on twice."""
    key = remote_key(remote_id) if remote_id else ""
    countries = sorted(set(Clinic.objects.values_list("country", flat=True)) - {""})
    readings = incoming_numbers(source, ton=source_ton, countries=countries)
    kind = InboundKind.STOP if is_stop_word(text) else InboundKind.OTHER
    try:
        with transaction.atomic():
            earlier = _stored_before(key)
            if earlier is not None:
                return earlier
            patients = Patient.objects.filter(phone_e164__in=readings) if readings else Patient.objects.none()
            found = list(patients.order_by("id").only("id", "external_id", "phone_e164"))
            opted_out: list[Patient] = []
            suppressed = 0
            if kind == InboundKind.STOP:
                # A hard opt-out of SMS (the channel as a whole), with their queued SMS suppressed in this
                # transaction (delivery.suppress): the ledger locks the patients in id order, as a provider's
                # opt-out does (claims), so the same family cannot deadlock.
                changed, suppressed = opt_out_counted(patient_ids=[p.id for p in found], channel="sms",
                                                      purpose="service", source=SMS_STOP_SOURCE)
                now_off = set(changed)
                opted_out = [p for p in found if p.id in now_off]
            numbers = {p.phone_e164 for p in found}
            message = InboundMessage.objects.create(
                source=next((r for r in readings if r in numbers), readings[0] if readings else ""),
                # PostgreSQL refuses NUL in text: a hook failing for it, the SMSC would deliver the message for ever.
                raw_source=source.replace("\x00", "\ufffd"), source_ton=source_ton,
                text=text.replace("\x00", "\ufffd"), kind=kind, patients=len(found), opted_out=len(opted_out),
                remote_id=key)
    except IntegrityError:
        # The same message, stored meanwhile by a retry that came while this one was being written: its
        # transaction won, this one's opt-outs are rolled back with it.
        earlier = _stored_before(key)
        if earlier is None:
            raise
        return earlier
    _log_incoming(message.id, kind, found, opted_out, suppressed)
    return InboundRecorded(message_id=message.id, kind=kind, patients=len(found), opted_out=len(opted_out),
                           suppressed=suppressed)


def _stored_before(key: str) -> InboundRecorded | None:
    """The message with this remote key, if one is stored (a provider's retry): as recorded then, nothing new."""
    if not key:
        return None
    earlier = InboundMessage.objects.filter(remote_id=key).only("id", "kind", "patients").first()
    if earlier is None:
        return None
    log.info("incoming SMS %d: sent again by the provider (stored before; nothing changes)", earlier.id)
    return InboundRecorded(message_id=earlier.id, kind=earlier.kind, patients=earlier.patients, opted_out=0,
                           repeated=True)


def _log_incoming(message_id: int, kind: str, found: list[Patient], opted_out: list[Patient],
                  suppressed: int) -> None:
    # Counts and external ids only: the number and the text stay in the table.
    if kind == InboundKind.STOP and not found:
        log.warning("incoming SMS %d: a stop word that matched no patient (stored; nobody opted out)", message_id)
    elif kind == InboundKind.STOP:
        log.info("incoming SMS %d: a stop word; %d patient(s) with that number, %d opted out of SMS (%s), %d queued "
                 "SMS suppressed", message_id, len(found), len(opted_out),
                 ", ".join(p.external_id for p in opted_out) or "none left", suppressed)
    else:
        log.info("incoming SMS %d: %s (stored)",
                 message_id, f"from {len(found)} patient(s)' number" if found else "matched no patient")
