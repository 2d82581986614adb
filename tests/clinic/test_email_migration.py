"""Addresses stored before the import's rule (letters other than a–z before the "@" are unusable: the gateway
sends without SMTPUTF8) are re-checked by clinic's migration 0004: such a patient becomes "invalid address" at
the preview instead of a message that fails at the worker until a re-import (issue 16 review)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.contact import normalize_email
from masspost.clinic.models import AddressStatus, Patient
from masspost.clinic.scope import Scope
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
MIGRATION = __import__("masspost.clinic.migrations.0004_email_local_ascii", fromlist=["forwards"])


def migrate() -> None:
    MIGRATION.forwards(apps, SimpleNamespace(connection=connection))


def test_stored_addresses_with_non_ascii_before_the_at_become_unusable(make_patient: Callable[..., Patient],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MIGRATION, "BATCH", 2)  # candidates over several batches
    stored = {"jüri@example.com": False, "ПЕТР@example.com": False, "mari@example.com": True,
              "mari@exämple.ee": True, "tõnu.tamm@näide.ee": False, "anna@example.com": True, "õie@x.ee": False}
    patients = {address: make_patient(email=address, email_normalized=address) for address in stored}
    nobody = make_patient(email="", email_normalized="")
    assert all(p.email_status == AddressStatus.VALID for p in patients.values())
    migrate()
    for address, usable in stored.items():
        patient = Patient.objects.get(id=patients[address].id)
        assert (patient.email_status, patient.email_normalized, patient.email) == (
            (AddressStatus.VALID, address, address) if usable else (AddressStatus.INVALID, "", address)), address
        assert bool(normalize_email(address)[0]) == usable  # what an import of the address says now
    assert Patient.objects.get(id=nobody.id).email_status == AddressStatus.NONE
    migrate()  # running again changes nothing
    assert Patient.objects.filter(email_status=AddressStatus.INVALID).count() == 4


def test_after_the_migration_the_preview_leaves_them_out_as_an_invalid_address(
        make_patient: Callable[..., Patient]) -> None:
    make_patient(email="jüri@example.com", email_normalized="jüri@example.com")
    make_patient()
    spec = CampaignSpec.from_dict(campaign(channel="email", content={"et": {"email_subject": "Aeg",
                                                                            "email_body": "Tere {first_name}"}}))
    migrate()
    preview = campaign_preview(spec=spec, scope=Scope.operator()).to_dict()
    assert preview["recipients"]["et"]["email"] == 1 and preview["excluded"]["email"]["invalid_address"] == 1
