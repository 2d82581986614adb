"""Consent recorded by staff (masspost.campaigns.consent) and a patient's page (masspost.clinic.consent): a sender
renews a consent the patient withdrew by SMS STOP, stating how it was given; the history lists every change in
order with its source; a preparer reads but records nothing; another clinic's patient is "not found"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from masspost.campaigns.consent import consent_record_by_staff
from masspost.campaigns.models import AuditEvent
from masspost.clinic.consent import consent_history, patient_detail
from masspost.clinic.importer import import_file
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Role, Scope
from masspost.delivery.inbound import inbound_record
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
    assert audit.detail == {"patient": "P1", "channel": "sms", "accepts": True, "method": "signed-form"}
    # A later import no longer sees an opt-out: the clinic's own change of the value applies again.
    import_p1(tmp_path, "3.csv", accepts_sms="false")
    assert sms_of_p1() is False


def test_staff_may_switch_a_consent_off_too(make_patient: Callable[..., Patient], alice: Scope) -> None:
    p = make_patient(marketing_consent=True)
    consent_record_by_staff(scope=alice, patient_external_id=p.external_id, channel="marketing", accepts=False,
                            method="phone")
    p.refresh_from_db()
    assert (p.marketing_consent, p.accepts_sms, p.accepts_email) == (False, True, True)


def test_the_history_is_in_order_with_its_sources_in_the_clinics_time(tmp_path: Path, clinic: Clinic,
                                                                       alice: Scope) -> None:
    import_p1(tmp_path, "1.csv")
    inbound_record("+37251234567", "STOP")
    consent_record_by_staff(scope=alice, patient_external_id="P1", channel="sms", accepts=True, method="in-person")
    history = consent_history(scope=alice, external_id="P1")
    assert [(e.channel, e.accepts, e.source, e.staff, e.method) for e in history] == [
        ("sms", True, "import", "", ""), ("email", True, "import", "", ""), ("marketing", False, "import", "", ""),
        ("sms", False, "sms-stop", "", ""), ("sms", True, "staff", "alice", "in-person")]
    assert [e.at for e in history] == sorted(e.at for e in history)
    assert {e.at.utcoffset() for e in history} <= {dt.timedelta(hours=2), dt.timedelta(hours=3)}  # Tallinn
    detail = patient_detail(scope=alice, external_id="P1")
    assert (detail.patient.external_id, detail.patient.clinic, detail.clinic_name) == ("P1", "TLN", "Hammas Tallinn")
    assert detail.patient.accepts_sms is True and detail.patient.first_name == "Mari"
    assert detail.history == history


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
    ("channel", "fax", "channel: must be one of"),
    ("method", "telepathy", "method: must be one of"),
    ("note", "x" * 201, "note: at most 200 characters"),
    ("note", "ok\u202egnp.exe", "note: has a control"),
])
def test_a_channel_method_or_note_that_is_not_valid_is_refused(make_patient: Callable[..., Patient], alice: Scope,
                                                               field: str, value: str, reason: str) -> None:
    p = make_patient()
    values = {"channel": "sms", "method": "phone", "note": ""} | {field: value}
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


def test_a_150_character_user_name_is_recorded_within_the_source_column(tmp_path: Path, clinic: Clinic) -> None:
    """ConsentEvent.source holds 100 characters ("staff:" + a 150-character name would be a DataError on
    PostgreSQL): the user is stored by id and shown by their name now, the source keeps what fits."""
    long = "a" * 150
    scope = member(long, "sender", clinic)
    import_p1(tmp_path, "1.csv")
    entry = consent_record_by_staff(scope=scope, patient_external_id="P1", channel="sms", accepts=False,
                                    method="phone")
    event = ConsentEvent.objects.get(staff__isnull=False)
    assert len(event.source) <= ConsentEvent._meta.get_field("source").max_length
    assert event.source.startswith("staff:a") and event.staff_id == scope.user_id
    assert entry.source == "staff" and entry.staff == long
    assert consent_history(scope=scope, external_id="P1")[-1].staff == long


def test_a_staff_scope_is_never_looked_up_by_name(tmp_path: Path, clinic: Clinic, alice: Scope) -> None:
    """Point 2: who acts is the scope's user id. A scope naming a user but carrying no id records no user, never
    the user of that name."""
    import_p1(tmp_path, "1.csv")
    nameless = Scope(actor="alice", clinic_ids=alice.clinic_ids, role=alice.role)
    consent_record_by_staff(scope=nameless, patient_external_id="P1", channel="sms", accepts=False, method="phone")
    assert ConsentEvent.objects.get(source="staff:alice").staff_id is None
