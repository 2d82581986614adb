"""A clinic's sending rules as admins change them: checked field by field, nothing written on an error, audited."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from masspost.campaigns.clinic_settings import clinic_settings_change, clinic_settings_list
from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role, Scope
from masspost.errors import NotFoundError, PermissionDeniedError, SpecError
from tests.delivery.test_dkim import make_pem


def admin_of(*clinics: Clinic, role: Role = Role.ADMIN) -> Scope:
    return Scope(actor="ada", user_id=None, clinic_ids=frozenset(c.id for c in clinics), role=role)


def test_a_change_is_stored_normalised_and_audited_by_field_name(clinic: Clinic) -> None:
    changed = clinic_settings_change(scope=admin_of(clinic), code="TLN", values={
        "marketing_window": "mon-fri 9:00-18:30", "holidays": False, "approval_over": 500,
        "approval_cost_over": "25.5", "test_before_marketing": True, "recently_messaged_days": 0})
    clinic.refresh_from_db()
    assert changed.pk == clinic.pk
    assert clinic.marketing_window == "Mon-Fri 09:00-18:30"
    assert (clinic.holidays, clinic.approval_over, clinic.approval_cost_over, clinic.test_before_marketing,
            clinic.recently_messaged_days) == (False, 500, Decimal("25.50"), True, 0)
    assert clinic.service_window == "Mon-Sun 08:00-21:00"  # not given: unchanged
    event = AuditEvent.objects.get(action="clinic_settings")
    assert event.detail == {"clinic": "TLN", "fields": ["marketing_window", "holidays", "approval_over",
                                                        "approval_cost_over", "test_before_marketing",
                                                        "recently_messaged_days"]}


def test_thresholds_can_be_cleared(clinic: Clinic) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(approval_over=10, approval_cost_over=Decimal("5"))
    clinic_settings_change(scope=admin_of(clinic), code="TLN", values={"approval_over": None,
                                                                      "approval_cost_over": None})
    clinic.refresh_from_db()
    assert (clinic.approval_over, clinic.approval_cost_over) == (None, None)


def test_nothing_changed_is_not_audited(clinic: Clinic) -> None:
    clinic_settings_change(scope=admin_of(clinic), code="TLN", values={"holidays": True})
    assert not AuditEvent.objects.filter(action="clinic_settings").exists()


@pytest.mark.parametrize(("values", "field"), [
    ({"marketing_window": "whenever"}, "marketing_window"),
    ({"service_window": "Mon-Fri 18:00-09:00"}, "service_window"),
    ({"holidays": "yes"}, "holidays"),
    ({"approval_over": 0}, "approval_over"),
    ({"approval_over": 2.5}, "approval_over"),
    ({"approval_cost_over": "-1"}, "approval_cost_over"),
    ({"approval_cost_over": "lots"}, "approval_cost_over"),
    ({"approval_cost_over": "1.005"}, "approval_cost_over"),
    ({"test_before_marketing": 1}, "test_before_marketing"),
    ({"recently_messaged_days": 366}, "recently_messaged_days"),
    ({"recently_messaged_days": -1}, "recently_messaged_days"),
    ({"time_zone": "UTC"}, "time_zone"),
])
def test_a_bad_value_names_its_field_and_changes_nothing(clinic: Clinic, values: dict[str, Any], field: str) -> None:
    before = Clinic.objects.filter(pk=clinic.pk).values().get()
    with pytest.raises(SpecError, match=f"^{field}: "):
        clinic_settings_change(scope=admin_of(clinic), code="TLN", values={"holidays": False} | values)
    assert Clinic.objects.filter(pk=clinic.pk).values().get() == before
    assert not AuditEvent.objects.exists()


def test_another_clinic_is_not_found_and_a_sender_may_not(clinic: Clinic, other_clinic: Clinic) -> None:
    with pytest.raises(NotFoundError):
        clinic_settings_change(scope=admin_of(clinic), code="TRT", values={"holidays": False})
    with pytest.raises(PermissionDeniedError):
        clinic_settings_change(scope=admin_of(clinic, role=Role.SENDER), code="TLN", values={"holidays": False})
    assert Clinic.objects.filter(holidays=False).count() == 0


def test_the_list_is_the_scopes_clinics_by_code(clinic: Clinic, other_clinic: Clinic) -> None:
    assert [c.code for c in clinic_settings_list(scope=admin_of(other_clinic, clinic))] == ["TLN", "TRT"]
    assert [c.code for c in clinic_settings_list(scope=admin_of(other_clinic))] == ["TRT"]


def test_a_dkim_key_is_checked_by_signing_stored_and_audited_only_as_set(clinic: Clinic) -> None:
    pem = make_pem(pkcs8=False).replace("\n", "\r\n")  # as a browser's textarea sends it
    clinic_settings_change(scope=admin_of(clinic), code="TLN", values={"dkim_selector": "k1.mail", "dkim_key": pem})
    clinic.refresh_from_db()
    assert clinic.dkim_selector == "k1.mail" and clinic.dkim_key == pem.replace("\r\n", "\n")
    assert AuditEvent.objects.get(action="clinic_settings").detail == {
        "clinic": "TLN", "fields": ["dkim_selector", "dkim_key"], "dkim_key": "set"}

    with pytest.raises(SpecError, match="^dkim_key: not a PEM RSA private key") as raised:
        clinic_settings_change(scope=admin_of(clinic), code="TLN", values={"dkim_key": "secret junk"})
    assert "secret junk" not in str(raised.value)
    with pytest.raises(SpecError, match="^dkim_selector: a DKIM key needs its selector"):
        clinic_settings_change(scope=admin_of(clinic), code="TLN", values={"dkim_selector": ""})
    clinic.refresh_from_db()
    assert clinic.dkim_selector == "k1.mail"


def test_the_reply_number_is_normalised_in_the_clinics_country(clinic: Clinic) -> None:
    clinic_settings_change(scope=admin_of(clinic), code="TLN", values={"sms_reply_number": "5123 4567"})
    clinic.refresh_from_db()
    assert clinic.sms_reply_number == "+37251234567"
    with pytest.raises(SpecError, match="^sms_reply_number: "):
        clinic_settings_change(scope=admin_of(clinic), code="TLN", values={"sms_reply_number": "hello"})
