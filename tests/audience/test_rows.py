"""The audience's rows as the sweep reads them: the packed `decides` value unpacks to the patient's own columns,
and fetching the next chunk ahead (PostgreSQL) yields exactly the rows, in chunks, that fetching in turn does."""

from __future__ import annotations

from typing import Any

import pytest

from masspost.audience import selectors
from masspost.audience.filter import AudienceFilter
from masspost.audience.selectors import Decides, audience_resolve, audience_rows
from masspost.clinic.models import AddressStatus, Clinic
from masspost.clinic.scope import Scope

pytestmark = pytest.mark.django_db


def test_decides_unpacks_to_the_patients_columns(make_patient: Any, other_clinic: Clinic) -> None:
    a = make_patient(accepts_sms=False, accepts_email=True, marketing_consent=True, email="a@example.org")
    b = make_patient(clinic=other_clinic, accepts_sms=True, accepts_email=False, marketing_consent=False,
                     phone="", phone_e164="", email="", email_normalized="")
    resolved = audience_resolve(audience=AudienceFilter.from_dict({}), scope=Scope.operator())
    rows = {row[0]: row for chunk in audience_rows(resolved) for row in chunk}
    for patient in (a, b):
        patient.refresh_from_db()
        d = Decides.unpack(rows[patient.id][5])
        assert d == Decides(clinic_id=patient.clinic_id, accepts_sms=patient.accepts_sms,
                            accepts_email=patient.accepts_email, marketing_consent=patient.marketing_consent,
                            phone_status=patient.phone_status, email_status=patient.email_status)
        assert rows[patient.id][1] == patient.external_id
    assert Decides.unpack(rows[b.id][5]).phone_status == AddressStatus.NONE


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
