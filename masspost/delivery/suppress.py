"""Opt-outs take effect at once (docs/consent.md, "Opt-outs take effect at once"; docs/delivery.md, "Opt-outs").

An opt-out — an unsubscribe link, a stop word, a provider opt-out, staff, an import — cancels the patient's
messages of that channel (and, for a marketing opt-out, only the marketing ones) that are not yet handed off:
status `suppressed`, `last_error` the reason (the event's source kind). A message already handed off (claimed:
`sending`, or further) is as it is.

The net is the worker's claim (delivery.turn): it reads the patient's consent columns in the statement that hands
a row off, and a row they refuse becomes `suppressed` (reason `opted_out`) instead — so no claim after an
opt-out's commit takes a message it refuses, whatever wrote the ledger, whenever the row was written (a send that
committed after the opt-out) or came back to the queue (a retry, a release, resend-unknown). What this module
adds is the reason and the timing: the patient's own opt-outs (a link, a stop word, a provider's) go through
`opt_out`, which suppresses with the event's source in the same transaction, so the campaign's page counts them
at once and says by whose word; the worker's housekeeping, `suppress_withdrawn`, does the same within its period
(delivery.worker, SUPPRESS_EVERY) for the paths that only write the ledger (an import, a staff record that does
not call `outbox_suppress` itself)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from masspost.clinic.ledger import consent_change_many
from masspost.clinic.models import ConsentEvent
from masspost.consent import CHANNELS, FIELDS
from masspost.delivery.models import MessageStatus, OutboxMessage

# How far before `since` suppress_withdrawn still looks: an event's time is taken when it is written, and it is
# seen only once its transaction commits (a staff record a moment later; an import's batch up to its commit).
# Looking at an event twice suppresses nothing the second time.
OVERLAP = timedelta(minutes=5)
_CHUNK = 500  # patient ids per statement: SQLite's bound parameters, and a short lock on PostgreSQL


def source_kind(source: str) -> str:
    """The reason code of a suppression for an event's source: "staff:anna" → "staff", "api:sync" → "api"."""
    return source.split(":", 1)[0]


def refused_sql(row: str, patient: str) -> str:
    """SQL true when the consent columns of `patient` (a clinic_patient row) refuse the outbox row `row` now: its
    channel withdrawn, or a marketing row and the channel's offers withdrawn. The one rule of the claim
    (delivery.turn) and of housekeeping here; claims.refused is it as a Q."""
    return "(" + " OR ".join(
        f"({row}.channel = '{channel}' AND (NOT {patient}.{FIELDS[(channel, 'service')]} OR "
        f"({row}.marketing AND NOT {patient}.{FIELDS[(channel, 'marketing')]})))" for channel in CHANNELS) + ")"


def outbox_suppress(*, patient_ids: Iterable[int], channel: str, purpose: str, reason: str,
                    now: dt.datetime | None = None) -> int:
    """Inside the caller's transaction (the one that appended the opt-out's event): the patients' queued messages
    on `channel` — all of them for purpose "service" (the channel as a whole), the marketing ones for
    "marketing" — become `suppressed` with `reason`. Returns how many."""
    if (channel, purpose) not in FIELDS:
        raise ValueError(f"no consent for channel {channel!r} and purpose {purpose!r}")
    return _suppress(sorted(set(patient_ids)), channel=channel, marketing_only=purpose == "marketing",
                     reason=reason, now=now or timezone.now())


def _suppress(patient_ids: Sequence[int], *, channel: str, marketing_only: bool, reason: str, now: dt.datetime,
              refused_only: bool = False) -> int:
    """One UPDATE per _CHUNK patients, found through the unique (patient, campaign, channel) index. On
    PostgreSQL the rows are locked in id order first, as every statement moving many outbox rows locks them
    (delivery.inbound.move_sent), so two such statements cannot deadlock; a row a claim took meanwhile is
    `sending` when the lock is granted and is left alone (the claim's SKIP LOCKED, our status check after it).
    `refused_only`: only rows the patient's consent columns refuse now (housekeeping: a later re-consent wins)."""
    if not patient_ids:
        return 0
    quote = connection.ops.quote_name
    table = quote(OutboxMessage._meta.db_table)
    lock = " ORDER BY o.id FOR UPDATE OF o" if connection.vendor == "postgresql" else ""
    marketing = " AND o.marketing" if marketing_only else ""
    refused = join = ""
    if refused_only:
        patients = quote(OutboxMessage._meta.get_field("patient").related_model._meta.db_table)
        join = f" JOIN {patients} p ON p.id = o.patient_id"
        refused = f" AND {refused_sql('o', 'p')}"  # the claim's own rule: one definition of "refused"
    stamp = connection.ops.adapt_datetimefield_value(now)
    suppressed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(patient_ids), _CHUNK):
            chunk = patient_ids[start:start + _CHUNK]
            cursor.execute(
                f"UPDATE {table} SET status = %s, last_error = %s, updated_at = %s WHERE id IN "
                f"(SELECT o.id FROM {table} o{join} WHERE o.patient_id IN ({', '.join(['%s'] * len(chunk))}) "
                f"AND o.channel = %s AND o.status = %s{marketing}{refused}{lock}) AND status = %s",
                [MessageStatus.SUPPRESSED.value, reason, stamp, *chunk, channel, MessageStatus.QUEUED.value,
                 MessageStatus.QUEUED.value])
            suppressed += int(cursor.rowcount)
    return suppressed


def opt_out(*, patient_ids: Iterable[int], channel: str, purpose: str, source: str, wording: str = "",
            campaign_id: int | None = None) -> list[int]:
    """The patients withdraw consent for (channel, purpose): a ledger event for each whose consent it changes
    (masspost.clinic.ledger.consent_change_many) and their queued messages suppressed, in one transaction.
    Returns the ids of the patients whose consent changed."""
    return opt_out_counted(patient_ids=patient_ids, channel=channel, purpose=purpose, source=source,
                           wording=wording, campaign_id=campaign_id)[0]


def opt_out_counted(*, patient_ids: Iterable[int], channel: str, purpose: str, source: str, wording: str = "",
                    campaign_id: int | None = None) -> tuple[list[int], int]:
    """`opt_out`, also returning how many messages it suppressed. Every given patient's queued messages are
    suppressed, also those whose consent was off already (an import's withdrawal the housekeeping has not seen
    yet): their consent refuses them either way."""
    ids = sorted(set(patient_ids))
    with transaction.atomic():
        changed = consent_change_many(patient_ids=ids, channel=channel, purpose=purpose, accepts=False,
                                      source=source, wording=wording, campaign_id=campaign_id)
        suppressed = outbox_suppress(patient_ids=ids, channel=channel, purpose=purpose, reason=source_kind(source))
    return changed, suppressed


def suppress_withdrawn(*, since: dt.datetime, now: dt.datetime | None = None,
                       seen: dict[int, dt.datetime] | None = None) -> int:
    """Housekeeping, at least every 30 s in each worker: messages still queued for a patient whose consent no
    longer allows them, for the opt-outs recorded since `since` (less OVERLAP) by paths that do not suppress
    themselves (an import, a staff record). Returns how many it suppressed.

    The events only say whom to look at; what is suppressed is what the patient's consent columns refuse when the
    statement runs, so a re-consent recorded after the withdrawal wins. The reason is the source kind of the
    patient's latest withdrawal on the channel. `seen` (event id → its time), kept by the caller from one look to
    the next, skips the events an earlier look handled: the overlap is for events that committed late, and a first
    import's hundred thousand withdrawals are not looked at again every period for OVERLAP.

    Nothing's correctness depends on this look or on `seen`: a row it misses — one written after its look by a
    send that read the consent before the opt-out (PostgreSQL), or queued again later — is still refused by the
    claim (module docstring), only with the reason `opted_out` instead of the event's source. So `seen` may skip an
    event whose patient has rows the earlier look could not see: that costs a precise reason, never a message sent
    against the patient's word."""
    cutoff = since - OVERLAP
    if seen is not None:
        for event_id in [i for i, at in seen.items() if at < cutoff]:
            del seen[event_id]
    events = (ConsentEvent.objects.filter(at__gte=cutoff, accepts=False).order_by("at", "id")
              .values_list("id", "at", "patient_id", "channel", "source"))
    latest: dict[tuple[int, str], str] = {}
    for event_id, at, patient_id, channel, source in events.iterator(chunk_size=5000):
        if seen is not None:
            if event_id in seen:
                continue
            seen[event_id] = at
        latest[(patient_id, channel)] = source_kind(source)
    reasons: dict[tuple[str, str], list[int]] = {}
    for (patient_id, channel), reason in latest.items():
        if (channel, "service") not in FIELDS:  # not a channel of the outbox
            continue
        reasons.setdefault((channel, reason), []).append(patient_id)
    moment = now or timezone.now()
    return sum(_suppress(sorted(ids), channel=channel, marketing_only=False, reason=reason, now=moment,
                         refused_only=True)
               for (channel, reason), ids in sorted(reasons.items()))
