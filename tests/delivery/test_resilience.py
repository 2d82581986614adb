"""Resilience with real `masspost worker` processes against real peers on loopback (issue 4).

kill -9 during a run, 20 pause/resume cycles, a 30-second throttling storm. The ground truth is what the peers
received: the SMTP peer's envelope recipient, the SMSC's reassembled destination and text. PostgreSQL only:
several workers need its row locks (SQLite runs one worker). The data is committed (transaction=True) so the
worker processes see it; they get the test database through DATABASE_URL.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import smpp34
from django.db import connection

from masspost.campaigns.services import campaign_pause, campaign_resume, campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.contact import address_status
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from tests.peers.smsc import ESME_RTHROTTLED, SMSCPeer
from tests.peers.smtp_server import SMTPPeer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="several worker processes need PostgreSQL (SQLite runs one worker); "
                              "set DATABASE_URL=postgres://… to run these"),
]
OPERATOR = Scope.operator()
ROOT = Path(__file__).resolve().parents[2]
LEASE = 3  # seconds: a killed worker's rows come back (or turn unknown) quickly
SMS_WINDOW = 10
_patients = itertools.count(1)


# -- peers ------------------------------------------------------------------------------------------------------


class TimedSMSC(SMSCPeer):
    """The loopback SMSC plus arrival times of every submit_sm, and a throttling storm on request."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []  # time.monotonic() when each submit_sm reached the peer's handler
        self.storm_until = 0.0  # until then every submit_sm is answered ESME_RTHROTTLED

    async def _on_submit(self, event: smpp34.SubmitSmEvent) -> None:
        now = time.monotonic()
        with self._changed:
            self.arrivals.append(now)
            if now < self.storm_until:
                self._reject_next.insert(0, ESME_RTHROTTLED)
        await super()._on_submit(event)

    def storm(self, seconds: float) -> None:
        with self._changed:
            self.storm_until = time.monotonic() + seconds

    def accepted_count(self) -> int:
        with self._changed:
            return sum(1 for s in self._submits if not s.status)


@pytest.fixture
def smsc() -> Iterator[TimedSMSC]:
    peer = TimedSMSC.start()
    yield peer  # type: ignore[misc]
    peer.stop()


@pytest.fixture
def smtp() -> Iterator[SMTPPeer]:
    server = SMTPPeer.start()
    yield server
    server.stop()


# -- data -------------------------------------------------------------------------------------------------------


def send_campaign(patients: int, channel: str, sms_text: str = "Tere {last_name}! Kontroll on ootel.") -> int:
    """`patients` patients with a unique phone, e-mail and last name (the message's token), and one campaign."""
    clinic = Clinic.objects.create(code=f"C{next(_patients)}", name="Hammas", country="EE",
                                   time_zone="Europe/Tallinn", default_language="et", phone="+372 600 1000",
                                   email="kliinik@hammas.example", sms_sender="Hammas")
    rows = []
    for _ in range(patients):
        n = next(_patients)
        phone, email = f"+3725{n:07d}", f"p{n}@example.com"
        rows.append(Patient(external_id=f"R{n:06d}", clinic=clinic, first_name="Mari", last_name=f"X{n:06d}",
                            country="EE", language="et", phone=phone, phone_e164=phone,
                            phone_status=address_status(phone, phone), email=email, email_normalized=email,
                            email_status=address_status(email, email), accepts_sms=True, accepts_email=True,
                            marketing_sms=True, marketing_email=True))
    Patient.objects.bulk_create(rows, batch_size=2000)
    spec = CampaignSpec.from_dict({
        "name": "Resilience", "purpose": "service", "channel": channel,
        "audience": {"clinics": [clinic.code], "reference_date": "2026-11-25"},
        "content": {"et": {"sms": sms_text, "email_subject": "Meeldetuletus {last_name}",
                           "email_body": "Tere {last_name}!"}},
    })
    outcome = campaign_send(spec=spec, scope=OPERATOR)
    assert outcome.messages == patients * (2 if channel == "both" else 1)
    return outcome.campaign_id


def statuses(campaign_id: int) -> Counter[str]:
    return Counter(OutboxMessage.objects.filter(campaign_id=campaign_id).values_list("status", flat=True))


def pending(campaign_id: int) -> int:
    return OutboxMessage.objects.filter(campaign_id=campaign_id, status__in=("queued", "sending")).count()


@dataclass(frozen=True)
class Tally:
    """What the peers received, per recipient (channel, address), and whether each text was the row's."""

    counts: Counter[tuple[str, str]]
    wrong_text: list[tuple[str, str]]


def tally(smsc: SMSCPeer | None, smtp: SMTPPeer | None, campaign_id: int) -> Tally:
    rows = OutboxMessage.objects.filter(campaign_id=campaign_id).values_list("channel", "address", "body")
    body = {(channel, address.removeprefix("+")): text for channel, address, text in rows}
    counts: Counter[tuple[str, str]] = Counter()
    wrong: list[tuple[str, str]] = []
    for destination, text in smsc.messages() if smsc else []:
        counts["sms", destination] += 1
        if body.get(("sms", destination)) != text:
            wrong.append(("sms", destination))
    for mail in smtp.received if smtp else []:
        for address in mail.rcpt_tos:
            counts["email", address] += 1
    return Tally(counts=counts, wrong_text=wrong)


def recipients(campaign_id: int, *status: str) -> set[tuple[str, str]]:
    rows = OutboxMessage.objects.filter(campaign_id=campaign_id, status__in=status).values_list("channel", "address")
    return {(channel, address.removeprefix("+")) for channel, address in rows}


# -- worker processes -------------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], what: str, timeout: float, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


class Workers:
    """`masspost worker` processes on the test database; their stderr goes to files for the failure report."""

    def __init__(self, tmp_path: Path, env: dict[str, str], args: list[str]) -> None:
        self.tmp_path, self.env, self.args = tmp_path, env, args
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started: list[float] = []
        self._logs = itertools.count()

    def start(self, count: int) -> None:
        for _ in range(count):
            self.procs.append(self._spawn())
            self.started.append(time.monotonic())

    def _spawn(self) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"worker-{next(self._logs)}.log").open("wb")
        return subprocess.Popen([sys.executable, "-m", "masspost", "worker", *self.args], cwd=ROOT, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT)

    def kill_and_restart(self, index: int) -> None:
        self.procs[index].send_signal(signal.SIGKILL)
        self.procs[index].wait(10)
        self.procs[index] = self._spawn()
        self.started[index] = time.monotonic()

    def stop(self, timeout: float = 20) -> list[int | None]:
        """SIGTERM every worker and wait for it: a graceful stop finishes the messages in hand and exits 0."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes: list[int | None] = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                codes.append(None)
        return codes

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.tmp_path.glob("worker-*.log")))


@pytest.fixture
def workers(tmp_path: Path, smsc: TimedSMSC, smtp: SMTPPeer) -> Iterator[Callable[..., Workers]]:
    made: list[Workers] = []

    def make(*, batch: int = 50, sms_rate: float = 0, email_rate: float = 0) -> Workers:
        settings = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
                            f"{settings['PORT'] or 5432}/{settings['NAME']}",
            "MASSPOST_DATA_DIR": str(tmp_path),
            "MASSPOST_SMS_URL": f"smpp://masspost:secret@{smsc.host}:{smsc.port}?window={SMS_WINDOW}&timeout=2",
            "MASSPOST_EMAIL_URL": f"smtp://{smtp.host}:{smtp.port}?timeout=2",
            "MASSPOST_SMS_RATE": str(sms_rate),
            "MASSPOST_EMAIL_RATE": str(email_rate),
            "MASSPOST_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        group = Workers(tmp_path, env, ["--lease", str(LEASE), "--batch", str(batch)])
        made.append(group)
        return group

    yield make
    for group in made:
        group.stop(timeout=10)


# -- the scenarios ----------------------------------------------------------------------------------------------


def test_kill_9_ten_times_loses_nothing_and_sends_nothing_twice(
    workers: Callable[..., Workers], smsc: TimedSMSC, smtp: SMTPPeer
) -> None:
    campaign_id = send_campaign(5000, "both")  # 10,000 recipients: 5,000 SMS and 5,000 e-mails
    group = workers(batch=50)
    group.start(3)
    rng = random.Random(20261125)
    kills = 0
    deadline = time.monotonic() + 90
    while kills < 10:
        assert time.monotonic() < deadline, group.logs()
        time.sleep(rng.uniform(0.4, 0.9))
        # A worker that has run a moment: a kill during Django's start-up would prove nothing.
        ready = [i for i, started in enumerate(group.started) if time.monotonic() - started > 1.5]
        if not ready:
            continue
        assert pending(campaign_id) > 0, f"the run ended after {kills} kills: too few messages to kill into"
        group.kill_and_restart(rng.choice(ready))
        kills += 1
    wait_until(lambda: pending(campaign_id) == 0, "every message sent or unknown", timeout=120, every=0.5)
    assert group.stop() == [0, 0, 0], group.logs()

    final = statuses(campaign_id)
    assert set(final) <= {"sent", "delivered", "unknown"}, final
    assert final["unknown"] <= kills * SMS_WINDOW, final  # at most one window (SMS: 10, e-mail: 1) per kill
    seen = tally(smsc, smtp, campaign_id)
    assert not seen.wrong_text
    assert max(seen.counts.values()) == 1, [r for r, n in seen.counts.items() if n > 1][:10]  # never twice
    done = recipients(campaign_id, "sent", "delivered")
    assert {r for r in done if seen.counts[r] != 1} == set()  # every recorded send is at the peer
    assert set(seen.counts) <= done | recipients(campaign_id, "unknown")  # nothing arrived that was not ours


def test_twenty_pause_resume_cycles_skip_nothing_and_repeat_nothing(
    workers: Callable[..., Workers], smsc: TimedSMSC, smtp: SMTPPeer
) -> None:
    campaign_id = send_campaign(1000, "both")
    group = workers(batch=10, sms_rate=120, email_rate=120)  # about 9 s of sending: the cycles fall inside it
    group.start(3)
    wait_until(lambda: smsc.accepted_count() > 0 and len(smtp.received) > 0, "first messages", timeout=30)
    for cycle in range(20):
        campaign_pause(campaign_id=campaign_id, scope=OPERATOR)
        # What workers had claimed before the pause finishes; after that nothing of the campaign moves. A claim
        # statement already running when the pause committed may still take one group, seen only once it
        # commits: so look twice, a moment apart (docs/delivery.md, "Pause, resume, cancel").
        for _ in range(2):
            wait_until(lambda: not OutboxMessage.objects.filter(campaign_id=campaign_id, status="sending").exists(),
                       "claimed messages finish after the pause", timeout=10, every=0.02)
            time.sleep(0.05)
        before = (smsc.accepted_count(), len(smtp.received))
        time.sleep(0.15)
        assert (smsc.accepted_count(), len(smtp.received)) == before, f"sent while paused (cycle {cycle})"
        released = campaign_resume(campaign_id=campaign_id, scope=OPERATOR)
        assert released > 0, f"the campaign ended before cycle {cycle}: the cycles must run during it"
        time.sleep(0.25)
    wait_until(lambda: pending(campaign_id) == 0, "every message sent", timeout=60, every=0.2)
    assert group.stop() == [0, 0, 0], group.logs()

    assert set(statuses(campaign_id)) <= {"sent", "delivered"}, statuses(campaign_id)
    seen = tally(smsc, smtp, campaign_id)
    assert not seen.wrong_text
    assert set(seen.counts) == recipients(campaign_id, "sent", "delivered")  # 0 skipped
    assert set(seen.counts.values()) == {1}  # 0 duplicates
    assert len(seen.counts) == 2000


HARNESS_JITTER = 0.1  # how late the in-process test SMSC may stamp an arrival on a loaded 2-core machine


def count_in_windows(arrivals: list[float], width: float = 1.0) -> int:
    """The most arrivals in any window [t, t + width) that starts at an arrival."""
    times = sorted(arrivals)
    return max((bisect_left(times, t + width) - i for i, t in enumerate(times)), default=0)


def test_throttling_storm_backs_off_loses_nothing_and_keeps_the_rate(
    workers: Callable[..., Workers], smsc: TimedSMSC
) -> None:
    rate = 40
    campaign_id = send_campaign(600, "sms")
    group = workers(batch=20, sms_rate=rate)
    group.start(3)
    wait_until(lambda: smsc.accepted_count() >= 3 * rate, "sending at the configured rate", timeout=30)
    smsc.storm(30)
    storm_start = time.monotonic()
    time.sleep(30)
    storm_end = time.monotonic()
    throttled = sum(1 for s in smsc.submits if s.status == ESME_RTHROTTLED)
    # Backing off: one probe now and then per worker, not the SMSC hammered for 30 s at the full rate.
    assert 0 < throttled < 0.1 * 30 * rate, throttled
    wait_until(lambda: pending(campaign_id) == 0, "every message sent after the storm", timeout=120, every=0.5)
    assert group.stop() == [0, 0, 0], group.logs()

    assert set(statuses(campaign_id)) <= {"sent", "delivered"}, statuses(campaign_id)  # nothing failed or lost
    seen = tally(smsc, None, campaign_id)
    assert not seen.wrong_text
    assert set(seen.counts) == recipients(campaign_id, "sent", "delivered")
    assert set(seen.counts.values()) == {1}
    # Throughput recovers: within 35 s of the storm's end some 3-second stretch runs at ≥ 80 % of the rate.
    accepted = sorted(t for t, s in zip(smsc.arrivals, smsc.submits, strict=True) if not s.status)
    after = [t for t in accepted if storm_end <= t < storm_end + 35]
    assert count_in_windows(after, 3.0) >= 0.8 * 3 * rate, (len(after), storm_start)
    # The configured rate holds in every one-second window, throttled submits included. The arrival times are
    # stamped by this test's SMSC, a thread in the pytest process on 2 cores shared with three workers and
    # PostgreSQL: now and then it stamps a submit tens of milliseconds late (CI once saw 41 within 0.975 s, 55 ms
    # of compression), which no sender can prevent. So the window here is 100 ms short of a second: slots are
    # (1 + 3 %)/rate apart (their exact spacing: test_control's limiter tests), and any real breach — a limiter
    # not shared between workers, a burst after the storm, a late send not re-slotted — still puts more than
    # `rate` submits into 0.9 s.
    times = sorted(smsc.arrivals)
    tightest = min(times[i + rate] - times[i] for i in range(len(times) - rate))
    assert count_in_windows(times, 1.0 - HARNESS_JITTER) <= rate, f"{rate + 1} submits within {tightest:.4f} s"
