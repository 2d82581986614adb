"""Send: one confirmation → one campaign and exactly the previewed messages; stale previews are refused."""

from __future__ import annotations

from typing import Any

import pytest

from masspost.campaigns.models import AuditEvent, Campaign
from masspost.campaigns.selectors import campaign_preview, campaign_status
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Patient
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from masspost.errors import StaleTokenError
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
OPERATOR = Scope.operator()


def spec(**overrides: Any) -> CampaignSpec:
    return CampaignSpec.from_dict(campaign(**overrides))


@pytest.fixture
def patients(make_patient: Any) -> list[Patient]:
    return [make_patient(language="et", first_name="Tõnu"), make_patient(language="ru"),
            make_patient(language="en"), make_patient(language="fi"), make_patient(accepts_sms=False)]


def test_outbox_holds_exactly_what_the_preview_showed(patients: list[Patient]) -> None:
    recipients: list[Any] = []
    preview = campaign_preview(spec=spec(), scope=OPERATOR, on_recipient=recipients.append)
    outcome = campaign_send(spec=spec(), scope=OPERATOR, token=str(preview.token))
    rows = list(OutboxMessage.objects.filter(campaign_id=outcome.campaign_id).order_by("patient_id"))
    assert outcome.created and outcome.messages == len(rows) == 3
    assert [(r.patient_ref, r.channel, r.language, r.address, r.body, r.encoding, r.parts) for r in rows] == sorted(
        (x.patient_ref, x.channel, x.language, x.address, x.text, x.encoding, x.parts) for x in recipients)
    by_lang = {r.language: r for r in rows}
    assert by_lang["et"].body == "Tere Tõnu!" and by_lang["et"].encoding == "UCS-2"
    assert by_lang["en"].encoding == "GSM-7"
    assert {r.status for r in rows} == {"queued"}
    assert {r.sender for r in rows} == {"HammasTLN"}


def test_second_confirmation_creates_nothing(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    first = campaign_send(spec=spec(), scope=OPERATOR, token=token)
    second = campaign_send(spec=spec(), scope=OPERATOR, token=token)
    assert second.campaign_id == first.campaign_id and not second.created
    assert Campaign.objects.count() == 1
    assert OutboxMessage.objects.count() == 3


def test_send_without_token_is_idempotent_too(patients: list[Patient]) -> None:
    first = campaign_send(spec=spec(), scope=OPERATOR)
    second = campaign_send(spec=spec(), scope=OPERATOR)
    assert (second.campaign_id, second.created) == (first.campaign_id, False)
    assert OutboxMessage.objects.count() == 3


def test_changed_text_is_refused_with_what_changed(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    changed = spec(content={"et": {"sms": "Tere, {first_name}!"}, "ru": {"sms": "Привет"}, "en": {"sms": "Hi"}})
    with pytest.raises(StaleTokenError, match="the texts changed"):
        campaign_send(spec=changed, scope=OPERATOR, token=token)
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0


def test_changed_filter_is_refused(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    with pytest.raises(StaleTokenError, match="the audience filter changed"):
        campaign_send(spec=spec(audience={"reference_date": "2026-11-25", "countries": ["EE"]}), scope=OPERATOR,
                      token=token)


def test_changed_patients_are_refused(patients: list[Patient], make_patient: Any) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    make_patient(language="ru")
    with pytest.raises(StaleTokenError, match=r"the recipients changed \(3 messages at preview, 4 now\)"):
        campaign_send(spec=spec(), scope=OPERATOR, token=token)
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0


def test_changed_address_is_refused_even_with_the_same_count(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[1].pk).update(phone="55555555", phone_e164="+37255555555")
    with pytest.raises(StaleTokenError, match="the recipients changed"):
        campaign_send(spec=spec(), scope=OPERATOR, token=token)


def test_changed_name_is_refused(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[0].pk).update(first_name="Toomas")
    with pytest.raises(StaleTokenError, match="the recipients changed"):
        campaign_send(spec=spec(), scope=OPERATOR, token=token)


def test_malformed_token_is_refused(patients: list[Patient]) -> None:
    with pytest.raises(StaleTokenError, match="malformed"):
        campaign_send(spec=spec(), scope=OPERATOR, token="v1.abc")


def test_send_is_audited_without_patient_data(patients: list[Patient]) -> None:
    outcome = campaign_send(spec=spec(), scope=Scope(actor="anna", clinic_ids=None))
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.campaign_id) == ("anna", "campaign_send", outcome.campaign_id)
    assert event.detail["messages"] == 3
    assert "Tõnu" not in str(event.detail) and "+372" not in str(event.detail)


def test_status_counts_messages(patients: list[Patient]) -> None:
    outcome = campaign_send(spec=spec(), scope=OPERATOR)
    status = campaign_status(campaign_id=outcome.campaign_id, scope=OPERATOR)
    assert status["status"] == "sending"
    assert status["messages"]["queued"] == 3 and status["total"] == 3
