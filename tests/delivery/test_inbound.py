"""Incoming SMS: the source read with its type of number in the clinics' countries; every message stored and
counted, whether it matched a patient or not; a stop word opts out whoever has that number, and their queued SMS
are suppressed with it."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from django.db import connection

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.inbound import inbound_record
from masspost.delivery.incoming_number import incoming_numbers
from masspost.delivery.models import InboundMessage, OutboxMessage
from masspost.delivery.pipeline import WorkerStats
from masspost.delivery.selectors import inbound_counts
from masspost.delivery.worker import GatewayConfig, _open_channel, worker_run
from tests.conftest import campaign
from tests.peers.smsc import SMSCPeer

TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL, TON_ALPHANUMERIC = 0, 1, 2, 5
pytestmark = pytest.mark.django_db


@pytest.fixture
def mari(make_patient: Any) -> Patient:
    patient: Patient = make_patient(phone="5123 4567", phone_e164="+37251234567")
    return patient


@pytest.mark.parametrize(("source", "ton"), [
    ("37251234567", TON_INTERNATIONAL),
    ("+37251234567", TON_INTERNATIONAL),
    ("51234567", TON_NATIONAL),  # the SMSC's own country's form
    ("51234567", TON_UNKNOWN),
    ("0037251234567", TON_UNKNOWN),  # an international call prefix instead of a type of number
    ("0037251234567", TON_NATIONAL),
    ("372 5123 4567", TON_UNKNOWN),
    ("37251234567", TON_UNKNOWN),
])
def test_a_stop_from_the_number_in_any_form_opts_the_patient_out(mari: Patient, source: str, ton: int) -> None:
    recorded = inbound_record(source, "STOP", ton)

    assert (recorded.kind, recorded.patients, recorded.opted_out) == ("stop", 1, 1)
    mari.refresh_from_db()
    assert mari.accepts_sms is False
    # A STOP is a hard opt-out of SMS: the channel as a whole (purpose service), not only its offers.
    assert list(ConsentEvent.objects.values_list("patient_id", "channel", "purpose", "accepts", "source")) == [
        (mari.id, "sms", "service", False, "sms-stop")]
    stored = InboundMessage.objects.get()
    assert (stored.source, stored.raw_source, stored.source_ton) == ("+37251234567", source, ton)


def test_a_stop_suppresses_the_patients_queued_sms_in_the_same_transaction(make_patient: Any, mari: Patient) -> None:
    """Every queued SMS of the patient (service and marketing) is suppressed with the reason; their e-mail, other
    patients' SMS and what was already handed off are left as they are."""
    jaan = make_patient()
    first = campaign_send(spec=CampaignSpec.from_dict(campaign(channel="both", content={"et": {
        "sms": "Tere {first_name}", "email_subject": "S", "email_body": "Tere"}})), scope=Scope.operator())
    second = campaign_send(spec=CampaignSpec.from_dict(campaign(name="Offers", purpose="marketing")),
                           scope=Scope.operator())
    handed = OutboxMessage.objects.get(campaign_id=second.campaign_id, patient_id=mari.id)
    OutboxMessage.objects.filter(id=handed.id).update(status="sending")  # claimed by a worker: handed off

    recorded = inbound_record("51234567", "STOP", TON_NATIONAL)

    assert (recorded.opted_out, recorded.suppressed) == (1, 1)
    rows = {(r.campaign_id, r.patient_id, r.channel): (r.status, r.last_error) for r in OutboxMessage.objects.all()}
    assert rows[(first.campaign_id, mari.id, "sms")] == ("suppressed", "sms-stop")
    assert rows[(first.campaign_id, mari.id, "email")] == ("queued", "")
    assert rows[(second.campaign_id, mari.id, "sms")] == ("sending", "")
    assert {status for (_, patient, _), (status, _) in rows.items() if patient == jaan.id} == {"queued"}
    assert inbound_record("51234567", "STOP", TON_NATIONAL).suppressed == 0  # again: nothing left


def test_a_national_number_is_read_in_every_clinics_country(make_patient: Any, clinic: Clinic) -> None:
    helsinki = Clinic.objects.create(code="HEL", name="Hammas Helsinki", country="FI", time_zone="Europe/Helsinki",
                                     default_language="fi")
    aino = make_patient(clinic=helsinki, country="FI", phone="040 123 4567", phone_e164="+358401234567")

    assert inbound_record("0401234567", "Lopeta", TON_NATIONAL).opted_out == 1

    aino.refresh_from_db()
    assert aino.accepts_sms is False
    assert InboundMessage.objects.get().source == "+358401234567"


def test_a_stop_that_matches_no_patient_is_stored_and_counted_not_lost(
    mari: Patient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="masspost.delivery"):
        recorded = inbound_record("51999999", "Stop!", TON_NATIONAL)

    assert (recorded.kind, recorded.patients, recorded.opted_out) == ("stop", 0, 0)
    stored = InboundMessage.objects.get()
    assert (stored.kind, stored.source, stored.raw_source, stored.text, stored.patients) == (
        "stop", "+37251999999", "51999999", "Stop!", 0)
    assert Patient.objects.get(id=mari.id).accepts_sms
    assert "matched no patient" in caplog.text
    assert "51999999" not in caplog.text and "Stop" not in caplog.text  # the number and the text stay in the table


def test_a_reply_that_is_not_a_stop_word_is_stored_and_changes_nothing(mari: Patient) -> None:
    recorded = inbound_record("37251234567", "Aitäh, tulen kindlasti!", TON_INTERNATIONAL)

    assert (recorded.kind, recorded.patients, recorded.opted_out) == ("other", 1, 0)
    assert Patient.objects.get(id=mari.id).accepts_sms
    assert ConsentEvent.objects.count() == 0
    assert InboundMessage.objects.get().text == "Aitäh, tulen kindlasti!"


def test_an_alphanumeric_source_is_no_patients_number(mari: Patient) -> None:
    assert inbound_record("51234567", "STOP", TON_ALPHANUMERIC).patients == 0
    assert InboundMessage.objects.get().source == ""
    assert Patient.objects.get(id=mari.id).accepts_sms


def test_a_nul_in_the_text_or_the_source_cannot_make_the_smsc_redeliver_forever(mari: Patient) -> None:
    # PostgreSQL refuses NUL in text: the hook would fail, and the SMSC deliver the message again and again.
    inbound_record("372512\x0034567", "ST\x00OP", TON_INTERNATIONAL)
    stored = InboundMessage.objects.get()
    assert "\x00" not in stored.text and "\x00" not in stored.raw_source


def test_the_counts_an_operator_sees(mari: Patient) -> None:
    inbound_record("51234567", "STOP", TON_NATIONAL)
    inbound_record("51234567", "STOP", TON_NATIONAL)  # again: nobody left to opt out
    inbound_record("51999999", "stop", TON_NATIONAL)
    inbound_record("51234567", "Tere", TON_NATIONAL)

    counts = inbound_counts()

    assert (counts.received, counts.stops, counts.unmatched, counts.unmatched_stops, counts.opted_out) == (
        4, 3, 1, 1, 1)


@pytest.mark.parametrize(("source", "ton", "countries", "readings"), [
    ("37251234567", TON_INTERNATIONAL, ["EE"], ("+37251234567",)),
    ("51234567", TON_NATIONAL, ["EE", "LV"], ("+37251234567",)),  # not a valid Latvian number
    ("51234567", TON_NATIONAL, [], ()),  # no clinic: nowhere to read a national number in
    ("Kliinik", TON_ALPHANUMERIC, ["EE"], ()),
    ("12", TON_UNKNOWN, ["EE"], ()),
])
def test_readings_of_a_source(source: str, ton: int, countries: list[str], readings: tuple[str, ...]) -> None:
    assert incoming_numbers(source, ton=ton, countries=countries) == readings


def push_replies(smsc: SMSCPeer) -> list[bool]:
    """A STOP from Mari's number and a reply from a number nobody has, both in national form; whether each was
    acknowledged (the SMSC delivers again what was not)."""
    return [smsc.push_mo(source="51234567", destination="HammasTLN", payload=b"STOP", source_ton=TON_NATIONAL),
            smsc.push_mo(source="51999999", destination="HammasTLN", payload=b"Tere", source_ton=TON_NATIONAL)]


@pytest.mark.django_db(transaction=True)
def test_the_workers_gateway_stores_and_counts_what_comes_in(mari: Patient, smsc: SMSCPeer) -> None:
    stats = WorkerStats()
    channels: dict[str, Any] = {}
    config = GatewayConfig(urls={"sms": f"smpp://masspost:secret@{smsc.host}:{smsc.port}?timeout=5"})
    channel = _open_channel("sms", config, channels, stats)  # the worker's own hooks, on the hook thread
    try:
        acked = push_replies(smsc)
    finally:
        channel.close()

    assert acked == [True, True]  # acknowledged once stored
    assert (stats.incoming, stats.incoming_unmatched, stats.opted_out, stats.suppressed) == (2, 1, 1, 0)
    assert Patient.objects.get(id=mari.id).accepts_sms is False
    assert sorted(InboundMessage.objects.values_list("kind", "patients")) == [("other", 0), ("stop", 1)]


@pytest.mark.skipif(connection.vendor == "sqlite", reason="the in-memory SQLite test database locks tables across "
                    "threads at once (SQLITE_LOCKED); the worker's own database file waits for its lock instead")
@pytest.mark.django_db(transaction=True)
def test_a_stop_through_a_running_worker_is_in_the_stats_it_returns(mari: Patient, smsc: SMSCPeer) -> None:
    campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator())  # so the worker binds
    acked: list[bool] = []

    def reply() -> None:
        smsc.wait_for_binds(1)
        acked.extend(push_replies(smsc))

    pusher = threading.Thread(target=reply, daemon=True)
    pusher.start()
    deadline = time.monotonic() + 15
    stats = worker_run(gateways=GatewayConfig(urls={"sms": f"smpp://masspost:secret@{smsc.host}:{smsc.port}"}),
                       poll=0.05, should_stop=lambda: len(acked) == 2 or time.monotonic() > deadline)
    pusher.join(5)

    assert acked == [True, True]
    assert (stats.sent, stats.incoming, stats.incoming_unmatched, stats.opted_out) == (1, 2, 1, 1)
