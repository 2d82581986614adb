"""Opt-outs take effect at once (delivery.suppress): a withdrawal suppresses the patient's queued messages of the
channel (and purpose) in the transaction that records it; what is handed off is left alone."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from masspost.campaigns.models import Campaign
from masspost.clinic.ledger import consent_change, ledger_state
from masspost.clinic.models import ConsentEvent, Patient
from masspost.delivery.models import MessageStatus, OptOutLink, OutboxMessage
from masspost.delivery.optout import optout_key
from masspost.delivery.outbox import OutboxWriter
from masspost.delivery.suppress import OVERLAP, opt_out, opt_out_counted, outbox_suppress, suppress_withdrawn

pytestmark = pytest.mark.django_db
DEADLINE = dt.timedelta(days=2)


def make_campaign(*, purpose: str = "service", channel: str = "sms") -> int:
    return Campaign.objects.create(name="Suppress", purpose=purpose, channel=channel, spec={}, audience={},
                                   token=f"test-{uuid.uuid4()}", deadline=timezone.now() + DEADLINE,
                                   created_by="test").id


def queue(campaign_id: int, patients: list[Patient], *, channel: str = "sms", marketing: bool = False,
          keys: bool = False) -> None:
    """Outbox rows as the send writes them (OutboxWriter), with their opt-out links when `keys`."""
    writer = OutboxWriter(campaign_id=campaign_id, deadline=timezone.now() + DEADLINE, marketing=marketing)
    for p in patients:
        writer.add(patient_id=p.id, patient_ref=p.external_id, channel=channel,
                   address=p.phone_e164 if channel == "sms" else p.email, language="et", subject="",
                   body="Tere!", encoding="GSM-7", parts=1, sender="Hammas", sender_name="",
                   optout_key=optout_key(campaign_id=campaign_id, patient_id=p.id, channel=channel) if keys else "")
    writer.flush()


def status_of(patient: Patient, campaign_id: int, channel: str = "sms") -> tuple[str, str]:
    row = OutboxMessage.objects.get(patient_id=patient.id, campaign_id=campaign_id, channel=channel)
    return row.status, row.last_error


# -- the writer ----------------------------------------------------------------------------------------------------


def test_the_writer_marks_a_marketing_campaigns_rows_and_writes_their_links(
        make_patient: Callable[..., Patient]) -> None:
    patients = [make_patient() for _ in range(3)]
    offers, service = make_campaign(purpose="marketing"), make_campaign()
    queue(offers, patients, marketing=True, keys=True)
    queue(service, patients)
    assert set(OutboxMessage.objects.filter(campaign_id=offers).values_list("marketing", flat=True)) == {True}
    assert set(OutboxMessage.objects.filter(campaign_id=service).values_list("marketing", flat=True)) == {False}
    links = {(link.key, link.patient_id, link.channel, link.marketing)
             for link in OptOutLink.objects.filter(campaign_id=offers)}
    assert links == {(optout_key(campaign_id=offers, patient_id=p.id, channel="sms"), p.id, "sms", True)
                     for p in patients}
    assert not OptOutLink.objects.filter(campaign_id=service).exists()


def test_a_link_written_again_is_the_same_link_not_an_error(make_patient: Callable[..., Patient]) -> None:
    """A key is deterministic: writing it twice (the same message's link) keeps one row."""
    patient = make_patient()
    offers = make_campaign(purpose="marketing", channel="email")
    queue(offers, [patient], channel="email", marketing=True, keys=True)
    OutboxMessage.objects.filter(campaign_id=offers).delete()
    queue(offers, [patient], channel="email", marketing=True, keys=True)
    assert OptOutLink.objects.filter(campaign_id=offers).count() == 1
    assert OutboxMessage.objects.filter(campaign_id=offers).count() == 1


def test_the_writer_keeps_a_row_due_later_with_its_marketing_column(make_patient: Callable[..., Patient]) -> None:
    patient, later = make_patient(), make_patient()
    offers = make_campaign(purpose="marketing")
    start = timezone.now() + dt.timedelta(hours=3)
    writer = OutboxWriter(campaign_id=offers, deadline=timezone.now() + DEADLINE, marketing=True)
    for p, first in ((patient, None), (later, start)):
        writer.add(patient_id=p.id, patient_ref=p.external_id, channel="sms", address=p.phone_e164, language="et",
                   subject="", body="Tere!", encoding="GSM-7", parts=1, sender="Hammas", sender_name="",
                   next_attempt_at=first, optout_key=f"k{p.id}")
    writer.flush()
    rows = {row.patient_id: row for row in OutboxMessage.objects.filter(campaign_id=offers)}
    assert rows[patient.id].marketing and rows[later.id].marketing
    assert abs(rows[later.id].next_attempt_at - start) < dt.timedelta(seconds=1)
    assert OptOutLink.objects.filter(campaign_id=offers).count() == 2


# -- outbox_suppress / opt_out -------------------------------------------------------------------------------------


def test_a_marketing_opt_out_suppresses_the_marketing_messages_only(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    offers, service = make_campaign(purpose="marketing"), make_campaign()
    queue(offers, [patient], marketing=True)
    queue(service, [patient])
    assert opt_out(patient_ids=[patient.id], channel="sms", purpose="marketing", source="unsubscribe") == [patient.id]
    assert status_of(patient, offers) == ("suppressed", "unsubscribe")
    assert status_of(patient, service) == ("queued", "")
    patient.refresh_from_db()
    assert (patient.accepts_sms, patient.marketing_sms) == (True, False)


def test_a_channel_opt_out_suppresses_every_queued_message_on_it_and_nothing_else(
        make_patient: Callable[..., Patient]) -> None:
    patient, neighbour = make_patient(), make_patient()
    offers, service, mail = make_campaign(purpose="marketing"), make_campaign(), make_campaign(channel="email")
    queue(offers, [patient, neighbour], marketing=True)
    queue(service, [patient, neighbour])
    queue(mail, [patient, neighbour], channel="email")
    changed, suppressed = opt_out_counted(patient_ids=[patient.id], channel="sms", purpose="service",
                                          source="sms-stop")
    assert (changed, suppressed) == ([patient.id], 2)
    assert status_of(patient, offers) == status_of(patient, service) == ("suppressed", "sms-stop")
    assert status_of(patient, mail, "email") == ("queued", "")  # the other channel
    assert status_of(neighbour, offers) == status_of(neighbour, service) == ("queued", "")  # other patients
    assert ledger_state(patient.id).accepts_sms is False


def test_what_is_handed_off_is_left_as_it_is(make_patient: Callable[..., Patient]) -> None:
    patients = [make_patient() for _ in range(4)]
    service = make_campaign()
    queue(service, patients)
    handed = {"sending": patients[0], "sent": patients[1], "unknown": patients[2]}
    for status, p in handed.items():
        OutboxMessage.objects.filter(patient_id=p.id).update(status=status)
    assert outbox_suppress(patient_ids=[p.id for p in patients], channel="sms", purpose="service",
                           reason="provider") == 1
    for status, p in handed.items():
        assert status_of(p, service) == (status, "")
    assert status_of(patients[3], service) == ("suppressed", "provider")


def test_a_patient_already_opted_out_gets_no_second_event_but_their_queue_is_cleared(
        make_patient: Callable[..., Patient]) -> None:
    """An import's withdrawal the housekeeping has not seen yet, then a STOP: the STOP changes no consent (no
    event), and the queued message goes anyway — the consent refuses it."""
    patient = make_patient()
    service = make_campaign()
    queue(service, [patient])
    consent_change(patient_id=patient.id, channel="sms", purpose="service", accepts=False, source="import")
    assert opt_out(patient_ids=[patient.id], channel="sms", purpose="service", source="sms-stop") == []
    assert ConsentEvent.objects.filter(patient_id=patient.id).count() == 1
    assert status_of(patient, service) == ("suppressed", "sms-stop")


def test_the_reason_is_the_sources_kind(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    mail = make_campaign(channel="email")
    queue(mail, [patient], channel="email")
    opt_out(patient_ids=[patient.id], channel="email", purpose="service", source="staff:anna", wording="phone")
    assert status_of(patient, mail, "email") == ("suppressed", "staff")


def test_an_unknown_channel_or_purpose_is_refused(make_patient: Callable[..., Patient]) -> None:
    with pytest.raises(ValueError):
        outbox_suppress(patient_ids=[1], channel="fax", purpose="service", reason="staff")
    with pytest.raises(ValueError):
        outbox_suppress(patient_ids=[1], channel="sms", purpose="offers", reason="staff")


def test_one_statement_for_a_few_patients(make_patient: Callable[..., Patient]) -> None:
    from django.test.utils import CaptureQueriesContext

    patients = [make_patient() for _ in range(3)]
    service = make_campaign()
    queue(service, patients)
    with CaptureQueriesContext(connection) as queries:
        assert outbox_suppress(patient_ids=[p.id for p in patients], channel="sms", purpose="service",
                               reason="staff") == 3
    assert len(queries) == 1


# -- housekeeping: suppress_withdrawn ------------------------------------------------------------------------------


def test_an_imports_withdrawal_is_suppressed_by_the_housekeeping(make_patient: Callable[..., Patient]) -> None:
    patient, other = make_patient(), make_patient()
    offers, service = make_campaign(purpose="marketing"), make_campaign()
    queue(offers, [patient, other], marketing=True)
    queue(service, [patient, other])
    since = timezone.now()
    consent_change(patient_id=patient.id, channel="sms", purpose="marketing", accepts=False, source="import",
                   wording="file patients.csv")
    assert status_of(patient, offers) == ("queued", "")  # the ledger alone does not touch the outbox
    assert suppress_withdrawn(since=since) == 1
    assert status_of(patient, offers) == ("suppressed", "import")
    assert status_of(patient, service) == ("queued", "")
    assert status_of(other, offers) == ("queued", "")
    assert suppress_withdrawn(since=since) == 0  # looked at again: nothing more


def test_a_withdrawal_a_look_has_handled_is_not_looked_at_again(make_patient: Callable[..., Patient]) -> None:
    """With the caller's `seen`, the overlap re-reads the ledger but runs no statement for events handled before:
    a first import's many withdrawals are not suppressed again every period."""
    from django.test.utils import CaptureQueriesContext

    patients = [make_patient() for _ in range(3)]
    service = make_campaign()
    queue(service, patients)
    since = timezone.now()
    for p in patients:
        consent_change(patient_id=p.id, channel="sms", purpose="service", accepts=False, source="import")
    seen: dict[int, dt.datetime] = {}
    assert suppress_withdrawn(since=since, seen=seen) == 3
    assert len(seen) == 3
    with CaptureQueriesContext(connection) as queries:
        assert suppress_withdrawn(since=since, seen=seen) == 0
    assert len(queries) == 1  # the read of the ledger alone
    assert suppress_withdrawn(since=since + OVERLAP + dt.timedelta(minutes=1), seen=seen) == 0
    assert seen == {}  # older than the overlap: forgotten


def test_a_later_re_consent_wins_over_the_withdrawal(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    service = make_campaign()
    queue(service, [patient])
    since = timezone.now()
    consent_change(patient_id=patient.id, channel="sms", purpose="service", accepts=False, source="staff:anna")
    consent_change(patient_id=patient.id, channel="sms", purpose="service", accepts=True, source="staff:anna")
    assert suppress_withdrawn(since=since) == 0
    assert status_of(patient, service) == ("queued", "")


def test_a_hard_opt_out_suppresses_marketing_too_with_its_reason(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    offers, service = make_campaign(purpose="marketing"), make_campaign()
    queue(offers, [patient], marketing=True)
    queue(service, [patient])
    since = timezone.now()
    consent_change(patient_id=patient.id, channel="sms", purpose="service", accepts=False, source="api:sync")
    assert suppress_withdrawn(since=since) == 2
    assert status_of(patient, offers) == status_of(patient, service) == ("suppressed", "api")


def test_older_withdrawals_are_not_looked_at(make_patient: Callable[..., Patient]) -> None:
    """Only events since `since` (less the overlap) are read: the housekeeping does not rescan the ledger."""
    patient = make_patient()
    service = make_campaign()
    queue(service, [patient])
    consent_change(patient_id=patient.id, channel="sms", purpose="service", accepts=False, source="import")
    later = timezone.now() + OVERLAP + dt.timedelta(seconds=5)
    assert suppress_withdrawn(since=later) == 0
    assert status_of(patient, service) == ("queued", "")
    assert suppress_withdrawn(since=later - OVERLAP - dt.timedelta(seconds=10)) == 1


def test_a_withdrawal_of_the_other_channel_leaves_this_one(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    service = make_campaign()
    queue(service, [patient])
    since = timezone.now()
    consent_change(patient_id=patient.id, channel="email", purpose="service", accepts=False, source="import")
    assert suppress_withdrawn(since=since) == 0
    assert status_of(patient, service) == ("queued", "")


def test_suppressed_is_final(make_patient: Callable[..., Patient], settings: Any) -> None:
    from masspost.delivery.outbox import outbox_cancel

    patient = make_patient()
    service = make_campaign()
    queue(service, [patient])
    opt_out(patient_ids=[patient.id], channel="sms", purpose="service", source="sms-stop")
    assert outbox_cancel(campaign_id=service) == 0
    assert status_of(patient, service) == (MessageStatus.SUPPRESSED, "sms-stop")


# -- the worker's housekeeping -------------------------------------------------------------------------------------


def test_the_workers_look_for_withdrawals_comes_within_30_seconds_of_its_clock(
        make_patient: Callable[..., Patient]) -> None:
    """An import-style withdrawal (the ledger alone) is suppressed by the worker's next look, which comes at most
    SUPPRESS_EVERY (≤ 30 s) of the worker's clock after the one before — measured on a clock the test moves."""
    from masspost.delivery.pipeline import WorkerStats
    from masspost.delivery.worker import SUPPRESS_EVERY, Withdrawals

    assert dt.timedelta(seconds=30) >= SUPPRESS_EVERY
    patient = make_patient()
    offers = make_campaign(purpose="marketing")
    queue(offers, [patient], marketing=True)
    start = timezone.now()
    moment = [start]
    stats, looks = WorkerStats(), Withdrawals()
    assert looks.step(stats, lambda: moment[0]) == 0  # the first look, at once: nothing withdrawn yet
    consent_change(patient_id=patient.id, channel="sms", purpose="marketing", accepts=False, source="import",
                   wording="file patients.csv")
    moment[0] = start + SUPPRESS_EVERY - dt.timedelta(seconds=1)
    assert looks.step(stats, lambda: moment[0]) == 0  # not yet time
    assert status_of(patient, offers) == ("queued", "")
    moment[0] = start + SUPPRESS_EVERY
    assert looks.step(stats, lambda: moment[0]) == 1
    assert status_of(patient, offers) == ("suppressed", "import")
    assert stats.suppressed == 1


@pytest.mark.usefixtures("memory_gateway")
def test_a_worker_does_not_send_what_a_withdrawal_refuses(make_patient: Callable[..., Patient]) -> None:
    """A withdrawal recorded through the ledger alone before the worker starts: its first look (back
    SUPPRESS_FIRST_LOOK) suppresses the message before anything is claimed."""
    from masspost.delivery.gateways.memory import MemoryGateway
    from masspost.delivery.worker import GatewayConfig, worker_run

    patient, other = make_patient(), make_patient()
    service = make_campaign()
    queue(service, [patient, other])
    consent_change(patient_id=patient.id, channel="sms", purpose="service", accepts=False, source="staff:anna")

    stats = worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": "memory:sms"}))

    assert (stats.sent, stats.suppressed) == (1, 1)
    assert status_of(patient, service) == ("suppressed", "staff")
    assert [m.patient_ref for m in MemoryGateway.outboxes["sms"]] == [other.external_id]
