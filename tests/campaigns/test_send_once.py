"""The send under an idempotency key (the API's Idempotency-Key): a retry answers as the first request did and
sends nothing; another body under the key is refused; a key being used waits; a dead request's key is taken
over without a second campaign; a refused send frees its key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from masspost.campaigns.models import Campaign, IdempotentSend
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import IDEMPOTENCY_ABANDONED, IDEMPOTENCY_KEPT, campaign_send_once
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Role, Scope
from masspost.delivery.models import OutboxMessage
from masspost.errors import ConflictingRequestError, PermissionDeniedError, StaleTokenError, StateError
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
ALICE = Scope(actor="alice", user_id=1, clinic_ids=None, role=Role.SENDER)


def spec(**overrides: Any) -> CampaignSpec:
    return CampaignSpec.from_dict(campaign(**overrides))


@pytest.fixture
def token(make_patient: Any) -> str:
    make_patient(language="et")
    make_patient(language="ru")
    return str(campaign_preview(spec=spec(), scope=ALICE).token)


def send(token: str, key: str = "k", digest: str = "d1", scope: Scope = ALICE) -> Any:
    return campaign_send_once(spec=spec(), scope=scope, token=token, key=key, body_digest=digest)


def test_the_same_key_and_body_again_sends_nothing(token: str) -> None:
    first = send(token)
    again = send(token)
    assert first.created and not again.created
    assert (again.campaign_id, again.messages) == (first.campaign_id, first.messages)
    assert Campaign.objects.count() == 1 and OutboxMessage.objects.count() == first.messages == 2


def test_the_same_key_with_another_body_is_refused(token: str) -> None:
    send(token)
    with pytest.raises(ConflictingRequestError):
        send(token, digest="d2")
    assert Campaign.objects.count() == 1


def test_keys_are_each_users_own(token: str) -> None:
    first = send(token)
    other = send(token, scope=Scope(actor="ada", user_id=2, clinic_ids=None, role=Role.ADMIN))
    # Ada's key "k" is not Alice's; the preview was sent already, so she gets that campaign, and nothing more.
    assert other.campaign_id == first.campaign_id and not other.created
    assert IdempotentSend.objects.count() == 2


def test_a_key_still_in_use_is_a_conflict_until_it_is_abandoned(token: str) -> None:
    IdempotentSend.objects.create(actor="user:1", key="k", body_digest="d1")  # alice's request under way
    with pytest.raises(StateError, match="still being handled"):
        send(token)
    IdempotentSend.objects.update(created_at=timezone.now() - IDEMPOTENCY_ABANDONED - timedelta(seconds=1))
    outcome = send(token)  # its process died: taken over
    assert outcome.created and IdempotentSend.objects.get().campaign_id == outcome.campaign_id


def test_a_refused_send_frees_its_key(token: str, make_patient: Any) -> None:
    make_patient(language="et")  # the preview is stale now
    with pytest.raises(StaleTokenError) as refused:
        send(token)
    assert refused.value.changes and not IdempotentSend.objects.exists()
    fresh = str(campaign_preview(spec=spec(), scope=ALICE).token)
    assert send(fresh, digest="d2").messages == 3


def test_a_preparer_may_not_and_old_keys_go(token: str) -> None:
    with pytest.raises(PermissionDeniedError):
        send(token, scope=Scope(actor="bob", clinic_ids=None, role=Role.PREPARER))
    old = IdempotentSend.objects.create(actor="alice", key="old", body_digest="x")
    IdempotentSend.objects.filter(id=old.id).update(created_at=timezone.now() - IDEMPOTENCY_KEPT - timedelta(1))
    send(token)
    assert list(IdempotentSend.objects.values_list("key", flat=True)) == ["k"]
