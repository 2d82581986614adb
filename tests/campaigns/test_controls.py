"""A control that does not apply is refused and changes nothing (issue 16, point 13): the rule of
campaigns.controls, through the services and the command line (exit 2, one line saying why)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from masspost.campaigns.controls import controls_applicable
from masspost.campaigns.models import AuditEvent, Campaign, CampaignState
from masspost.campaigns.selectors import campaign_status
from masspost.campaigns.services import (
    campaign_cancel,
    campaign_pause,
    campaign_resend_unknown,
    campaign_resume,
    campaign_send,
)
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.delivery.models import HeldCampaign, MessageStatus, OutboxMessage
from masspost.errors import ConflictError
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
OPERATOR = Scope.operator()
SERVICES: dict[str, Callable[..., int]] = {"pause": campaign_pause, "resume": campaign_resume,
                                           "cancel": campaign_cancel, "resend-unknown": campaign_resend_unknown}


@pytest.fixture
def campaign_id(make_patient: Any) -> int:
    for _ in range(3):
        make_patient()
    return campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=OPERATOR).campaign_id


def everything(campaign_id: int) -> tuple[Any, ...]:
    """What a control could change: the campaign's state, its outbox, its hold, the audit log."""
    return (Campaign.objects.get(id=campaign_id).state,
            sorted(OutboxMessage.objects.values_list("id", "status", "updated_at")),
            HeldCampaign.objects.filter(campaign_id=campaign_id).exists(), AuditEvent.objects.count())


def all_sent(campaign_id: int) -> None:
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(status=MessageStatus.SENT)


@pytest.mark.parametrize("action", ["pause", "cancel", "resume", "resend-unknown"])
def test_no_control_but_none_applies_to_a_campaign_whose_messages_are_all_sent(campaign_id: int, action: str) -> None:
    all_sent(campaign_id)
    before = everything(campaign_id)
    with pytest.raises(ConflictError, match=f"campaign {campaign_id}"):
        SERVICES[action](campaign_id=campaign_id, scope=OPERATOR)
    assert everything(campaign_id) == before
    assert campaign_status(campaign_id=campaign_id, scope=OPERATOR)["status"] == "done"


def test_cancel_of_a_sent_campaign_says_why(campaign_id: int) -> None:
    all_sent(campaign_id)
    with pytest.raises(ConflictError, match=r"nothing to cancel: campaign \d+ has no message waiting to be sent "
                                            r"\(3 sent\)"):
        campaign_cancel(campaign_id=campaign_id, scope=OPERATOR)


def test_pause_twice_and_resume_of_an_active_campaign_are_refused(campaign_id: int) -> None:
    with pytest.raises(ConflictError, match="is not paused"):
        campaign_resume(campaign_id=campaign_id, scope=OPERATOR)
    assert campaign_pause(campaign_id=campaign_id, scope=OPERATOR) == 3
    before = everything(campaign_id)
    with pytest.raises(ConflictError, match="is paused already"):
        campaign_pause(campaign_id=campaign_id, scope=OPERATOR)
    assert everything(campaign_id) == before
    # A paused campaign can still be cancelled: its messages wait.
    assert campaign_cancel(campaign_id=campaign_id, scope=OPERATOR) == 3
    assert Campaign.objects.get(id=campaign_id).state == CampaignState.CANCELLED


def test_a_cancelled_campaign_takes_no_control(campaign_id: int) -> None:
    campaign_cancel(campaign_id=campaign_id, scope=OPERATOR)
    OutboxMessage.objects.filter(id=OutboxMessage.objects.order_by("id")[0].id).update(status=MessageStatus.UNKNOWN)
    before = everything(campaign_id)
    for action, service in SERVICES.items():
        with pytest.raises(ConflictError, match="is cancelled"):
            service(campaign_id=campaign_id, scope=OPERATOR)
        assert everything(campaign_id) == before, action


def test_resend_unknown_needs_unknown_messages(campaign_id: int) -> None:
    with pytest.raises(ConflictError, match="no message whose fate is unknown"):
        campaign_resend_unknown(campaign_id=campaign_id, scope=OPERATOR)
    OutboxMessage.objects.filter(campaign_id=campaign_id).update(status=MessageStatus.UNKNOWN)
    assert campaign_resend_unknown(campaign_id=campaign_id, scope=OPERATOR) == 3


@pytest.mark.parametrize(("state", "counts", "applicable"), [
    ("active", {"queued": 2}, {"pause", "cancel"}),
    ("active", {"sending": 2}, set()),  # being handed over: nothing to hold or cancel
    ("active", {"sent": 2, "unknown": 1}, {"resend-unknown"}),
    ("paused", {"queued": 2}, {"resume", "cancel"}),
    ("paused", {"sent": 2}, {"resume"}),
    ("cancelled", {"queued": 1, "unknown": 1}, set()),
])
def test_which_controls_apply(state: str, counts: dict[str, int], applicable: set[str]) -> None:
    assert controls_applicable(state=state, counts=counts) == applicable


# --- the command line ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["cancel", "pause", "resume", "resend-unknown"])
def test_the_command_line_refuses_with_exit_2_and_changes_nothing(campaign_id: int, command: str) -> None:
    all_sent(campaign_id)
    before = everything(campaign_id)
    with pytest.raises(CommandError) as refused:
        call_command(command.replace("-", "_"), str(campaign_id), "--json")
    assert refused.value.returncode == 2
    assert f"campaign {campaign_id}" in str(refused.value) and "\n" not in str(refused.value)
    assert everything(campaign_id) == before


@pytest.mark.parametrize("action", ["pause", "cancel", "resend-unknown"])
def test_a_control_whose_rows_a_worker_took_after_the_check_is_refused_and_changes_nothing(
        campaign_id: int, action: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race of the review: the check sees rows to change, then a worker claims the last of them before the
    change runs. The control changes nothing (0 rows), so it is refused — the state, hold and audit stay."""
    import masspost.campaigns.services as services
    if action == "resend-unknown":
        OutboxMessage.objects.filter(campaign_id=campaign_id).update(status=MessageStatus.UNKNOWN)
    real = services.outbox_status_counts
    calls = []

    def counts_then_worker_takes_all(*, campaign_id: int) -> dict[str, int]:
        seen = real(campaign_id=campaign_id)
        if not calls:
            all_sent(campaign_id)      # what the worker does between the check and the change
        calls.append(seen)
        return seen

    monkeypatch.setattr(services, "outbox_status_counts", counts_then_worker_takes_all)
    state = Campaign.objects.get(id=campaign_id).state
    audits = AuditEvent.objects.count()
    with pytest.raises(ConflictError, match=f"campaign {campaign_id}"):
        SERVICES[action](campaign_id=campaign_id, scope=OPERATOR)
    assert Campaign.objects.get(id=campaign_id).state == state
    assert not HeldCampaign.objects.filter(campaign_id=campaign_id).exists()
    assert AuditEvent.objects.count() == audits
