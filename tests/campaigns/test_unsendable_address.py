"""An e-mail address the SMTP gateway cannot send to is unusable from the import on — a warning there, left out as
invalid_address at preview — instead of a message that fails at the worker (issue 16, point 9: what the preview
accepts the gateway can send)."""

from __future__ import annotations

from pathlib import Path

import pytest

from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.contact import normalize_email
from masspost.clinic.importer import import_file
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.delivery.gateways.base import OutgoingMessage
from masspost.delivery.gateways.smtp_message import EmailWriter, InvalidMessageError
from tests.clinic.importing import patient_row, patients_file
from tests.conftest import campaign


def test_a_non_ascii_local_part_is_not_usable_but_an_international_domain_is() -> None:
    assert normalize_email("jüri@example.com") == (
        "", "cannot be sent: letters other than a–z before the @ (SMTPUTF8 is not supported)")
    assert normalize_email("mari@tüdruk.ee") == ("mari@tüdruk.ee", "")
    with pytest.raises(InvalidMessageError):  # what the gateway would have done with it
        EmailWriter().wire(OutgoingMessage(message_id=1, campaign_id=1, patient_ref="P1", channel="email",
                                           to="jüri@example.com", language="et", subject="Aeg", text="Tere",
                                           sender="tallinn@hammas.example", sender_name="Hammas"))


@pytest.mark.django_db
def test_the_preview_leaves_such_a_patient_out_as_invalid_address(clinic: Clinic, tmp_path: Path) -> None:
    path = patients_file(tmp_path, [patient_row("P1", email="jüri@example.com"), patient_row("P2")])
    report = import_file(kind="patients", path=path)
    assert [w.reason for w in report.warnings] == [
        "cannot be sent: letters other than a–z before the @ (SMTPUTF8 is not supported)"]
    spec = CampaignSpec.from_dict(campaign(channel="email", content={"et": {"email_subject": "Aeg",
                                                                            "email_body": "Tere {first_name}"}}))
    preview = campaign_preview(spec=spec, scope=Scope.operator()).to_dict()
    assert preview["recipients"]["et"]["email"] == 1 and preview["excluded"]["email"]["invalid_address"] == 1
