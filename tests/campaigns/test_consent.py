"""Consent recorded by staff (masspost.campaigns.consent) and a patient's page (masspost.clinic.consent): a sender
renews a consent the patient withdrew by SMS STOP, stating how it was given; consent is by channel and purpose
(the legacy channel "marketing" is both channels' marketing); a withdrawal suppresses the patient's queued
messages at once; the history lists every change in order with its source; a preparer reads but records nothing;
another clinic's patient is "not found"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from masspost.campaigns.consent import consent_record_by_staff
from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.consent import consent_history, patient_detail
from masspost.clinic.importer import import_file
from masspost.clinic.ledger import consent_change, ledger_state
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Role, Scope
from masspost.consent import ConsentState
from masspost.delivery.inbound import inbound_record
from masspost.delivery.models import MessageStatus, OutboxMessage
from masspost.delivery.outbox import OutboxWriter
from masspost.errors import MasspostError, NotFoundError, PermissionDeniedError
from masspost.staff.selectors import staff_scope
from masspost.staff.services import staff_add
from tests.clinic.importing import patient_row, patients_file

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def member(username: str, role: str, *clinics: Clinic) -> Scope:
    """The member's Scope as the web UI builds it for them."""
    made = staff_add(username=username, password=PASSWORD, clinics=[c.code for c in clinics], role=role,
                     scope=Scope.operator())
    scope = staff_scope(user=made.user, address="10.0.0.7")
    assert scope is not None and scope.role == Role(role)
    return scope


@pytest.fixture
def alice(clinic: Clinic) -> Scope:
    return member("alice", "sender", clinic)


@pytest.fixture
def bob(clinic: Clinic) -> Scope:
    return member("bob", "preparer", clinic)


@pytest.fixture
def charlie(other_clinic: Clinic) -> Scope:
    return member("charlie", "sender", other_clinic)


def import_p1(tmp_path: Path, name: str, **consents: str) -> None:
    row = patient_row("P1", phone="5123 4567", accepts_sms="true") | consents
    report = import_file(kind="patients", path=patients_file(tmp_path, [row], name))
    assert report.written and report.errors == []


def sms_of_p1() -> bool:
    return Patient.objects.get(external_id="P1").accepts_sms


def test_an_sms_stop_then_a_renewal_by_staff_switches_sms_back_on(tmp_path: Path, clinic: Clinic,
                                                                  alice: Scope) -> None:
    import_p1(tmp_path, "1.csv")
    assert inbound_record("+37251234567", "STOP").opted_out == 1
    import_p1(tmp_path, "2.csv")
    assert sms_of_p1() is False  # the import may not undo the patient's own word…
    entry = consent_record_by_staff(scope=alice, patient_external_id="P1", channel="sms", accepts=True,
                                    method="signed-form", note="Signed at the desk\nafter the check-up")
    assert sms_of_p1() is True  # …the patient's renewed word, recorded by staff, does
    event = ConsentEvent.objects.get(id=entry.id)
    alice_id = get_user_model().objects.get(username="alice").id
    assert (event.channel, event.accepts, event.source, event.staff_id, event.method, event.note) == \
        ("sms", True, "staff:alice", alice_id, "signed-form", "Signed at the desk after the check-up")
    assert (entry.source, entry.staff, entry.method) == ("staff", "alice", "signed-form")
    audit = AuditEvent.objects.get(action="consent_record")
    assert (audit.actor, audit.address) == ("alice", "10.0.0.7")
    assert audit.detail == {"patient": "P1", "channel": "sms", "purpose": "service", "accepts": True,
                            "method": "signed-form"}
    # A later import no longer sees an opt-out: the clinic's own change of the value applies again.
    import_p1(tmp_path, "3.csv", accepts_sms="false")
    assert sms_of_p1() is False


def consents(p: Patient) -> ConsentState:
    p.refresh_from_db()
    return ConsentState(accepts_sms=p.accepts_sms, accepts_email=p.accepts_email, marketing_sms=p.marketing_sms,
                        marketing_email=p.marketing_email)


def test_staff_record_consent_by_channel_and_purpose(make_patient: Callable[..., Patient], alice: Scope) -> None:
    """Marketing on e-mail only: SMS marketing and both channels as a whole are as they were; the columns are
    the ledger's fold."""
    p = make_patient(marketing_consent=False)
    entry = consent_record_by_staff(scope=alice, patient_external_id=p.external_id, channel="email",
                                    purpose="marketing", accepts=True, method="signed-form")
    assert (entry.channel, entry.purpose, entry.accepts, entry.source) == ("email", "marketing", True, "staff")
    assert consents(p) == ConsentState(marketing_email=True) == ledger_state(p.id)
    consent_record_by_staff(scope=alice, patient_external_id=p.external_id, channel="sms", purpose="service",
                            accepts=False, method="phone")
    assert consents(p) == ConsentState(accepts_sms=False, marketing_email=True) == ledger_state(p.id)
    audit = AuditEvent.objects.filter(action="consent_record").order_by("id")
    assert [(a.detail["channel"], a.detail["purpose"]) for a in audit] == [("email", "marketing"), ("sms", "service")]


def test_the_legacy_channel_marketing_is_marketing_on_both_channels(make_patient: Callable[..., Patient],
                                                                     alice: Scope) -> None:
    p = make_patient(marketing_consent=True)
    entry = consent_record_by_staff(scope=alice, patient_external_id=p.external_id, channel="marketing",
                                    accepts=False, method="phone", note="called back")
    assert consents(p) == ConsentState(marketing_sms=False, marketing_email=False)
    events = ConsentEvent.objects.filter(patient=p).order_by("id")
    assert [(e.channel, e.purpose, e.accepts, e.source, e.method, e.note) for e in events] == [
        ("sms", "marketing", False, "staff:alice", "phone", "called back"),
        ("email", "marketing", False, "staff:alice", "phone", "called back")]
    assert (entry.id, entry.channel, entry.purpose) == (events[1].id, "email", "marketing")
    assert AuditEvent.objects.get(action="consent_record").detail["purpose"] == "marketing"


def test_a_record_that_changes_nothing_is_still_an_event(make_patient: Callable[..., Patient],
                                                         alice: Scope) -> None:
    """Staff heard the patient say it: that is proof, whether or not the consent changes."""
    p = make_patient(accepts_sms=True)
    for _ in range(2):
        consent_record_by_staff(scope=alice, patient_external_id=p.external_id, channel="sms", accepts=True,
                                method="in-person")
    assert ConsentEvent.objects.filter(patient=p, channel="sms", purpose="service", accepts=True).count() == 2
    assert consents(p).accepts_sms is True


def test_a_record_through_the_api_names_its_user_as_api(make_patient: Callable[..., Patient],
                                                         alice: Scope) -> None:
    """A scope from an API token (`via` "api:<token>") records "api:<user>", shown as the kind "api" with the
    user's name; the web's is "staff"."""
    p = make_patient()
    token = dataclasses.replace(alice, via="api:front desk sync")
    entry = consent_record_by_staff(scope=token, patient_external_id=p.external_id, channel="sms", accepts=False,
                                    method="email")
    event = ConsentEvent.objects.get(id=entry.id)
    assert (event.source, event.staff_id) == ("api:alice", alice.user_id)
    assert (entry.source, entry.staff, entry.method) == ("api", "alice", "email")
    assert [(e.source, e.staff) for e in consent_history(scope=alice, external_id=p.external_id)] == [
        ("api", "alice")]


def make_campaign(*, purpose: str, channel: str) -> int:
    return Campaign.objects.create(name="Queued", purpose=purpose, channel=channel, spec={}, audience={},
                                   token=f"test-{uuid.uuid4()}", deadline=timezone.now() + dt.timedelta(days=2),
                                   created_by="test").id


def queue(patient: Patient, *, channel: str, marketing: bool) -> int:
    """One queued message for the patient, as the send writes it; returns its campaign's id."""
    campaign_id = make_campaign(purpose="marketing" if marketing else "service", channel=channel)
    writer = OutboxWriter(campaign_id=campaign_id, deadline=timezone.now() + dt.timedelta(days=2),
                          marketing=marketing)
    writer.add(patient_id=patient.id, patient_ref=patient.external_id, channel=channel,
               address=patient.phone_e164 if channel == "sms" else patient.email, language="et", subject="",
               body="Tere!", encoding="GSM-7", parts=1, sender="Hammas", sender_name="", clinic_id=patient.clinic_id)
    writer.flush()
    return campaign_id


def queued(patient: Patient) -> dict[tuple[str, bool], tuple[str, str]]:
    """(channel, marketing) → (status, last_error) of the patient's messages."""
    return {(m.channel, m.marketing): (m.status, m.last_error)
            for m in OutboxMessage.objects.filter(patient_id=patient.id)}


@pytest.mark.parametrize(("scope_of", "reason"), [
    (lambda alice: alice, "staff"),
    (lambda alice: dataclasses.replace(alice, via="api:sync"), "api"),
    (lambda alice: Scope.operator(), "operator"),
])
def test_a_withdrawal_suppresses_the_queued_messages_it_no_longer_allows(
        make_patient: Callable[..., Patient], alice: Scope, scope_of: Callable[[Scope], Scope], reason: str) -> None:
    """In the transaction that records it: marketing off on SMS suppresses the queued marketing SMS only; the
    channel off suppresses its service messages too; the other channel's are left alone. A consent given
    suppresses nothing."""
    p = make_patient()
    for channel in ("sms", "email"):
        for marketing in (False, True):
            queue(p, channel=channel, marketing=marketing)
    scope = scope_of(alice)
    consent_record_by_staff(scope=scope, patient_external_id=p.external_id, channel="sms", purpose="marketing",
                            accepts=True, method="phone")
    queued_ = (MessageStatus.QUEUED.value, "")
    assert set(queued(p).values()) == {queued_}
    consent_record_by_staff(scope=scope, patient_external_id=p.external_id, channel="sms", purpose="marketing",
                            accepts=False, method="phone")
    suppressed = (MessageStatus.SUPPRESSED.value, reason)
    assert queued(p) == {("sms", True): suppressed, ("sms", False): queued_, ("email", True): queued_,
                         ("email", False): queued_}
    consent_record_by_staff(scope=scope, patient_external_id=p.external_id, channel="email", accepts=False,
                            method="phone")
    assert queued(p) == {("sms", True): suppressed, ("sms", False): queued_, ("email", True): suppressed,
                         ("email", False): suppressed}


def test_the_history_is_in_order_with_its_sources_in_the_clinics_time(make_patient: Callable[..., Patient],
                                                                       alice: Scope) -> None:
    p = make_patient(external_id="P1", marketing_consent=False)
    consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=True, source="import",
                   wording="file patients.csv")
    consent_change(patient_id=p.id, channel="sms", purpose="service", accepts=False, source="sms-stop")
    consent_record_by_staff(scope=alice, patient_external_id="P1", channel="sms", accepts=True, method="in-person")
    consent_change(patient_id=p.id, channel="email", purpose="marketing", accepts=False, source="unsubscribe",
                   wording="No more offers by e-mail", campaign_id=7)
    consent_record_by_staff(scope=Scope.operator(), patient_external_id="P1", channel="sms", purpose="marketing",
                            accepts=True, method="signed-form")
    history = consent_history(scope=alice, external_id="P1")
    assert [(e.channel, e.purpose, e.accepts, e.source, e.staff, e.method, e.wording, e.campaign_id)
            for e in history] == [
        ("email", "marketing", True, "import", "", "", "file patients.csv", None),
        ("sms", "service", False, "sms-stop", "", "", "", None),
        ("sms", "service", True, "staff", "alice", "in-person", "", None),
        ("email", "marketing", False, "unsubscribe", "", "", "No more offers by e-mail", 7),
        ("sms", "marketing", True, "operator", "", "signed-form", "", None)]
    assert [e.at for e in history] == sorted(e.at for e in history)
    assert {e.at.utcoffset() for e in history} <= {dt.timedelta(hours=2), dt.timedelta(hours=3)}  # Tallinn
    detail = patient_detail(scope=alice, external_id="P1")
    assert (detail.patient.external_id, detail.patient.clinic, detail.clinic_name) == ("P1", "TLN", "Hammas Tallinn")
    assert detail.patient.accepts_sms is True and detail.patient.first_name == "Mari"
    assert detail.history == history
    assert detail.consent == ConsentState(marketing_sms=True) == ledger_state(p.id)


def test_a_preparer_reads_without_names_or_notes_and_records_nothing(make_patient: Callable[..., Patient],
                                                                       alice: Scope, bob: Scope) -> None:
    p = make_patient(accepts_sms=False)
    consent_record_by_staff(scope=alice, patient_external_id=p.external_id, channel="sms", accepts=True, method="phone",
                            note="Mari Maasikas called")
    with pytest.raises(PermissionDeniedError, match="preparer"):
        consent_record_by_staff(scope=bob, patient_external_id=p.external_id, channel="sms", accepts=False,
                                method="phone")
    p.refresh_from_db()
    assert p.accepts_sms is True
    assert ConsentEvent.objects.count() == 1 and not AuditEvent.objects.filter(actor="bob").exists()
    detail = patient_detail(scope=bob, external_id=p.external_id)
    assert (detail.patient.first_name, detail.patient.phone, detail.patient.email) == (None, None, None)
    assert [(e.staff, e.method, e.note) for e in detail.history] == [("alice", "phone", None)]
    assert patient_detail(scope=alice, external_id=p.external_id).history[0].note == "Mari Maasikas called"


def test_another_clinics_patient_is_not_found_like_one_that_does_not_exist(
        make_patient: Callable[..., Patient], charlie: Scope) -> None:
    p = make_patient(accepts_sms=False)
    messages = []
    for ref in (p.external_id, "NOBODY"):
        for call in (lambda r: consent_record_by_staff(scope=charlie, patient_external_id=r, channel="sms",
                                                       accepts=True, method="phone"),
                     lambda r: patient_detail(scope=charlie, external_id=r),
                     lambda r: consent_history(scope=charlie, external_id=r)):
            with pytest.raises(NotFoundError) as caught:
                call(ref)
            messages.append(str(caught.value).replace(ref, "ID"))
    assert messages[:3] == messages[3:]
    p.refresh_from_db()
    assert p.accepts_sms is False and not ConsentEvent.objects.exists()
    assert not AuditEvent.objects.filter(action="consent_record").exists()


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("channel", "fax", "channel: must be one of sms, email"),
    ("purpose", "offers", "purpose: must be one of service, marketing"),
    ("method", "telepathy", "method: must be one of"),
    ("note", "x" * 201, "note: at most 200 characters"),
    ("note", "ok\u202egnp.exe", "note: has a control"),
])
def test_a_channel_purpose_method_or_note_that_is_not_valid_is_refused(
        make_patient: Callable[..., Patient], alice: Scope, field: str, value: str, reason: str) -> None:
    p = make_patient()
    values = {"channel": "sms", "purpose": "service", "method": "phone", "note": ""} | {field: value}
    with pytest.raises(MasspostError, match=reason):
        consent_record_by_staff(scope=alice, patient_external_id=p.external_id, accepts=False, **values)
    assert not ConsentEvent.objects.exists()


def test_the_operator_is_named_as_no_staff_user(make_patient: Callable[..., Patient], clinic: Clinic) -> None:
    member("cli", "admin", clinic)  # a user called like the command line is not the operator
    p = make_patient()
    entry = consent_record_by_staff(scope=Scope.operator(), patient_external_id=p.external_id, channel="email",
                                    accepts=False, method="email")
    event = ConsentEvent.objects.get(id=entry.id)
    assert (event.source, event.staff_id, entry.source, entry.staff) == ("operator", None, "operator", "")


@pytest.mark.parametrize("ref", ["T\x0000001", "T" * 65])
def test_an_id_no_patient_can_have_is_not_found(alice: Scope, ref: str) -> None:
    """Not a database error: PostgreSQL refuses a NUL in a query's text."""
    with pytest.raises(NotFoundError):
        patient_detail(scope=alice, external_id=ref)
    with pytest.raises(NotFoundError):
        consent_record_by_staff(scope=alice, patient_external_id=ref, channel="sms", accepts=True, method="phone")


def test_a_150_character_user_name_is_recorded_within_the_source_column(make_patient: Callable[..., Patient],
                                                                        clinic: Clinic) -> None:
    """ConsentEvent.source holds 100 characters ("staff:" + a 150-character name would be a DataError on
    PostgreSQL): the user is stored by id and shown by their name now, the source keeps what fits."""
    long = "a" * 150
    scope = member(long, "sender", clinic)
    make_patient(external_id="P1")
    entry = consent_record_by_staff(scope=scope, patient_external_id="P1", channel="sms", accepts=False,
                                    method="phone")
    event = ConsentEvent.objects.get(staff__isnull=False)
    assert len(event.source) <= ConsentEvent._meta.get_field("source").max_length
    assert event.source.startswith("staff:a") and event.staff_id == scope.user_id
    assert entry.source == "staff" and entry.staff == long
    assert consent_history(scope=scope, external_id="P1")[-1].staff == long


def test_a_staff_scope_is_never_looked_up_by_name(make_patient: Callable[..., Patient], alice: Scope) -> None:
    """Point 2: who acts is the scope's user id. A scope naming a user but carrying no id records no user, never
    the user of that name."""
    make_patient(external_id="P1")
    nameless = Scope(actor="alice", clinic_ids=alice.clinic_ids, role=alice.role)
    consent_record_by_staff(scope=nameless, patient_external_id="P1", channel="sms", accepts=False, method="phone")
    assert ConsentEvent.objects.get(source="staff:alice").staff_id is None
