"""The audience's rows as the sweep reads them: the packed `decides` value unpacks to the patient's own columns,
and fetching the next chunk ahead (PostgreSQL) yields exactly the rows, in chunks, that fetching in turn does."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.db.models import Q

from masspost.audience import selectors
from masspost.audience.filter import AudienceFilter
from masspost.audience.selectors import SHARED_EMAIL, SHARED_SMS, Decides, audience_resolve, audience_rows
from masspost.clinic.models import AddressStatus, Clinic
from masspost.clinic.scope import Scope

pytestmark = pytest.mark.django_db


def test_decides_unpacks_to_the_patients_columns(make_patient: Any, other_clinic: Clinic) -> None:
    a = make_patient(accepts_sms=False, accepts_email=True, marketing_sms=True, marketing_email=False,
                     email="a@example.org")
    b = make_patient(clinic=other_clinic, accepts_sms=True, accepts_email=False, marketing_sms=False,
                     marketing_email=True, phone="", phone_e164="", email="", email_normalized="", language="")
    c = make_patient(phone="1", phone_e164="", email="not an address", email_normalized="")
    resolved = audience_resolve(audience=AudienceFilter.from_dict({}), scope=Scope.operator())
    rows = {row[0]: row for chunk in audience_rows(resolved) for row in chunk}
    for patient in (a, b, c):
        patient.refresh_from_db()
        d = Decides.unpack(rows[patient.id][5])
        assert d == Decides(clinic_id=patient.clinic_id, accepts_sms=patient.accepts_sms,
                            accepts_email=patient.accepts_email, marketing_sms=patient.marketing_sms,
                            marketing_email=patient.marketing_email, phone_status=patient.phone_status,
                            email_status=patient.email_status, language_unset=patient.language == "")
        assert rows[patient.id][1] == patient.external_id
    assert Decides.unpack(rows[b.id][5]).phone_status == AddressStatus.NONE
    assert Decides.unpack(rows[c.id][5]).phone_status == AddressStatus.INVALID
    assert Decides.unpack(rows[c.id][5]).email_status == AddressStatus.INVALID


def test_every_flag_has_a_bit_of_its_own(make_patient: Any, other_clinic: Clinic) -> None:
    """All flags set (recently messaged on both channels too) unpack as set, and the bits the sweep ORs in for
    shared addresses touch nothing the database packed: no two flags share a bit, none reaches the clinic id."""
    everything = make_patient(clinic=other_clinic, accepts_sms=True, accepts_email=True, marketing_sms=True,
                              marketing_email=True, language="", phone="1", phone_e164="", email="x",
                              email_normalized="")
    resolved = audience_resolve(audience=AudienceFilter.from_dict({}), scope=Scope.operator())
    rows = [row for chunk in audience_rows(resolved, recent={"sms": Q(pk=everything.pk),
                                                             "email": Q(pk=everything.pk)}) for row in chunk]
    (code,) = [row[5] for row in rows]
    assert code & (SHARED_SMS | SHARED_EMAIL) == 0
    d = Decides.unpack(code)
    assert d == Decides(clinic_id=other_clinic.id, accepts_sms=True, accepts_email=True, marketing_sms=True,
                        marketing_email=True, phone_status=AddressStatus.INVALID, email_status=AddressStatus.INVALID,
                        language_unset=True, recent_sms=True, recent_email=True)
    assert Decides.unpack(code | SHARED_SMS) == replace(d, shared_sms=True)
    assert Decides.unpack(code | SHARED_EMAIL) == replace(d, shared_email=True)


@pytest.mark.parametrize("field", ["accepts_sms", "accepts_email", "marketing_sms", "marketing_email"])
def test_each_consent_moves_only_its_own_flag(make_patient: Any, field: str) -> None:
    """A patient who differs from another in one consent differs from them in that flag alone: marketing by SMS
    and marketing by e-mail are two flags, not one."""
    given = make_patient()
    without = make_patient(**{field: False})
    resolved = audience_resolve(audience=AudienceFilter.from_dict({}), scope=Scope.operator())
    codes = {row[0]: row[5] for chunk in audience_rows(resolved) for row in chunk}
    assert replace(Decides.unpack(codes[given.id]), **{field: False}) == Decides.unpack(codes[without.id])
    assert getattr(Decides.unpack(codes[given.id]), field) is True


def test_fetching_ahead_yields_the_same_chunks(make_patient: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(11):
        make_patient()
    monkeypatch.setattr(selectors, "_CHUNK", 3)
    resolved = audience_resolve(audience=AudienceFilter.from_dict({}), scope=Scope.operator())
    in_turn = list(audience_rows(resolved, refs=False))
    ahead = list(audience_rows(resolved, refs=False, prefetch=True))
    assert [len(c) for c in in_turn] == [3, 3, 3, 2]
    assert sorted(r for c in ahead for r in c) == sorted(r for c in in_turn for r in c)
    assert [len(c) for c in ahead] == [3, 3, 3, 2]
    assert all(row[1] == "" for chunk in ahead for row in chunk)  # no external id asked for, none carried
