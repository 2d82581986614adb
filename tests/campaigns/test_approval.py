"""A second approver (issue 19): a clinic's `approval_over` (recipients) or `approval_cost_over` (a marketing
campaign's SMS cost) holds the send until another sender approves the token that was previewed. The author
cannot, a preparer cannot, a stale token cannot; a rejection cancels it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from masspost.campaigns.approvals import approvals_pending, approvals_waiting
from masspost.campaigns.models import Approval, AuditEvent, Campaign, CampaignState
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_approve, campaign_reject, campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import CampaignGate, OutboxMessage
from masspost.delivery.worker import GatewayConfig, worker_run
from masspost.errors import ConflictError, PermissionDeniedError
from masspost.staff.models import StaffMember
from masspost.staff.selectors import staff_scope
from tests.conftest import campaign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("memory_gateway", "always_open")]
OPERATOR = Scope.operator()
MEMORY = GatewayConfig(urls={"sms": "memory:sms", "email": "memory:email"})
BOTH = {"channel": "both", "content": {"et": {"sms": "Tere {first_name}!", "email_subject": "Meeldetuletus",
                                              "email_body": "Tere {first_name}!"}}}


@pytest.fixture
def memory_gateway() -> Any:
    MemoryGateway.reset()
    yield
    MemoryGateway.reset()


@pytest.fixture
def always_open(settings: Any) -> None:
    """Sending windows are not what these tests are about: the worker may send whenever it runs."""
    settings.MASSPOST_SENDING_WINDOWS = "always"


def spec(purpose: str = "service", **overrides: Any) -> CampaignSpec:
    return CampaignSpec.from_dict(campaign(purpose=purpose, **{**BOTH, **overrides}))


def staff(name: str, role: str, *clinics: Clinic) -> Scope:
    user = get_user_model().objects.create_user(username=name, password="x")
    member = StaffMember.objects.create(user=user, role=role)
    member.clinics.set(clinics)
    scope = staff_scope(user=user)
    assert scope is not None
    return scope


@pytest.fixture
def patients(clinic: Clinic, other_clinic: Clinic, make_patient: Any) -> list[Patient]:
    # Three recipients in Tallinn (an SMS and an e-mail each: 6 messages); in Tartu one patient, who gets nothing.
    return [make_patient(), make_patient(), make_patient(),
            make_patient(clinic=other_clinic, accepts_sms=False, accepts_email=False)]


def test_the_preview_counts_recipients_not_messages_and_the_strictest_clinic_with_recipients(
        clinic: Clinic, other_clinic: Clinic, patients: list[Patient]) -> None:
    other_clinic.approval_over = 0  # no recipient there: its rule does not apply
    other_clinic.save()
    assert campaign_preview(spec=spec(), scope=OPERATOR).to_dict()["approval"] is None
    clinic.approval_over = 3  # 3 recipients are not over 3
    clinic.save()
    preview = campaign_preview(spec=spec(), scope=OPERATOR)
    assert preview.result.messages == 6 and preview.to_dict()["approval"] is None
    clinic.approval_over = 2
    clinic.save()
    assert campaign_preview(spec=spec(), scope=OPERATOR).to_dict()["approval"] == {
        "needed": True, "rule": "recipients", "over": "2", "clinic": "TLN", "value": "3"}


def test_the_cost_rule_applies_to_marketing_only(clinic: Clinic, patients: list[Patient], settings: Any) -> None:
    settings.MASSPOST_SMS_PART_PRICE = "0.10 EUR"
    clinic.approval_cost_over = Decimal("0.25")
    clinic.save()
    sms = {"channel": "sms", "content": {"et": {"sms": "Tere {first_name}!"}}}
    assert campaign_preview(spec=spec("marketing", **sms), scope=OPERATOR).to_dict()["approval"] == {
        "needed": True, "rule": "cost", "over": "0.25 EUR", "clinic": "TLN", "value": "0.30 EUR"}
    assert campaign_preview(spec=spec("service", **sms), scope=OPERATOR).to_dict()["approval"] is None
    clinic.approval_cost_over = Decimal("0.30")  # not over it
    clinic.save()
    assert campaign_preview(spec=spec("marketing", **sms), scope=OPERATOR).to_dict()["approval"] is None


@pytest.fixture
def pending(clinic: Clinic, other_clinic: Clinic, patients: list[Patient]) -> tuple[int, Scope]:
    """A campaign over Tallinn's approval rule, sent by the sender "mari": (its id, her scope)."""
    clinic.approval_over = 2
    clinic.save()
    mari = staff("mari", "sender", clinic, other_clinic)
    preview = campaign_preview(spec=spec(), scope=mari)
    outcome = campaign_send(spec=spec(), scope=mari, token=str(preview.token))
    assert outcome.approval == "pending"
    return outcome.campaign_id, mari


def test_a_send_over_the_rule_waits_for_approval_and_nothing_goes(pending: tuple[int, Scope]) -> None:
    cid, _ = pending
    c = Campaign.objects.get(id=cid)
    assert c.approval == Approval.PENDING and c.messages == 6
    assert list(CampaignGate.objects.values_list("campaign_id", "reason")) == [(cid, "approval")]
    assert AuditEvent.objects.get(action="campaign_send").detail["approval"]["rule"] == "recipients"
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 0
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"queued"}


def test_the_author_cannot_approve_their_own(pending: tuple[int, Scope]) -> None:
    cid, mari = pending
    with pytest.raises(ConflictError) as refused:
        campaign_approve(campaign_id=cid, scope=mari)
    assert refused.value.reason == "own_campaign"
    with pytest.raises(ConflictError) as refused:
        campaign_reject(campaign_id=cid, scope=mari)
    assert refused.value.reason == "own_campaign"
    assert Campaign.objects.get(id=cid).approval == Approval.PENDING


def test_the_command_line_cannot_approve_what_it_sent(clinic: Clinic, other_clinic: Clinic,
                                                     patients: list[Patient]) -> None:
    clinic.approval_over = 2
    clinic.save()
    cid = campaign_send(spec=spec(), scope=OPERATOR).campaign_id
    with pytest.raises(ConflictError, match="your own"):
        campaign_approve(campaign_id=cid, scope=OPERATOR)
    # A member of staff can.
    assert campaign_approve(campaign_id=cid, scope=staff("jaan", "sender", clinic, other_clinic)) == 6


def test_a_preparer_cannot_approve(pending: tuple[int, Scope], clinic: Clinic, other_clinic: Clinic) -> None:
    cid, _ = pending
    preparer = staff("piret", "preparer", clinic, other_clinic)
    with pytest.raises(PermissionDeniedError):
        campaign_approve(campaign_id=cid, scope=preparer)
    with pytest.raises(PermissionDeniedError):
        campaign_reject(campaign_id=cid, scope=preparer)
    assert approvals_waiting(scope=preparer) == 0
    assert [c.id for c in approvals_pending(scope=preparer)] == [cid]  # a preparer sees that it waits


def test_another_sender_approves_and_it_goes(pending: tuple[int, Scope], clinic: Clinic,
                                             other_clinic: Clinic) -> None:
    cid, mari = pending
    jaan = staff("jaan", "sender", clinic, other_clinic)
    assert (approvals_waiting(scope=mari), approvals_waiting(scope=jaan)) == (0, 1)
    assert campaign_approve(campaign_id=cid, scope=jaan) == 6
    c = Campaign.objects.get(id=cid)
    assert (c.approval, c.approved_by, c.approved_by_user_id) == (Approval.APPROVED, "jaan", jaan.user_id)
    assert c.approved_at is not None and not CampaignGate.objects.exists()
    event = AuditEvent.objects.get(action="campaign_approve")
    assert (event.actor_user_id, event.campaign_id, event.detail["messages"]) == (jaan.user_id, cid, 6)
    assert approvals_pending(scope=jaan) == []
    assert worker_run(until_idle=True, gateways=MEMORY).sent == 6
    with pytest.raises(ConflictError) as refused:
        campaign_approve(campaign_id=cid, scope=jaan)
    assert refused.value.reason == "not_pending"


def test_a_stale_token_cannot_be_approved(pending: tuple[int, Scope], clinic: Clinic, other_clinic: Clinic,
                                          patients: list[Patient]) -> None:
    cid, _ = pending
    jaan = staff("jaan", "sender", clinic, other_clinic)
    Patient.objects.filter(id=patients[0].id).update(accepts_sms=False)  # opted out of SMS since the preview
    with pytest.raises(ConflictError, match="changed since it was previewed") as refused:
        campaign_approve(campaign_id=cid, scope=jaan)
    assert refused.value.reason == "stale"
    c = Campaign.objects.get(id=cid)
    assert c.approval == Approval.PENDING and CampaignGate.objects.filter(campaign_id=cid).exists()
    assert not AuditEvent.objects.filter(action="campaign_approve").exists()
    # Rejecting needs no fresh token: it cancels the campaign whole.
    assert campaign_reject(campaign_id=cid, scope=jaan) == 6
    c = Campaign.objects.get(id=cid)
    assert (c.approval, c.state, c.approved_by) == (Approval.REJECTED, CampaignState.CANCELLED, "jaan")
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"cancelled"}
    assert not CampaignGate.objects.exists()
    assert AuditEvent.objects.get(action="campaign_reject").detail == {"messages": 6}
    assert approvals_pending(scope=jaan) == []
    with pytest.raises(ConflictError) as refused:
        campaign_approve(campaign_id=cid, scope=jaan)
    assert refused.value.reason == "not_pending"


def test_a_marketing_campaigns_own_messages_do_not_make_its_token_stale(
        clinic: Clinic, other_clinic: Clinic, patients: list[Patient]) -> None:
    """Marketing leaves out the recently messaged (14 days by default): the campaign's own queued messages are
    not what made its patients recently messaged."""
    clinic.approval_over = 2
    clinic.save()
    mari = staff("mari", "sender", clinic, other_clinic)
    cid = campaign_send(spec=spec("marketing"), scope=mari).campaign_id
    jaan = staff("jaan", "sender", clinic, other_clinic)
    assert campaign_approve(campaign_id=cid, scope=jaan) == 6
    assert Campaign.objects.get(id=cid).purpose == "marketing"  # the pass's hiding of it was rolled back


def test_a_campaign_that_needs_no_approval_cannot_be_approved(clinic: Clinic, other_clinic: Clinic,
                                                             patients: list[Patient]) -> None:
    cid = campaign_send(spec=spec(), scope=OPERATOR).campaign_id
    assert Campaign.objects.get(id=cid).approval == ""
    with pytest.raises(ConflictError) as refused:
        campaign_approve(campaign_id=cid, scope=staff("jaan", "sender", clinic, other_clinic))
    assert refused.value.reason == "not_pending"
