"""Send: one confirmation → one campaign and exactly the previewed messages; stale previews are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from masspost.campaigns.models import AuditEvent, Campaign, PreviewSnapshot
from masspost.campaigns.selectors import campaign_preview, campaign_status
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from masspost.errors import NothingToSendError, StaleTokenError
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
    with pytest.raises(StaleTokenError) as err:
        campaign_send(spec=spec(), scope=OPERATOR, token=token)
    assert str(err.value) == ("preview again: the recipients changed: 1 patient newly matches the audience "
                              "(3 messages at preview, 4 now)")
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0


def stale(token: str, **overrides: Any) -> str:
    with pytest.raises(StaleTokenError) as err:
        campaign_send(spec=spec(**overrides), scope=OPERATOR, token=token)
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0
    return str(err.value)


def test_changed_phone_numbers_are_counted(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[1].pk).update(phone="55555555", phone_e164="+37255555555")
    assert stale(token) == ("preview again: the recipients changed: 1 recipient's phone number changed "
                            "(3 messages at preview, 3 now)")
    Patient.objects.filter(pk=patients[2].pk).update(phone="55555556", phone_e164="+37255555556")
    assert "2 recipients' phone numbers changed" in stale(token)


def test_changed_email_addresses_are_counted(patients: list[Patient]) -> None:
    content = {"et": {"email_subject": "Tere", "email_body": "Tere {first_name}"}, "ru": {"sms": "Привет"}}
    token = str(campaign_preview(spec=spec(channel="both", content=content), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[0].pk).update(email="new@example.com", email_normalized="new@example.com")
    message = stale(token, channel="both", content=content)
    assert "1 recipient's e-mail address changed" in message and "phone" not in message


def test_patients_who_left_the_audience_are_counted(patients: list[Patient], make_patient: Any) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk__in=[patients[1].pk, patients[3].pk]).update(status="archived")
    make_patient(language="en")
    assert stale(token) == ("preview again: the recipients changed: 2 patients no longer match the audience; "
                            "1 patient newly matches the audience (3 messages at preview, 3 now)")


def test_changed_language_is_counted(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[1].pk).update(language="en")
    assert "1 recipient's language changed" in stale(token)


def test_changed_names_are_counted(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk__in=[patients[0].pk, patients[2].pk]).update(first_name="Toomas")
    assert "names or clinic details in 2 messages changed" in stale(token)


def test_changed_clinic_details_are_counted(patients: list[Patient]) -> None:
    content = {"et": {"sms": "Tere! {clinic_phone}"}, "ru": {"sms": "Привет"}, "en": {"sms": "Hi"}}
    token = str(campaign_preview(spec=spec(content=content), scope=OPERATOR).token)
    Clinic.objects.update(phone="+372 600 9999")
    # Only the Estonian text shows the clinic's phone.
    assert "names or clinic details in 1 message changed" in stale(token, content=content)


def test_changes_nothing_sent_depends_on_are_not_stale(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[0].pk).update(last_name="Kask")  # no text shows the last name
    Clinic.objects.update(phone="+372 600 9999", email="new@hammas.example")  # nor the phone; no e-mail is sent
    assert campaign_send(spec=spec(), scope=OPERATOR, token=token).messages == 3


def test_changed_sms_sender_is_refused(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Clinic.objects.update(sms_sender="Hammas")
    assert "names or clinic details in 3 messages changed" in stale(token)


def test_recipients_who_opted_out_since_are_counted(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[0].pk).update(accepts_sms=False)
    Patient.objects.filter(pk=patients[4].pk).update(accepts_sms=True)
    message = stale(token)
    assert "1 recipient is now left out of SMS (opted_out 1)" in message
    assert "1 patient now gets SMS" in message


def test_stale_message_has_no_patient_data(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[1].pk).update(first_name="Jevgeni", phone="55555555",
                                                     phone_e164="+37255555555")
    message = stale(token)
    assert "Jevgeni" not in message and "5555" not in message and patients[1].external_id not in message


def test_stale_preview_without_its_details_still_says_what_changed(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    PreviewSnapshot.objects.all().delete()  # e.g. pruned: kept for a day
    Patient.objects.filter(pk=patients[1].pk).update(phone="55555555", phone_e164="+37255555555")
    assert stale(token) == "preview again: the recipients changed (3 messages at preview, 3 now)"


def test_old_previews_details_are_pruned(patients: list[Patient]) -> None:
    campaign_preview(spec=spec(), scope=OPERATOR)
    PreviewSnapshot.objects.update(created_at=timezone.now() - timedelta(days=2))
    campaign_preview(spec=spec(content={"et": {"sms": "Tere"}}), scope=OPERATOR)
    assert PreviewSnapshot.objects.count() == 1


def test_nothing_to_send_is_refused(make_patient: Any) -> None:
    make_patient(accepts_sms=False)
    preview = campaign_preview(spec=spec(), scope=OPERATOR)
    assert preview.result.messages == 0
    for token in (str(preview.token), None):
        with pytest.raises(NothingToSendError, match="nothing to send"):
            campaign_send(spec=spec(), scope=OPERATOR, token=token)
    assert Campaign.objects.count() == 0
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["preview"]  # the preview, no send


def test_malformed_token_is_refused(patients: list[Patient]) -> None:
    with pytest.raises(StaleTokenError, match="malformed"):
        campaign_send(spec=spec(), scope=OPERATOR, token="v1.abc")


def test_a_token_of_an_older_version_asks_for_a_new_preview(patients: list[Patient]) -> None:
    """v2 tokens summed blake2b hashes: a v2 digest can never match a v3 one, so it is called old, not stale."""
    current = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    for old in ("v2." + current.split(".", 1)[1], "v1.a.b.c.d.e"):
        with pytest.raises(StaleTokenError, match="older version of masspost"):
            campaign_send(spec=spec(), scope=OPERATOR, token=old)
    assert Campaign.objects.count() == 0


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
