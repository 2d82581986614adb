"""The consent ledger's one writer (docs/consent.md, "The ledger").

Every change of a patient's consent is a ConsentEvent appended here, and the Patient's consent columns
(`accepts_sms`, `accepts_email`, `marketing_sms`, `marketing_email`) are set to the ledger's fold
(`masspost.consent.consent_fold`) in the same transaction. Nothing else writes an event or those columns; nothing
updates or deletes an event (the ORM refuses, and so does the database: clinic migration 0007). Cancelling a
patient's queued messages on an opt-out is the caller's (`delivery.suppress`): clinic does not know the outbox.

The ledger's order is (`at`, `id`). Each patient's events are appended under a lock of their row, and an event's
time is never before that patient's latest: two changes of one patient come back in the order they were made even
when two machines' clocks disagree (web and worker) or a clock was set back — and events of one moment keep the
order they were written in (their ids)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from masspost.clinic.models import ConsentEvent, Patient
from masspost.consent import FIELDS, ConsentState, consent_fold

SOURCE_MAX = ConsentEvent._meta.get_field("source").max_length or 100


def _check(channel: str, purpose: str, accepts: bool, source: str) -> str:
    """The column of (channel, purpose), or ValueError: a caller's mistake, never a user's input."""
    try:
        column = FIELDS[(channel, purpose)]
    except KeyError:
        raise ValueError(f"no consent for channel {channel!r} and purpose {purpose!r}") from None
    if not isinstance(accepts, bool):
        raise ValueError(f"accepts must be True or False, not {accepts!r}")
    if not source or len(source) > SOURCE_MAX:
        raise ValueError(f"a consent event's source must have 1 to {SOURCE_MAX} characters")
    return column


def consent_change(*, patient_id: int, channel: str, purpose: str, accepts: bool, source: str, wording: str = "",
                   campaign_id: int | None = None, staff_id: int | None = None, method: str = "",
                   note: str = "") -> ConsentEvent:
    """Append one event — always, also when it changes nothing (a staff record of a consent already held is proof
    too) — and set the patient's column to it, the patient's row locked meanwhile (an SMS STOP and a staff record
    of the same moment are written one after the other, never interleaved). Patient.DoesNotExist for no such
    patient."""
    column = _check(channel, purpose, accepts, source)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().only("id", column).get(id=patient_id)
        event = ConsentEvent(patient_id=patient_id, channel=channel, purpose=purpose, accepts=accepts,
                             source=source, wording=wording, campaign_id=campaign_id, staff_id=staff_id,
                             method=method, note=note, at=_times([patient_id])[patient_id])
        _append([event])
        if getattr(patient, column) != accepts:
            Patient.objects.filter(id=patient_id).update(**{column: accepts})
    return event


def consent_change_many(*, patient_ids: Iterable[int], channel: str, purpose: str, accepts: bool, source: str,
                        wording: str = "", campaign_id: int | None = None, only_changes: bool = True) -> list[int]:
    """The same change for several patients (a stop word from a shared phone, a provider's opt-outs): with
    `only_changes`, an event only for the patients whose consent it changes. Ids of no patient are left out.
    Returns the ids of the patients given an event, ascending."""
    column = _check(channel, purpose, accepts, source)
    ids = sorted(set(patient_ids))
    if not ids:
        return []
    with transaction.atomic():
        # Locked in id order, as every writer of several patients locks them: no deadlock between two of them.
        rows = Patient.objects.select_for_update().filter(id__in=ids).order_by("id").values_list("id", column)
        changed = [pid for pid, now in rows if now != accepts or not only_changes]
        if not changed:
            return []
        times = _times(changed)
        _append([ConsentEvent(patient_id=pid, channel=channel, purpose=purpose, accepts=accepts, source=source,
                              wording=wording, campaign_id=campaign_id, at=times[pid]) for pid in changed])
        Patient.objects.filter(id__in=changed).exclude(**{column: accepts}).update(**{column: accepts})
    return changed


def ledger_state(patient_id: int) -> ConsentState:
    """The consent the patient's ledger gives, folded from their events in order (the columns must equal it)."""
    events = (ConsentEvent.objects.filter(patient_id=patient_id).order_by("at", "id")
              .values_list("channel", "purpose", "accepts"))
    return consent_fold(events)


def _times(patient_ids: list[int]) -> dict[int, dt.datetime]:
    """The time of each patient's next event (their rows locked): now, or their latest event's time should that be
    later — an event never goes before one already in the ledger."""
    now = timezone.now()
    latest = dict(ConsentEvent.objects.filter(patient_id__in=patient_ids).order_by().values("patient_id")
                  .annotate(latest=Max("at")).values_list("patient_id", "latest"))
    return {pid: max(now, latest[pid]) if latest.get(pid) is not None else now for pid in patient_ids}


def _append(events: list[ConsentEvent]) -> None:
    """Insert the events with the times given (`at` is auto_now_add, which a plain save or bulk_create would
    overwrite with the clock: a raw save keeps the value set), in list order."""
    for event in events:
        event.save_base(raw=True, force_insert=True)
