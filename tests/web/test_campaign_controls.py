"""The campaign page offers only the controls that apply, and one that does not is refused with a 409 that
changes nothing (issue 16, point 13)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from masspost.campaigns.models import AuditEvent, Campaign, CampaignState
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Role, Scope
from masspost.delivery.models import MessageStatus, OutboxMessage
from tests.conftest import campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign_id(clinic: Clinic, make_patient: Callable[..., Patient]) -> int:
    for _ in range(3):
        make_patient()
    scope = Scope(actor="alice", clinic_ids=frozenset({clinic.id}), role=Role.SENDER)
    return campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=scope).campaign_id


def test_a_sent_campaign_shows_no_control_and_refuses_each(alice: Client, campaign_id: int) -> None:
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(status=MessageStatus.SENT)
    html = alice.get(f"/campaigns/{campaign_id}/").content.decode()
    assert "data-open-dialog" not in html
    audited = AuditEvent.objects.count()
    for action in ("pause", "cancel", "resume", "resend-unknown"):
        response = alice.post(f"/campaigns/{campaign_id}/{action}/")
        assert response.status_code == 409, action
        assert "Not possible now" in response.content.decode()
    assert Campaign.objects.get(id=campaign_id).state == CampaignState.ACTIVE
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert AuditEvent.objects.count() == audited


def test_messages_in_flight_only_offer_nothing_to_hold(alice: Client, campaign_id: int) -> None:
    # Handed to a worker: neither pause nor cancel can still stop them.
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(status=MessageStatus.SENDING)
    html = alice.get(f"/campaigns/{campaign_id}/").content.decode()
    assert "confirm-pause" not in html and "confirm-cancel" not in html


def test_a_paused_campaign_with_nothing_waiting_offers_resume_only(alice: Client, campaign_id: int) -> None:
    alice.post(f"/campaigns/{campaign_id}/pause/")
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(status=MessageStatus.SENT)
    html = alice.get(f"/campaigns/{campaign_id}/").content.decode()
    assert 'data-open-dialog="confirm-resume"' in html
    assert "confirm-cancel" not in html and "confirm-pause" not in html


@pytest.mark.parametrize(("language", "said"), [
    ("en", "No message of this campaign is waiting to be sent any more: nothing was changed."),
    ("et", "Selle kampaania ükski sõnum ei oota enam saatmist: midagi ei muudetud."),
    ("ru", "Ни одно сообщение этой рассылки больше не ждёт отправки: ничего не изменено."),
])
def test_the_refusal_says_why_in_the_users_language(make_staff: Callable[..., Client], clinic: Clinic,
                                                    campaign_id: int, language: str, said: str) -> None:
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(status=MessageStatus.SENT)
    client = make_staff("alice", "sender", clinic, language=language)
    response = client.post(f"/campaigns/{campaign_id}/cancel/")
    assert response.status_code == 409 and said in response.content.decode()
