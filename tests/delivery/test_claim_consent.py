"""The claim is the opt-outs' net (delivery.turn): a due row whose patient's consent refuses it when the worker
claims it becomes `suppressed` (reason `opted_out`) instead of being handed off — whatever the opt-out missed: the
rows of a send that committed after it, and rows that came back to the queue later (a retry, resend-unknown). And
a marketing e-mail's List-Unsubscribe header carries the key the send stored, its https part only when there is a
stored link."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.ledger import consent_change
from masspost.clinic.models import Patient
from masspost.clinic.scope import Scope
from masspost.delivery.claims import outbox_claim, outbox_record
from masspost.delivery.gateways.base import Outcome, SendResult
from masspost.delivery.models import OptOutLink, OutboxMessage
from masspost.delivery.optout import optout_key
from masspost.delivery.outbox import outbox_requeue_unknown
from masspost.delivery.suppress import opt_out
from masspost.delivery.turn import OPTED_OUT, ClaimedMessage, outbox_turn
from tests.conftest import campaign

LEASE = dt.timedelta(minutes=5)
PUBLIC = "https://post.hammas.example"
MAILTO = "unsubscribe@hammas.example"
OWN_KEY = "the-installations-own-secret-key"  # not the public development key: links are written (delivery.optout)
CONTENT = {"et": {"sms": "Tere {first_name}!", "email_subject": "Pakkumine", "email_body": "Tere {first_name}!"}}


def send(purpose: str, channel: str = "both") -> int:
    return campaign_send(spec=CampaignSpec.from_dict(campaign(purpose=purpose, channel=channel, content=CONTENT)),
                         scope=Scope.operator()).campaign_id


def claim(channel: str, *, later: dt.timedelta = dt.timedelta(seconds=1)) -> list[ClaimedMessage]:
    return outbox_turn(worker_id="w1", now=timezone.now() + later, lease=LEASE, channel=channel, limit=100).claimed


def statuses(patient: Patient) -> dict[tuple[int, str], tuple[str, str]]:
    """(campaign, channel) → (status, last_error) of the patient's rows."""
    return {(row.campaign_id, row.channel): (row.status, row.last_error)
            for row in OutboxMessage.objects.filter(patient=patient)}


def withdraw_behind_the_outbox(patient: Patient, channel: str, purpose: str) -> None:
    """The patient's opt-out as the ledger records it, its suppression missed: what a send whose rows commit after
    the opt-out leaves (PostgreSQL: the send read the consent before the opt-out and wrote its rows after it)."""
    consent_change(patient_id=patient.id, channel=channel, purpose=purpose, accepts=False, source="unsubscribe")


@pytest.mark.django_db
@pytest.mark.parametrize("purpose", ["marketing", "service"])
def test_a_claim_suppresses_what_the_patients_consent_now_refuses(purpose: str,
                                                                  make_patient: Callable[..., Patient]) -> None:
    """A marketing opt-out of e-mail refuses only marketing e-mail; a hard one (service: the channel as a whole)
    every e-mail; SMS is another channel and goes; everybody else's messages go."""
    mari, other = make_patient(), make_patient()
    offers, service = send("marketing"), send("service")
    withdraw_behind_the_outbox(mari, "email", purpose)

    mails, texts = claim("email"), claim("sms")

    refused = {offers} if purpose == "marketing" else {offers, service}
    assert {(row.patient_id, row.campaign_id) for row in mails} == (
        {(other.id, offers), (other.id, service)} | {(mari.id, c) for c in {offers, service} - refused})
    assert {(row.patient_id, row.campaign_id) for row in texts} == {
        (p.id, c) for p in (mari, other) for c in (offers, service)}
    assert statuses(mari) == {
        **{(c, "email"): ("suppressed", OPTED_OUT) if c in refused else ("sending", "") for c in (offers, service)},
        **{(c, "sms"): ("sending", "") for c in (offers, service)}}
    # Suppressed, not claimed: no attempt counted, no lease.
    for row in OutboxMessage.objects.filter(patient=mari, status="suppressed"):
        assert (row.attempts, row.lease_until, row.sent_at) == (0, None, None)


@pytest.mark.django_db
def test_a_later_re_consent_wins(make_patient: Callable[..., Patient]) -> None:
    """The claim reads the consent columns as they are when it runs, not the history."""
    mari = make_patient()
    send("marketing", channel="sms")
    withdraw_behind_the_outbox(mari, "sms", "marketing")
    consent_change(patient_id=mari.id, channel="sms", purpose="marketing", accepts=True, source="staff:anna")
    assert [row.patient_id for row in claim("sms")] == [mari.id]


@pytest.mark.django_db
def test_the_plain_claim_has_the_same_rule(make_patient: Callable[..., Patient]) -> None:
    mari, other = make_patient(), make_patient()
    send("marketing", channel="sms")
    withdraw_behind_the_outbox(mari, "sms", "service")
    claimed = outbox_claim(worker_id="w", now=timezone.now() + dt.timedelta(seconds=1), limit=10, lease=LEASE)
    assert [row.patient_id for row in claimed] == [other.id]
    assert set(statuses(mari).values()) == {("suppressed", OPTED_OUT)}
    assert set(statuses(other).values()) == {("sending", "")}


@pytest.mark.django_db
@pytest.mark.parametrize("back", ["retry", "resend-unknown"])
def test_a_row_queued_again_after_the_opt_out_is_suppressed_at_its_next_claim(
        back: str, make_patient: Callable[..., Patient]) -> None:
    """Claimed before the opt-out, so the opt-out rightly left it alone; then it came back to the queue — a
    transient failure's retry, or the operator's resend-unknown hours later: the next claim must not send it."""
    mari = make_patient()
    campaign_id = send("service", channel="sms")
    [row] = claim("sms")
    changed = opt_out(patient_ids=[mari.id], channel="sms", purpose="service", source="sms-stop")
    assert changed == [mari.id]
    assert OutboxMessage.objects.get(id=row.id).status == "sending"  # handed off: as it is

    if back == "retry":
        outcome = SendResult(outcome=Outcome.TRANSIENT, error="throttled")
        assert outbox_record(row=row, result=outcome, worker_id="w1", now=timezone.now()) == "retried"
    else:
        outcome = SendResult(outcome=Outcome.UNKNOWN, error="no answer")
        assert outbox_record(row=row, result=outcome, worker_id="w1", now=timezone.now()) == "unknown"
        assert outbox_requeue_unknown(campaign_id=campaign_id) == 1
    assert OutboxMessage.objects.get(id=row.id).status == "queued"

    assert claim("sms", later=dt.timedelta(hours=2)) == []  # past any retry's back-off
    stored = OutboxMessage.objects.get(id=row.id)
    assert (stored.status, stored.last_error, stored.attempts) == ("suppressed", OPTED_OUT, 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="needs two connections writing at once: SQLite "
                    "serialises writers, so a send and an opt-out cannot overlap there")
def test_an_opt_out_that_commits_while_a_send_is_open_is_kept(make_patient: Callable[..., Patient]) -> None:
    """The review's race on PostgreSQL: the send reads the consent, the patient's opt-out commits from another
    connection (finding none of the send's rows: they are not committed), then the send commits. Nothing of that
    patient is handed off."""
    mari, other = make_patient(), make_patient()
    done: list[list[int]] = []

    def unsubscribe() -> None:
        try:
            done.append(opt_out(patient_ids=[mari.id], channel="email", purpose="marketing", source="unsubscribe"))
        finally:
            connection.close()

    with transaction.atomic():
        campaign_id = send("marketing")
        assert OutboxMessage.objects.filter(campaign_id=campaign_id, patient=mari).count() == 2
        thread = threading.Thread(target=unsubscribe)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the opt-out waited for the send: the race was not reproduced"
    assert done == [[mari.id]]
    assert OutboxMessage.objects.filter(patient=mari, status="queued").count() == 2  # the opt-out missed them

    assert {row.patient_id for row in claim("email")} == {other.id}
    assert {row.patient_id for row in claim("sms")} == {mari.id, other.id}
    assert statuses(mari)[(campaign_id, "email")] == ("suppressed", OPTED_OUT)


@pytest.mark.django_db
def test_the_header_carries_the_key_the_send_stored(settings: Any, make_patient: Callable[..., Patient]) -> None:
    """The link in the body is the stored one; the header must name the same key even if the installation's secret
    key changed between the send and the claim (rotated after a leak, say)."""
    settings.MASSPOST_PUBLIC_URL, settings.MASSPOST_UNSUBSCRIBE_MAILTO, settings.SECRET_KEY = PUBLIC, MAILTO, OWN_KEY
    mari = make_patient()
    campaign_id = send("marketing", channel="email")
    [link] = OptOutLink.objects.filter(campaign_id=campaign_id, patient=mari, channel="email")
    settings.SECRET_KEY = "rotated-after-a-leak"
    assert optout_key(campaign_id=campaign_id, patient_id=mari.id, channel="email") != link.key

    [mail] = claim("email")
    assert mail.list_unsubscribe == f"<{PUBLIC}/u/{link.key}>, <mailto:{MAILTO}?subject=unsubscribe%20{link.key}>"


@pytest.mark.django_db
def test_no_https_part_without_a_stored_link(settings: Any, make_patient: Callable[..., Patient]) -> None:
    """No link stored (links were off at the send): a public URL set by the time of the claim must not put a link
    that leads nowhere in the header. The mailto part stays."""
    settings.MASSPOST_PUBLIC_URL, settings.MASSPOST_UNSUBSCRIBE_MAILTO, settings.SECRET_KEY = "", MAILTO, OWN_KEY
    mari = make_patient()
    campaign_id = send("marketing", channel="email")
    assert not OptOutLink.objects.filter(campaign_id=campaign_id).exists()
    settings.MASSPOST_PUBLIC_URL = PUBLIC

    [mail] = claim("email")
    key = optout_key(campaign_id=campaign_id, patient_id=mari.id, channel="email")
    assert mail.list_unsubscribe == f"<mailto:{MAILTO}?subject=unsubscribe%20{key}>"


@pytest.mark.django_db
def test_a_group_refused_whole_does_not_look_like_an_empty_queue(make_patient: Callable[..., Patient]) -> None:
    """The worker calls itself idle when a claim hands off nothing: a claim whose due rows were all refused claims
    again, so the rows behind them still go now."""
    mari, jaan = make_patient(), make_patient()
    offers = send("marketing", channel="sms")  # the older rows, claimed first: both refused
    service = send("service", channel="sms")
    for patient in (mari, jaan):
        withdraw_behind_the_outbox(patient, "sms", "marketing")

    result = outbox_turn(worker_id="w1", now=timezone.now() + dt.timedelta(seconds=1), lease=LEASE, channel="sms",
                         limit=2)
    assert {(row.campaign_id, row.patient_id) for row in result.claimed} == {(service, mari.id), (service, jaan.id)}
    assert result.suppressed == frozenset(
        OutboxMessage.objects.filter(campaign_id=offers, status="suppressed").values_list("id", flat=True))
    assert len(result.suppressed) == 2


def test_the_worker_counts_what_its_claims_suppressed(make_patient: Callable[..., Patient]) -> None:
    """`masspost worker`'s summary says how many it did not send because the patient had opted out."""
    from masspost.delivery.worker import worker_run

    stays, leaves = make_patient(), make_patient()
    send("marketing", "sms")
    withdraw_behind_the_outbox(leaves, "sms", "marketing")
    stats = worker_run(until_idle=True)
    assert (stats.sent, stats.suppressed) == (1, 1)
    assert {s for s, _ in statuses(stays).values()} == {"sent"}
