"""The consent ledger's one writer (docs/consent.md, "The ledger").

Every change of a patient's consent is a ConsentEvent appended here, and the Patient's consent columns
(`accepts_sms`, `accepts_email`, `marketing_sms`, `marketing_email`) are set to the ledger's fold
(`masspost.consent.consent_fold`) in the same transaction. Nothing else writes an event or those columns; nothing
updates or deletes an event. Cancelling a patient's queued messages on an opt-out is the caller's
(`delivery.suppress`): clinic does not know the outbox."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from masspost.clinic.models import ConsentEvent, Patient
from masspost.consent import FIELDS, ConsentState, consent_fold


def _check(channel: str, purpose: str) -> str:
    try:
        return FIELDS[(channel, purpose)]
    except KeyError:
        raise ValueError(f"no consent for channel {channel!r} and purpose {purpose!r}") from None


def consent_change(*, patient_id: int, channel: str, purpose: str, accepts: bool, source: str, wording: str = "",
                   campaign_id: int | None = None, staff_id: int | None = None, method: str = "",
                   note: str = "") -> ConsentEvent:
    """Append one event and set the patient's column to it, the patient's row locked meanwhile (an SMS STOP and
    a staff record of the same moment are written one after the other, never interleaved)."""
    column = _check(channel, purpose)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().only("id", column).get(id=patient_id)
        event = ConsentEvent.objects.create(patient_id=patient_id, channel=channel, purpose=purpose,
                                            accepts=accepts, source=source, wording=wording,
                                            campaign_id=campaign_id, staff_id=staff_id, method=method, note=note)
        if getattr(patient, column) != accepts:
            Patient.objects.filter(id=patient_id).update(**{column: accepts})
    return event


def consent_change_many(*, patient_ids: Iterable[int], channel: str, purpose: str, accepts: bool, source: str,
                        wording: str = "", campaign_id: int | None = None, only_changes: bool = True) -> list[int]:
    """The same change for several patients (a stop word from a shared phone, a provider's opt-outs): with
    `only_changes`, an event only for the patients whose consent it changes. Returns those patients' ids."""
    column = _check(channel, purpose)
    ids = sorted(set(patient_ids))
    with transaction.atomic():
        rows = Patient.objects.select_for_update().filter(id__in=ids).order_by("id").values_list("id", column)
        changed = [pid for pid, now in rows if now != accepts or not only_changes]
        ConsentEvent.objects.bulk_create([
            ConsentEvent(patient_id=pid, channel=channel, purpose=purpose, accepts=accepts, source=source,
                         wording=wording, campaign_id=campaign_id) for pid in changed])
        Patient.objects.filter(id__in=changed).update(**{column: accepts})
    return changed


def ledger_state(patient_id: int) -> ConsentState:
    """The consent the patient's ledger gives, folded from their events in order (the columns must equal it)."""
    events = (ConsentEvent.objects.filter(patient_id=patient_id).order_by("at", "id")
              .values_list("channel", "purpose", "accepts"))
    return consent_fold(events)
