"""An opt-out in the middle of a campaign, measured end to end (issue 20, "Opt-outs take effect at once"): a worker
sends through a real peer — the SMPP test SMSC, Twilio's API on loopback — with a small window; once some messages
have gone, the patient replies STOP (a deliver_sm over the worker's own bind; Twilio's signed inbound webhook,
served by masspost's WSGI application). Nothing for that patient is handed off after the opt-out committed; what
was already handed off (at most the window) is as it is; the rest of the patient's messages are `suppressed`
with the reason, and everybody else's go.

The moment of the commit is bounded from above by the moment the STOP was acknowledged: the SMSC's deliver_sm_resp
and Twilio's webhook answer both come after the transaction that recorded the opt-out committed. The ground truth
is every claim the worker made (the statement that hands a group off, recorded with the moment it began), the
outbox's rows and the order in which the peer received the messages.

The worker and the peer's push run on different threads with their own database connections, so the data is
committed (transaction=True); SQLite's in-memory test database locks tables across threads (SQLITE_LOCKED, see
tests/delivery/test_inbound.py), so these run on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from masspost.campaigns.models import Campaign
from masspost.clinic.models import ConsentEvent, Patient
from masspost.delivery import pipeline
from masspost.delivery.gateways.http_sms import provider_from_url
from masspost.delivery.models import OutboxMessage
from masspost.delivery.outbox import OutboxWriter
from masspost.delivery.pipeline import WorkerStats
from masspost.delivery.worker import GatewayConfig, worker_run
from tests.delivery.test_http_providers_e2e import AppServer
from tests.peers.smsc import SMSCPeer
from tests.peers.twilio_api import TwilioPeer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite", reason="a worker and a peer's push on two threads: the "
                       "in-memory SQLite test database locks tables across threads at once (SQLITE_LOCKED)"),
]
WINDOW = 4
CAMPAIGNS = 20  # each to MARI and OTHERS: MARI has one message in each
OTHERS = 4
STOP_AFTER = 25  # messages the peer has received when MARI replies STOP (of (1 + OTHERS) * CAMPAIGNS)
RATE = 40.0  # messages per second: the campaign takes seconds, the STOP milliseconds
MARI = "+37251234567"
WAIT = 30.0  # seconds at most for the whole run (polled, never slept out)


def queue_campaigns(mari: Patient, others: list[Patient]) -> None:
    """CAMPAIGNS campaigns, alternately marketing and service, each to Mari first and then the others: the worker
    claims the oldest first, so Mari's messages are spread over the whole run."""
    for n in range(CAMPAIGNS):
        marketing = n % 2 == 0
        campaign_id = Campaign.objects.create(
            name=f"Run {n}", purpose="marketing" if marketing else "service", channel="sms", spec={}, audience={},
            token=f"test-{uuid.uuid4()}", deadline=timezone.now() + dt.timedelta(days=1), created_by="test").id
        writer = OutboxWriter(campaign_id=campaign_id, deadline=timezone.now() + dt.timedelta(days=1),
                              marketing=marketing)
        for p in (mari, *others):
            writer.add(patient_id=p.id, patient_ref=p.external_id, channel="sms", address=p.phone_e164,
                       language="et", subject="", body=f"Tere! {n}", encoding="GSM-7", parts=1, sender="HammasTLN",
                       sender_name="")
        writer.flush()


class StopReply:
    """On a thread: wait until the peer has `STOP_AFTER` messages, then have Mari reply STOP; keep what the ack
    tells."""

    def __init__(self, *, received: Callable[[], list[str]], reply: Callable[[], bool]) -> None:
        self._received, self._reply = received, reply
        self.acked: bool | None = None
        self.acked_at: Any = None  # timezone.now() once the STOP was acknowledged: after its commit
        self.received_before_ack = 0  # messages the peer had received when the ack came
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stop-reply", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            deadline = time.monotonic() + WAIT
            while len(self._received()) < STOP_AFTER:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the peer did not receive {STOP_AFTER} messages")
                time.sleep(0.005)
            self.acked = self._reply()
            self.acked_at = timezone.now()
            self.received_before_ack = len(self._received())
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            connection.close()

    @property
    def done(self) -> bool:
        return self.acked is not None or self.error is not None

    def join(self) -> None:
        self._thread.join(WAIT)
        if self.error is not None:
            raise self.error


@pytest.fixture
def claims(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dt.datetime, list[int]]]:
    """Every claim of the worker: when its statement began, and the ids of the rows it handed off."""
    seen: list[tuple[dt.datetime, list[int]]] = []
    real = pipeline.outbox_turn

    def recorded(**kwargs: Any) -> Any:
        began = timezone.now()
        result = real(**kwargs)
        if result.claimed:
            seen.append((began, [row.id for row in result.claimed]))
        return result

    monkeypatch.setattr(pipeline, "outbox_turn", recorded)
    return seen


def assert_opt_out_took_effect(*, mari: Patient, stop: StopReply, received: list[str],
                               claims: list[tuple[dt.datetime, list[int]]]) -> int:
    """The checks of the module's docstring; returns how many of Mari's messages were suppressed."""
    assert stop.acked is True
    rows = list(OutboxMessage.objects.filter(patient_id=mari.id).order_by("id"))
    handed = [r for r in rows if r.sent_at is not None]
    suppressed = [r for r in rows if r.status == "suppressed"]
    # Mid-campaign: some of Mari's messages had gone, the rest had not.
    assert handed and suppressed, (len(handed), len(suppressed))
    assert len(handed) + len(suppressed) == CAMPAIGNS  # nothing else: none queued, none failed
    assert {r.status for r in handed} <= {"sent", "delivered"}
    assert {r.last_error for r in suppressed} == {"sms-stop"}
    # No claim that began after the opt-out committed (the ack came after the commit) took one of Mari's
    # messages — and the campaign went on: such claims there were.
    ids = {r.id for r in rows}
    after = [claimed for began, claimed in claims if began > stop.acked_at]
    assert after, "the campaign had ended before the STOP"
    assert not ids & {i for claimed in after for i in claimed}
    # What was handed off before and went after: at most the window (recorded after the ack; received after it).
    assert sum(1 for r in handed if r.sent_at > stop.acked_at) <= WINDOW
    to_mari = [i for i, to in enumerate(received) if to.lstrip("+") == MARI.lstrip("+")]
    assert len(to_mari) == len(handed)  # the peer got exactly those handed off
    assert sum(1 for i in to_mari if i >= stop.received_before_ack) <= WINDOW
    # Everybody else's messages all went.
    others = OutboxMessage.objects.exclude(patient_id=mari.id)
    assert set(others.values_list("status", flat=True)) <= {"sent", "delivered"}
    assert others.count() == OTHERS * CAMPAIGNS
    # One hard opt-out of SMS in the ledger, and the worker counted what it suppressed.
    assert list(ConsentEvent.objects.filter(patient_id=mari.id).values_list("channel", "purpose", "accepts",
                                                                           "source")) == [
        ("sms", "service", False, "sms-stop")]
    return len(suppressed)


def run_worker(url: str) -> WorkerStats:
    deadline = time.monotonic() + WAIT
    return worker_run(until_idle=True, poll=0.02, gateways=GatewayConfig(urls={"sms": url}, rates={"sms": RATE}),
                      should_stop=lambda: time.monotonic() > deadline)


def test_a_stop_over_smpp_mid_campaign_suppresses_the_rest(make_patient: Any, smsc: SMSCPeer,
                                                           claims: list[tuple[dt.datetime, list[int]]]) -> None:
    mari = make_patient(phone="5123 4567", phone_e164=MARI)
    queue_campaigns(mari, [make_patient() for _ in range(OTHERS)])

    def received() -> list[str]:
        return [s.destination_addr for s in smsc.submits if s.status == 0]

    stop = StopReply(received=received, reply=lambda: smsc.push_mo(source=MARI.lstrip("+"), destination="HammasTLN",
                                                                    payload=b"STOP"))
    stats = run_worker(f"smpp://masspost:secret@{smsc.host}:{smsc.port}?window={WINDOW}")
    stop.join()

    suppressed = assert_opt_out_took_effect(mari=mari, stop=stop, received=received(), claims=claims)
    # The worker's own bind took the STOP: its stats count the opt-out and what it suppressed.
    assert (stats.opted_out, stats.suppressed) == (1, suppressed)


def test_a_stop_to_twilio_mid_campaign_suppresses_the_rest(make_patient: Any, settings: Any,
                                                            claims: list[tuple[dt.datetime, list[int]]]) -> None:
    mari = make_patient(phone="5123 4567", phone_e164=MARI)
    queue_campaigns(mari, [make_patient() for _ in range(OTHERS)])
    app = AppServer()
    try:
        with TwilioPeer(receipts="delivered") as peer:
            # The webhooks answer for the configured provider (its auth token checks the signature).
            settings.MASSPOST_SMS_URL = f"{peer.url}?window={WINDOW}"
            settings.MASSPOST_PUBLIC_URL = app.url
            inbound = provider_from_url(peer.url).webhook_urls(app.url)["inbound"]

            def received() -> list[str]:
                return [m.to for m in peer.messages]

            stop = StopReply(received=received, reply=lambda: peer.send_reply(inbound, MARI, "STOP") == 200)
            run_worker(settings.MASSPOST_SMS_URL)
            stop.join()
            assert not peer.violations
    finally:
        app.stop()

    assert_opt_out_took_effect(mari=mari, stop=stop, received=received(), claims=claims)
