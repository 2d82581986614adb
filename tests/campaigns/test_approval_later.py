"""An approval checks the token as its author's send saw it (review of issue 19, M1): the next day, two days later
for marketing (the recently-messaged window has moved), or by a sender who reaches more clinics than the author,
nothing has changed and the approval goes through; a real change (an opt-out, a clinic's sender, a text) is still
refused as stale. The clock is moved by replacing django.utils.timezone.now, as every service reads it."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from masspost.campaigns.models import Approval, AuditEvent, Campaign
from masspost.campaigns.services import campaign_approve, campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.test_send import campaign_test_send
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from masspost.errors import ConflictError, NotFoundError
from masspost.staff.models import StaffMember
from masspost.staff.selectors import staff_scope
from tests.campaigns.test_recently_messaged import sent_before
from tests.campaigns.test_test_send import gateways, smsc, smtp_server, token_of  # noqa: F401 (fixtures)
from tests.campaigns.test_test_send import staff as with_own_address
from tests.conftest import campaign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("always_open")]


@pytest.fixture
def always_open(settings: Any) -> None:
    settings.MASSPOST_SENDING_WINDOWS = "always"


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.timedelta], None]:
    """Move the clock every service reads forward by the given time."""
    real = timezone.now

    def move(by: dt.timedelta) -> None:
        monkeypatch.setattr(timezone, "now", lambda: real() + by)
    return move


def staff(name: str, role: str, *clinics: Clinic) -> Scope:
    user = get_user_model().objects.create_user(username=name, password="x")
    member = StaffMember.objects.create(user=user, role=role)
    member.clinics.set(clinics)
    scope = staff_scope(user=user)
    assert scope is not None
    return scope


def spec(purpose: str = "service", **fields: Any) -> CampaignSpec:
    """As the Bulk Mail form writes it: no reference date and no clinic named (the sender's clinics)."""
    return CampaignSpec.from_dict(campaign(purpose=purpose, audience={"age": {"min": 18}}, **fields))


def eighteen_tomorrow(make_patient: Any) -> Patient:
    """A patient who is 17 today in Tallinn and 18 tomorrow: the audience's age counts them only from tomorrow."""
    tomorrow = timezone.now().astimezone(ZoneInfo("Europe/Tallinn")).date() + dt.timedelta(days=1)
    try:
        birth = tomorrow.replace(year=tomorrow.year - 18)
    except ValueError:  # 29 February
        birth = dt.date(tomorrow.year - 18, 3, 1)
    return make_patient(birth_date=birth)


@pytest.fixture
def sent(clinic: Clinic, other_clinic: Clinic, make_patient: Any) -> tuple[int, Clinic, list[Patient]]:
    """A service campaign over Tallinn's approval rule, sent by "mari" (Tallinn only); a patient turns 18 tomorrow
    and Tartu has a patient of its own: neither is in what mari sent. (its id, Tallinn, Tallinn's recipients)"""
    clinic.approval_over = 1
    clinic.save()
    recipients = [make_patient(), make_patient()]
    eighteen_tomorrow(make_patient)
    make_patient(clinic=other_clinic)
    outcome = campaign_send(spec=spec(), scope=staff("mari", "sender", clinic))
    assert outcome.approval == "pending" and outcome.messages == 2
    return outcome.campaign_id, clinic, recipients


def test_the_next_day_nothing_changed_is_approved(sent: tuple[int, Clinic, list[Patient]],
                                                   later: Callable[[dt.timedelta], None]) -> None:
    cid, clinic, _ = sent
    jaan = staff("jaan", "sender", clinic)
    later(dt.timedelta(days=1))
    assert campaign_approve(campaign_id=cid, scope=jaan) == 2
    assert Campaign.objects.get(id=cid).approval == Approval.APPROVED


def test_an_admin_with_more_clinics_than_the_author_approves_it(
        sent: tuple[int, Clinic, list[Patient]], other_clinic: Clinic) -> None:
    cid, clinic, _ = sent
    boss = staff("boss", "admin", clinic, other_clinic)
    assert campaign_approve(campaign_id=cid, scope=boss) == 2
    assert Campaign.objects.get(id=cid).approval == Approval.APPROVED


def test_a_sender_who_does_not_reach_the_campaigns_clinics_cannot_see_it(
        sent: tuple[int, Clinic, list[Patient]], other_clinic: Clinic) -> None:
    cid, _, _ = sent
    with pytest.raises(NotFoundError):
        campaign_approve(campaign_id=cid, scope=staff("tartu", "sender", other_clinic))
    assert Campaign.objects.get(id=cid).approval == Approval.PENDING


def test_an_opt_out_the_next_day_is_still_stale(sent: tuple[int, Clinic, list[Patient]],
                                                later: Callable[[dt.timedelta], None]) -> None:
    cid, clinic, recipients = sent
    Patient.objects.filter(id=recipients[0].id).update(accepts_sms=False)
    later(dt.timedelta(days=1))
    with pytest.raises(ConflictError) as refused:
        campaign_approve(campaign_id=cid, scope=staff("jaan", "sender", clinic))
    assert refused.value.reason == "stale"
    assert Campaign.objects.get(id=cid).approval == Approval.PENDING


def test_a_changed_sender_or_text_is_still_stale(sent: tuple[int, Clinic, list[Patient]],
                                                 other_clinic: Clinic) -> None:
    cid, clinic, _ = sent
    boss = staff("boss", "admin", clinic, other_clinic)
    Clinic.objects.filter(id=clinic.id).update(sms_sender="HammasUUS")
    with pytest.raises(ConflictError) as refused:
        campaign_approve(campaign_id=cid, scope=boss)
    assert refused.value.reason == "stale"
    Clinic.objects.filter(id=clinic.id).update(sms_sender="HammasTLN")
    stored = Campaign.objects.get(id=cid).spec
    stored["content"]["et"]["sms"] = "Tere {first_name}, uus tekst!"
    Campaign.objects.filter(id=cid).update(spec=stored)
    with pytest.raises(ConflictError) as refused:
        campaign_approve(campaign_id=cid, scope=boss)
    assert refused.value.reason == "stale"


def test_marketing_two_days_later_keeps_the_recently_messaged_of_its_send(
        clinic: Clinic, make_patient: Any, later: Callable[[dt.timedelta], None]) -> None:
    # Messaged by another marketing campaign a day before the send, with a 2-day window: left out at the send.
    # Two days later that message is 3 days old; counted from the approval the patient would be a recipient.
    Clinic.objects.filter(id=clinic.id).update(approval_over=1, recently_messaged_days=2)
    lately, others = make_patient(), [make_patient(), make_patient()]
    sent_before([lately], ago=dt.timedelta(days=1))
    outcome = campaign_send(spec=spec("marketing"), scope=staff("mari", "sender", clinic))
    assert outcome.approval == "pending" and outcome.messages == len(others)
    later(dt.timedelta(days=2))
    assert campaign_approve(campaign_id=outcome.campaign_id, scope=staff("jaan", "sender", clinic)) == 2


def test_marketing_a_new_opt_out_two_days_later_is_stale(
        clinic: Clinic, make_patient: Any, later: Callable[[dt.timedelta], None]) -> None:
    Clinic.objects.filter(id=clinic.id).update(approval_over=1, recently_messaged_days=2)
    lately, others = make_patient(), [make_patient(), make_patient()]
    sent_before([lately], ago=dt.timedelta(days=1))
    outcome = campaign_send(spec=spec("marketing"), scope=staff("mari", "sender", clinic))
    Patient.objects.filter(id=others[0].id).update(marketing_sms=False)
    later(dt.timedelta(days=2))
    with pytest.raises(ConflictError) as refused:
        campaign_approve(campaign_id=outcome.campaign_id, scope=staff("jaan", "sender", clinic))
    assert refused.value.reason == "stale"


def test_marketing_sms_a_withdrawn_email_offer_consent_two_days_later_changes_nothing(
        clinic: Clinic, make_patient: Any, later: Callable[[dt.timedelta], None]) -> None:
    # Consent is per channel: the SMS campaign's recipients are the same when one withdraws offers by e-mail.
    Clinic.objects.filter(id=clinic.id).update(approval_over=1)
    patients = [make_patient(), make_patient()]
    outcome = campaign_send(spec=spec("marketing"), scope=staff("mari", "sender", clinic))
    assert outcome.approval == "pending" and outcome.messages == 2
    Patient.objects.filter(id=patients[0].id).update(marketing_email=False)
    later(dt.timedelta(days=2))
    assert campaign_approve(campaign_id=outcome.campaign_id, scope=staff("jaan", "sender", clinic)) == 2


# The command line's test send (review of issue 19, N4): here rather than in test_test_send.py, whose gateways it
# borrows, as this change's own test.
@pytest.mark.usefixtures("gateways")
def test_a_test_send_from_the_command_line_is_audited_as_the_user_via_the_command_line(
        clinic: Clinic, make_patient: Any, tmp_path: Path) -> None:
    make_patient()
    scope = with_own_address(clinic)
    spec = CampaignSpec.from_dict(campaign())
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(campaign()), encoding="utf-8")
    call_command("test_send", str(path), "--token", token_of(spec, scope), "--user", "mari",
                 stdout=io.StringIO())
    [event] = AuditEvent.objects.filter(action="campaign_test_send")
    assert event.actor == "mari" and event.detail["via"] == "command line" and event.detail["messages"] == 1
    campaign_test_send(spec=spec, scope=scope)  # the user's own (API) test: no "via"
    assert "via" not in AuditEvent.objects.filter(action="campaign_test_send").latest("id").detail
