"""`recently_messaged` (issue 19): a patient who got a message of a campaign of the same purpose on a channel within
the last N days is left out of that channel — N the campaign's `recently_messaged_days`, else for marketing their
clinic's setting (14 days by default), for service off."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import pytest
from django.utils import timezone

from masspost.campaigns.models import Campaign
from masspost.campaigns.selectors import campaign_counts, campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from tests.conftest import campaign

pytestmark = pytest.mark.django_db


def sent_before(patients: Iterable[Patient], *, purpose: str = "marketing", channel: str = "sms",
                name: str = "Recall A", ago: dt.timedelta = dt.timedelta(days=3), status: str = "sent",
                clinics: tuple[str, ...] = ("TLN",)) -> Campaign:
    """A campaign sent `ago`, with one outbox row per patient in `status`: as the send writes it, with its
    campaign (the row's created_at is the campaign's)."""
    at = timezone.now() - ago
    sent = Campaign.objects.create(name=name, purpose=purpose, channel=channel, spec={}, audience={"clinics": list(
        clinics)}, token=f"test-{uuid.uuid4()}", deadline=at + dt.timedelta(days=3), created_by="test")
    Campaign.objects.filter(id=sent.id).update(created_at=at)
    sent.refresh_from_db()
    for p in patients:
        OutboxMessage.objects.create(campaign=sent, patient=p, patient_ref=p.external_id, channel=channel,
                                     address=p.phone_e164 if channel == "sms" else p.email_normalized,
                                     language="et", body="Tere", deadline=sent.deadline, status=status,
                                     created_at=at)
    return sent


def preview(**fields: Any) -> dict[str, Any]:
    return campaign_preview(spec=CampaignSpec.from_dict(campaign(**fields)), scope=Scope.operator()).to_dict()


def test_marketing_leaves_out_who_got_marketing_within_the_clinics_14_days(make_patient: Any) -> None:
    lately, long_ago, never = make_patient(), make_patient(), make_patient()
    sent_before([lately])
    sent_before([long_ago], ago=dt.timedelta(days=15))
    data = preview(purpose="marketing")
    assert data["recipients"]["et"]["sms"] == 2
    assert data["excluded"]["sms"]["recently_messaged"] == 1
    refs = []
    campaign_preview(spec=CampaignSpec.from_dict(campaign(purpose="marketing")), scope=Scope.operator(),
                     on_excluded=lambda e: refs.append((e.patient_ref, e.reason)))
    assert refs == [(lately.external_id, "recently_messaged")]
    assert never.external_id not in dict(refs)


def test_each_clinic_counts_its_own_days(make_patient: Any, clinic: Clinic, other_clinic: Clinic) -> None:
    Clinic.objects.filter(id=clinic.id).update(recently_messaged_days=30)
    Clinic.objects.filter(id=other_clinic.id).update(recently_messaged_days=0)
    tallinn_20_days, tallinn_40_days = make_patient(), make_patient()
    tartu_1_day = make_patient(clinic=other_clinic)
    sent_before([tallinn_20_days], ago=dt.timedelta(days=20))
    sent_before([tallinn_40_days], ago=dt.timedelta(days=40))
    sent_before([tartu_1_day], ago=dt.timedelta(days=1), clinics=("TRT",))
    data = preview(purpose="marketing")
    assert data["excluded"]["sms"]["recently_messaged"] == 1
    assert data["recipients"]["et"]["sms"] == 2


def test_the_campaigns_own_days_win_and_zero_is_off(make_patient: Any) -> None:
    five_days, ten_days = make_patient(), make_patient()
    sent_before([five_days], ago=dt.timedelta(days=5))
    sent_before([ten_days], ago=dt.timedelta(days=10))
    assert preview(purpose="marketing", recently_messaged_days=7)["excluded"]["sms"]["recently_messaged"] == 1
    data = preview(purpose="marketing", recently_messaged_days=0)
    assert data["excluded"]["sms"]["recently_messaged"] == 0 and data["recipients"]["et"]["sms"] == 2


def test_service_is_off_unless_asked_and_counts_only_service(make_patient: Any) -> None:
    got_service, got_marketing = make_patient(), make_patient()
    sent_before([got_service], purpose="service")
    sent_before([got_marketing], purpose="marketing")
    assert preview(purpose="service")["excluded"]["sms"]["recently_messaged"] == 0
    data = preview(purpose="service", recently_messaged_days=7)
    assert data["excluded"]["sms"]["recently_messaged"] == 1 and data["recipients"]["et"]["sms"] == 1
    # and marketing counts only marketing
    assert preview(purpose="marketing")["excluded"]["sms"]["recently_messaged"] == 1


@pytest.mark.parametrize(("status", "counts"), [
    ("queued", True), ("sending", True), ("sent", True), ("delivered", True), ("undelivered", True),
    ("unknown", True), ("failed", False), ("cancelled", False), ("expired", False), ("left_out", False)])
def test_only_a_message_that_went_or_may_still_go_counts(make_patient: Any, status: str, counts: bool) -> None:
    sent_before([make_patient()], status=status)
    assert preview(purpose="marketing")["excluded"]["sms"]["recently_messaged"] == (1 if counts else 0)


def test_per_channel_and_after_the_patients_own_reasons(make_patient: Any) -> None:
    both = make_patient()
    opted_out = make_patient(accepts_sms=False)
    sent_before([both, opted_out], channel="sms")
    content = {"et": {"sms": "Tere {first_name}!", "email_subject": "Tere", "email_body": "Tere {first_name}!"}}
    data = preview(purpose="marketing", channel="both", content=content)
    assert data["excluded"]["sms"] == {"opted_out": 1, "no_marketing_consent": 0, "no_content": 0, "no_address": 0,
                                       "invalid_address": 0, "recently_messaged": 1, "shared_address": 0,
                                       "no_sender": 0}
    assert data["recipients"]["et"] == {"sms": 0, "email": 2}  # an SMS lately leaves the e-mail alone


def test_a_message_since_the_preview_changes_its_token(make_patient: Any) -> None:
    patient = make_patient()
    make_patient()
    before = preview(purpose="marketing")
    sent_before([patient])
    after = preview(purpose="marketing")
    assert before["token"] != after["token"]
    assert (before["messages_total"], after["messages_total"]) == (2, 1)


def test_a_pass_over_a_sent_campaign_can_leave_its_own_messages_out(make_patient: Any) -> None:
    from masspost.audience.selectors import audience_resolve
    from masspost.campaigns.sweep import sweep

    patients = [make_patient(), make_patient()]
    own = sent_before(patients, ago=dt.timedelta(minutes=5))
    spec = CampaignSpec.from_dict(campaign(purpose="marketing"))
    resolved = audience_resolve(audience=spec.audience, scope=Scope.operator())
    assert sweep(spec=spec, resolved=resolved).excluded["sms"]["recently_messaged"] == 2
    again = sweep(spec=spec, resolved=resolved, ignore_campaign=own.id)
    assert again.excluded["sms"]["recently_messaged"] == 0 and again.messages == 2


def test_the_previews_clock_is_the_one_recently_messaged_counts_back_from(make_patient: Any) -> None:
    # 13 days ago is within the clinic's 14 days now; counted from a preview two days on, it is 15 days ago.
    make_patient()
    sent_before([make_patient()], ago=dt.timedelta(days=13))
    spec = CampaignSpec.from_dict(campaign(purpose="marketing"))
    today = campaign_preview(spec=spec, scope=Scope.operator()).to_dict()
    later = campaign_preview(spec=spec, scope=Scope.operator(), now=timezone.now() + dt.timedelta(days=2)).to_dict()
    assert today["excluded"]["sms"]["recently_messaged"] == 1 and today["recipients"]["et"]["sms"] == 1
    assert later["excluded"]["sms"]["recently_messaged"] == 0 and later["recipients"]["et"]["sms"] == 2


BOTH = {"et": {"sms": "Tere {first_name}!", "email_subject": "Tere", "email_body": "Tere {first_name}!"}}


def test_no_marketing_consent_on_the_channel_comes_before_recently_messaged(make_patient: Any) -> None:
    """Messaged lately on both channels, consent to offers by e-mail only: the SMS leaves the patient out for the
    missing consent (their own reason, first), the e-mail as recently messaged; the live count agrees."""
    patient = make_patient(marketing_sms=False, marketing_email=True)
    sent_before([patient], channel="sms")
    sent_before([patient], channel="email", name="Recall B")
    spec = CampaignSpec.from_dict(campaign(purpose="marketing", channel="both", content=BOTH))
    data = campaign_preview(spec=spec, scope=Scope.operator()).to_dict()
    assert data["excluded"]["sms"]["no_marketing_consent"] == 1 and data["excluded"]["sms"]["recently_messaged"] == 0
    assert data["excluded"]["email"]["recently_messaged"] == 1
    assert data["excluded"]["email"]["no_marketing_consent"] == 0
    assert campaign_counts(spec=spec, scope=Scope.operator())["excluded"] == data["excluded"]


def test_who_shares_an_address_is_chosen_among_those_with_the_channels_consent(make_patient: Any) -> None:
    """Two patients share a phone and an e-mail address; the household contact consents to offers by e-mail only.
    The SMS goes to the other one (the contact is no candidate for it: left out for the consent, not as sharing),
    the e-mail to the contact (the other one shares it). The live count agrees."""
    contact = make_patient(household_contact=True, marketing_sms=False, marketing_email=True,
                           phone="5000 0001", phone_e164="+37250000001", email="home@example.com",
                           email_normalized="home@example.com")
    other = make_patient(birth_date=dt.date(1950, 1, 1), phone="5000 0001", phone_e164="+37250000001",
                         email="home@example.com", email_normalized="home@example.com")
    spec = CampaignSpec.from_dict(campaign(purpose="marketing", channel="both", content=BOTH))
    recipients: list[Any] = []
    data = campaign_preview(spec=spec, scope=Scope.operator(), on_recipient=recipients.append).to_dict()
    assert {(r.patient_ref, r.channel) for r in recipients} == {(other.external_id, "sms"),
                                                                  (contact.external_id, "email")}
    assert data["excluded"]["sms"]["no_marketing_consent"] == 1 and data["excluded"]["sms"]["shared_address"] == 0
    assert data["excluded"]["email"]["shared_address"] == 1
    assert campaign_counts(spec=spec, scope=Scope.operator())["excluded"] == data["excluded"]
