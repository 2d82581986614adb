"""One round trip per group: record a group's results (with the receipts that came before them), move rows recorded
earlier by the receipts held since, apply receipts stored for the group before, and claim — hand off — the next
group: one statement on PostgreSQL, up to five in a row on SQLite (docs/delivery.md, "How a worker sends").

Why one statement: between two groups a worker must write the results (so nothing is sent twice) and hand the next
group off (so that, if it dies, those rows become `unknown` rather than sent again) before that group goes out.
Each statement is a round trip and a commit; on a small machine where PostgreSQL competes with the worker and the
peer for CPU, those round trips were most of the gap to a bare protocol loop (docs/benchmarks.md, "Delivery").
Data-modifying CTEs run once each, to completion, against one snapshot, and commit together.

The parts touch disjoint rows: the recorded group is `sending` and ours; the moved and stored-receipt rows are
`sent` rows recorded by earlier, committed statements — which is what makes the receipt hand-shake in
delivery.inbound hold — and are locked once, in id order, as the receipt hooks lock them, so two workers cannot
deadlock; the claim takes `queued` rows with SKIP LOCKED.

The claim is also the last word of consent (docs/consent.md, "Opt-outs take effect at once"): a due row whose
patient's consent columns refuse it when the statement runs — the channel withdrawn, or a marketing row and the
channel's offers withdrawn — is not handed off but becomes `suppressed` (`last_error` OPTED_OUT) in the same
UPDATE. That catches what an opt-out could not see: the rows of a send that committed after it (PostgreSQL), and
rows that came back to the queue (a retry, a release, `resend-unknown`). One primary-key probe of the patient per
claimed row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from masspost.clinic.models import Patient
from masspost.delivery.gateways.base import Channel, OutgoingMessage
from masspost.delivery.models import (
    CampaignGate,
    DeliveryReceipt,
    HeldCampaign,
    MessageStatus,
    OptOutLink,
    OutboxMessage,
    SendingWindow,
    remote_key,
)
from masspost.delivery.optout import optout_key, optout_url, unsubscribe_mailto
from masspost.delivery.suppress import refused_sql

# What a gateway needs and what recording a failure needs (attempts, deadline): nothing else is read back. The
# patient's id for a marketing e-mail's mailto key when the send stored no link (list_unsubscribe).
COLUMNS = ("id", "campaign_id", "patient_ref", "channel", "address", "language", "subject", "body", "encoding",
           "parts", "sender", "sender_name", "attempts", "deadline", "patient_id", "clinic_id", "marketing")
# The claim reads back two more after COLUMNS (_claim): the row's status after it (`sending`, or `suppressed` when
# consent refused it), and a marketing e-mail's unsubscribe key as the send stored it (NULL: no link stored).
# `last_error` of a row the claim suppressed: the patient's consent refused it when it was due. The claim does not
# know whose word it was (the ledger knows); the opt-outs that suppress at once record their source instead.
OPTED_OUT = "opted_out"


@dataclass(frozen=True, kw_only=True, slots=True)
class ClaimedMessage:
    """An outbox row as claimed by a worker: `sending`, leased, handed off. Named like OutboxMessage's fields."""

    id: int
    campaign_id: int
    patient_ref: str
    channel: str
    address: str
    language: str
    subject: str
    body: str
    encoding: str
    parts: int
    sender: str
    sender_name: str
    attempts: int
    deadline: dt.datetime
    patient_id: int
    clinic_id: int | None
    marketing: bool
    list_unsubscribe: str = ""  # a marketing e-mail's List-Unsubscribe value (list_unsubscribe(…)); "" none

    def outgoing(self) -> OutgoingMessage:
        """The message as a gateway takes it."""
        return OutgoingMessage(
            message_id=self.id, campaign_id=self.campaign_id, patient_ref=self.patient_ref,
            channel=Channel(self.channel), to=self.address, language=self.language, text=self.body,
            subject=self.subject, encoding=self.encoding, parts=self.parts, sender=self.sender,
            sender_name=self.sender_name, reply_to=self.sender, marketing=self.marketing,
            list_unsubscribe=self.list_unsubscribe, clinic_id=self.clinic_id)


def list_unsubscribe(*, stored_key: str, campaign_id: int, patient_id: int,
                     configured: tuple[str, str] | None = None) -> str:
    """A marketing e-mail's List-Unsubscribe header value (RFC 2369, RFC 8058): `<https://…/u/KEY>` when the send
    stored the message's link (`stored_key`, its OptOutLink; "" none) and links are on (delivery.optout.optout_url),
    and `<mailto:ADDR?subject=unsubscribe%20KEY>` when MASSPOST_UNSUBSCRIBE_MAILTO is usable
    (delivery.optout.unsubscribe_mailto); "" when neither applies. The key is the stored one — the body's link has
    it, whatever the secret key was meanwhile; with no stored link (links were off at the send) no https part,
    which would lead nowhere, and the mailto names the message by the key it would have had (optout_key).
    `configured`: unsubscribe_configured(), read once for a whole claim."""
    link_base, mailto = configured or unsubscribe_configured()
    parts = [f"<{link_base}{stored_key}>"] if link_base and stored_key else []
    if mailto:
        key = stored_key or optout_key(campaign_id=campaign_id, patient_id=patient_id, channel=Channel.EMAIL.value)
        parts.append(f"<mailto:{mailto}?subject=unsubscribe%20{key}>")
    return ", ".join(parts)


def unsubscribe_configured() -> tuple[str, str]:
    """What List-Unsubscribe may carry now: the links' prefix (optout_url of an empty key; "" when links are off)
    and the mailto address ("" none)."""
    return optout_url(""), unsubscribe_mailto()


@dataclass(frozen=True, kw_only=True, slots=True)
class Accepted:
    """A message the gateway accepted: its remote id, and `status` sent — or delivered / undelivered when its
    final receipt came before the result was recorded (held unacknowledged by the gateway until then)."""

    id: int
    remote_id: str
    status: str = MessageStatus.SENT


@dataclass(frozen=True, kw_only=True, slots=True)
class TurnResult:
    claimed: list[ClaimedMessage]  # in id order
    recorded: frozenset[int]  # ids of `accepted` rows that were still this worker's and are now recorded
    moved: frozenset[int]  # ids of `receipts` rows that were `sent` and have taken the receipt's status
    suppressed: frozenset[int] = frozenset()  # ids of due rows the claim found refused by consent: not handed off


def outbox_turn(*, worker_id: str, now: dt.datetime, lease: timedelta, accepted: Sequence[Accepted] = (),
                receipts: Sequence[tuple[int, str]] = (), stored_for: Sequence[int] = (), channel: str = "",
                limit: int = 0) -> TurnResult:
    """Record `accepted` results; move rows recorded `sent` by an earlier statement to the status of the
    receipts the gateway held for them since (`receipts`: row id, delivered | undelivered); apply receipts
    stored for `stored_for` (such rows that the gateway had no receipt for: one may have come on another
    worker's bind); claim up to `limit` due `channel` rows, handed off from the claim (a lease that runs out turns
    them `unknown`). A due row the patient's consent refuses is suppressed instead (the module's docstring); when
    every row a claim read was, the claim runs again — one more statement — so that nothing claimed keeps meaning
    nothing due (the worker calls itself idle on it)."""
    found = _statement(worker_id=worker_id, now=now, lease=lease, accepted=accepted, receipts=receipts,
                       stored_for=stored_for, channel=channel, limit=limit)
    rows, suppressed = found["claimed"], frozenset[int]()
    while True:
        taken = [row for row in rows if row[len(COLUMNS)] == MessageStatus.SENDING.value]
        refused = frozenset(row[0] for row in rows if row[len(COLUMNS)] != MessageStatus.SENDING.value)
        suppressed |= refused
        if taken or not refused:
            break
        # Each round suppresses what it read, so this ends.
        rows = _statement(worker_id=worker_id, now=now, lease=lease, accepted=(), receipts=(), stored_for=(),
                          channel=channel, limit=limit)["claimed"]
    configured = unsubscribe_configured() if taken else None
    return TurnResult(claimed=sorted((_claimed(row, configured) for row in taken), key=lambda row: row.id),
                      recorded=frozenset(found["recorded"]), moved=frozenset(found["moved"]), suppressed=suppressed)


def _statement(*, worker_id: str, now: dt.datetime, lease: timedelta, accepted: Sequence[Accepted],
               receipts: Sequence[tuple[int, str]], stored_for: Sequence[int], channel: str,
               limit: int) -> dict[str, list[Any]]:
    """outbox_turn's one statement (PostgreSQL; a few in a row on SQLite): the ids recorded and moved, the claimed
    rows as read back (COLUMNS, then the status and the stored unsubscribe key)."""
    postgres = connection.vendor == "postgresql"
    parts: list[_Part] = []
    if limit > 0 and postgres:
        due_sql, due_params = _due(channel, limit, now)
        # MATERIALIZED: the locking SELECT runs once, before the UPDATE that uses it.
        parts.append(("due", f"MATERIALIZED ({due_sql})", due_params))
    sent_ids = sorted({row_id for row_id, _status in receipts} | set(stored_for))
    if sent_ids and postgres:
        # Every `sent` row this statement may change, locked once in id order — as delivery.inbound.move_sent
        # locks — so a receipt hook of another worker moving some of the same rows cannot deadlock with it.
        marks = ", ".join(["%s"] * len(sent_ids))
        parts.append(("locked", f"MATERIALIZED (SELECT id FROM {_TABLE} WHERE id IN ({marks}) AND status = %s "
                                f"ORDER BY id FOR UPDATE)", [*sent_ids, MessageStatus.SENT.value]))
    parts += [part for part in (_record(accepted, worker_id, now), _move(receipts), _apply_stored(stored_for))
              if part is not None]
    if limit > 0:
        parts.append(_claim(*(("SELECT id FROM due", []) if postgres else _due(channel, limit, now)),
                            worker_id, now, lease))
    found: dict[str, list[Any]] = {"claimed": [], "recorded": [], "moved": []}
    with connection.cursor() as cursor:
        if postgres and parts:
            ctes = ", ".join(f"{name} AS {sql}" if sql.startswith("MATERIALIZED") else f"{name} AS ({sql})"
                             for name, sql, _ in parts)
            names = {name for name, _sql, _params in parts}
            ids = [f"(SELECT array_agg(id) FROM {name})" if name in names else "NULL" for name in ("recorded", "moved")]
            claimed = "claimed.*" if "claimed" in names else "NULL"
            source = "(SELECT 1) AS one LEFT JOIN claimed ON TRUE" if "claimed" in names else "(SELECT 1) AS one"
            cursor.execute(f"WITH {ctes} SELECT {', '.join(ids)}, {claimed} FROM {source}",
                           [value for _name, _sql, params in parts for value in params])
            for row in cursor.fetchall():
                found["recorded"], found["moved"] = row[0] or [], row[1] or []
                if row[2] is not None:
                    found["claimed"].append(row[2:])
        else:
            for name, sql, params in parts:
                cursor.execute(sql, params)
                if name in found:
                    rows = cursor.fetchall()
                    found[name] = rows if name == "claimed" else [row[0] for row in rows]
    return found


def outbox_due_exists(*, channel: str, now: dt.datetime) -> bool:
    due_sql, params = _due(channel, 1, now, lock=False)
    with connection.cursor() as cursor:
        cursor.execute(due_sql, params)
        return cursor.fetchone() is not None


_TABLE = OutboxMessage._meta.db_table
_RECEIPTS = DeliveryReceipt._meta.db_table
_HELD = HeldCampaign._meta.db_table
_GATES = CampaignGate._meta.db_table
_WINDOWS = SendingWindow._meta.db_table
_PATIENTS = Patient._meta.db_table
_LINKS = OptOutLink._meta.db_table
_Part = tuple[str, str, list[Any]]  # a CTE name (or the statement's role on SQLite), its SQL, its parameters


def _stamp(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _record(accepted: Sequence[Accepted], worker_id: str, now: dt.datetime) -> _Part | None:
    if not accepted:
        return None
    values = ", ".join(["(%s, %s, %s)"] * len(accepted))
    # UPDATE … FROM (VALUES …): PostgreSQL and SQLite ≥ 3.33 both name the VALUES columns column1, column2, ….
    sql = (f"UPDATE {_TABLE} SET status = v.column2, remote_id = v.column3, sent_at = %s, lease_until = NULL, "
           f"last_error = '', updated_at = %s FROM (VALUES {values}) AS v "
           f"WHERE {_TABLE}.id = v.column1 AND {_TABLE}.status IN (%s, %s) AND {_TABLE}.leased_by = %s "
           f"RETURNING {_TABLE}.id")
    stamp = _stamp(now)
    params: list[Any] = [stamp, stamp]
    for row in accepted:
        params += [row.id, str(row.status), remote_key(row.remote_id)]
    params += [MessageStatus.SENDING.value, MessageStatus.UNKNOWN.value, worker_id]
    return "recorded", sql, params


def _move(receipts: Sequence[tuple[int, str]]) -> _Part | None:
    if not receipts:
        return None
    values = ", ".join(["(%s, %s)"] * len(receipts))
    params: list[Any] = [value for receipt in receipts for value in receipt]
    if connection.vendor == "postgresql":
        where = "IN (SELECT id FROM locked)"  # locked `sent` and in id order
    else:
        where = f"IN (SELECT id FROM {_TABLE} WHERE id IN ({', '.join(['%s'] * len(receipts))}) AND status = %s)"
        params += [*(row_id for row_id, _status in receipts), MessageStatus.SENT.value]
    sql = (f"UPDATE {_TABLE} SET status = v.column2 FROM (VALUES {values}) AS v WHERE {_TABLE}.id = v.column1 "
           f"AND {_TABLE}.id {where} RETURNING {_TABLE}.id")
    return "moved", sql, params


def _apply_stored(message_ids: Sequence[int]) -> _Part | None:
    """Receipts that came before these rows were recorded `sent` and found nothing then (stored by a receipt hook
    of this or another worker): the latest per remote id moves its row."""
    if not message_ids:
        return None
    marks = ", ".join(["%s"] * len(message_ids))
    params: list[Any] = [*message_ids, *message_ids]
    if connection.vendor == "postgresql":
        rows = f"(SELECT id FROM locked WHERE id IN ({marks}))"  # locked `sent` and in id order
    else:
        rows = f"(SELECT id FROM {_TABLE} WHERE id IN ({marks}) AND status = %s)"
        params.append(MessageStatus.SENT.value)
    sql = (f"UPDATE {_TABLE} SET status = r.status FROM (SELECT remote_id, status FROM {_RECEIPTS} WHERE id IN "
           f"(SELECT MAX(id) FROM {_RECEIPTS} WHERE remote_id IN (SELECT remote_id FROM {_TABLE} WHERE id IN "
           f"({marks})) GROUP BY remote_id)) AS r WHERE {_TABLE}.remote_id = r.remote_id AND {_TABLE}.id IN {rows}")
    return "stored", sql, params


def _claim(due_sql: str, due_params: list[Any], worker_id: str, now: dt.datetime, lease: timedelta) -> _Part:
    """The due rows handed off — or, those the patient's consent refuses now, suppressed (the module's
    docstring). `r` pairs each due row with that verdict: one primary-key probe of the patient each."""
    stored = (f"(SELECT l.key FROM {_LINKS} AS l WHERE l.campaign_id = {_TABLE}.campaign_id AND "
              f"l.patient_id = {_TABLE}.patient_id AND l.channel = {_TABLE}.channel)")
    returning = ", ".join([*(f"{_TABLE}.{column}" for column in COLUMNS), f"{_TABLE}.status",
                           # the unique (campaign, patient, channel) index: one probe per claimed marketing e-mail
                           f"CASE WHEN {_TABLE}.marketing AND {_TABLE}.channel = '{Channel.EMAIL.value}' "
                           f"THEN {stored} END AS stored_key"])
    stamp = _stamp(now)
    sql = (f"UPDATE {_TABLE} SET status = CASE WHEN r.refused THEN %s ELSE %s END, "
           f"last_error = CASE WHEN r.refused THEN %s ELSE last_error END, "
           f"lease_until = CASE WHEN r.refused THEN NULL ELSE %s END, "
           f"leased_by = CASE WHEN r.refused THEN leased_by ELSE %s END, "
           f"attempts = CASE WHEN r.refused THEN attempts ELSE attempts + 1 END, "
           f"sent_at = CASE WHEN r.refused THEN sent_at ELSE %s END, updated_at = %s "
           f"FROM (SELECT o.id AS rid, {refused_sql('o', 'p')} AS refused FROM {_TABLE} AS o "
           f"JOIN {_PATIENTS} AS p ON p.id = o.patient_id WHERE o.id IN ({due_sql})) AS r "
           f"WHERE {_TABLE}.id = r.rid RETURNING {returning}")
    return "claimed", sql, [MessageStatus.SUPPRESSED.value, MessageStatus.SENDING.value, OPTED_OUT,
                            _stamp(now + lease), worker_id, stamp, stamp, *due_params]


def _due(channel: str, limit: int, now: dt.datetime, lock: bool = True) -> tuple[str, list[Any]]:
    """The next due rows of a channel, oldest first, none of a paused or gated campaign (delivery.windows) and
    none whose clinic's sending window is closed now; on PostgreSQL locked, skipping rows another worker is
    claiming right now."""
    postgres = connection.vendor == "postgresql"
    locking = " FOR UPDATE SKIP LOCKED" if lock and postgres else ""
    # The paused and gated campaigns are read once (an InitPlan on PostgreSQL) and filter the index scan as it
    # goes; as an anti-join, PostgreSQL sorted every queued row of the channel for each claim of a few.
    stopped = f"SELECT campaign_id FROM {_HELD} UNION ALL SELECT campaign_id FROM {_GATES}"
    held = (f"o.campaign_id <> ALL(ARRAY({stopped}))" if postgres else f"o.campaign_id NOT IN ({stopped})")
    # A row of a clinic goes only inside one of its campaign's intervals for that clinic: one probe of
    # sending_window_lookup per row read (rows held while closed were moved past `now` by outbox_hold_closed).
    window = (f"(o.clinic_id IS NULL OR EXISTS (SELECT 1 FROM {_WINDOWS} AS w WHERE w.campaign_id = o.campaign_id "
              f"AND w.clinic_id = o.clinic_id AND w.opens_at <= %s AND w.closes_at > %s))")
    stamp = _stamp(now)
    sql = (f"SELECT id FROM {_TABLE} AS o WHERE o.status = %s AND o.channel = %s AND o.next_attempt_at <= %s "
           f"AND {held} AND {window} ORDER BY o.next_attempt_at, o.id LIMIT %s{locking}")
    return sql, [MessageStatus.QUEUED.value, channel, stamp, stamp, stamp, limit]


def _claimed(row: Sequence[Any], configured: tuple[str, str] | None) -> ClaimedMessage:
    values = dict(zip(COLUMNS, row[:len(COLUMNS)], strict=True))
    stored_key = row[len(COLUMNS) + 1] or ""
    deadline = values["deadline"]
    if isinstance(deadline, str):
        deadline = parse_datetime(deadline)
    if deadline.tzinfo is None:  # SQLite keeps naive UTC, as Django writes it
        deadline = deadline.replace(tzinfo=UTC)
    values["deadline"] = deadline
    values["marketing"] = bool(values["marketing"])  # SQLite: 0 / 1
    if values["marketing"] and values["channel"] == Channel.EMAIL.value:
        values["list_unsubscribe"] = list_unsubscribe(stored_key=stored_key, campaign_id=values["campaign_id"],
                                                      patient_id=values["patient_id"], configured=configured)
    return ClaimedMessage(**values)
