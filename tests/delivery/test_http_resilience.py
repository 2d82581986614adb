"""The kill -9 test of issue 4 over the HTTP SMS gateway (issue 18): real `masspost worker` processes sending to
the Twilio peer on loopback, each answer delayed so that windows of requests are in flight, killed with SIGKILL
again and again, always a worker with messages handed off at that moment.

The ground truth is what the peer accepted. A request in flight when its worker dies leaves its message `unknown`
(the provider may or may not have it; never re-sent by itself), at most `?window=` of them per kill; every other
message is at the provider exactly once, none left queued. Once the operator sends the unknown ones again
(`resend-unknown`), every message has reached the provider, and only those can have reached it twice. PostgreSQL
only, as tests/delivery/test_resilience.py, whose helpers this reuses."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from masspost.campaigns.services import campaign_resend_unknown
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from tests.delivery.test_resilience import LEASE, ROOT, Workers, pending, send_campaign, statuses, wait_until
from tests.peers.twilio_api import TwilioPeer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="several worker processes need PostgreSQL (SQLite runs one worker); "
                              "set DATABASE_URL=postgres://… to run these"),
]
OPERATOR = Scope.operator()
WINDOW = 10
KILLS = 10
PATIENTS = 4000
# Every answer waits this long, so that a worker's window is full of requests in flight whenever it is killed (an
# instant answer would leave nothing in flight to lose); 3 workers then send about 3 × WINDOW / LATENCY a second.
LATENCY = 0.1


@pytest.fixture
def twilio() -> Iterator[TwilioPeer]:
    with TwilioPeer(latency=LATENCY) as peer:
        yield peer


@pytest.fixture
def worker_env(tmp_path: Path, twilio: TwilioPeer) -> dict[str, str]:
    settings = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
                        f"{settings['PORT'] or 5432}/{settings['NAME']}",
        "MASSPOST_DATA_DIR": str(tmp_path),
        "MASSPOST_SMS_URL": f"{twilio.url}?window={WINDOW}&timeout=5",
        "MASSPOST_EMAIL_URL": f"file://{tmp_path / 'outbox-email.jsonl'}",
        "MASSPOST_SMS_RATE": "0",
        "MASSPOST_PUBLIC_URL": "",
        "MASSPOST_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def workers(tmp_path: Path, worker_env: dict[str, str]) -> Iterator[Workers]:
    group = Workers(tmp_path, worker_env, ["--lease", str(LEASE), "--batch", "50"])
    yield group
    group.stop(timeout=10)


def handed_off(pid: int) -> bool:
    """Whether the worker process `pid` has messages `sending`: claimed and handed to its gateway, whose requests
    (answered after LATENCY) are in flight now. Its worker id is "host:pid:random" (delivery.worker)."""
    return OutboxMessage.objects.filter(status="sending", leased_by__contains=f":{pid}:").exists()


def received(peer: TwilioPeer) -> Counter[str]:
    """How many times the peer accepted a message for each number (one message per patient here)."""
    return Counter(m.to.removeprefix("+") for m in peer.messages)


def addresses(campaign_id: int, *status: str) -> set[str]:
    rows = OutboxMessage.objects.filter(campaign_id=campaign_id, status__in=status).values_list("address", flat=True)
    return {address.removeprefix("+") for address in rows}


def test_kill_9_over_http_loses_nothing_and_sends_twice_only_what_it_marked_unknown(
    workers: Workers, twilio: TwilioPeer, worker_env: dict[str, str]
) -> None:
    campaign_id = send_campaign(PATIENTS, "sms")
    workers.start(3)
    rng = random.Random(20261207)
    kills = 0
    deadline = time.monotonic() + 60
    while kills < KILLS:
        assert time.monotonic() < deadline, workers.logs()
        time.sleep(rng.uniform(0.2, 0.5))
        assert pending(campaign_id) > 0, f"the run ended after {kills} kills: too few messages to kill into"
        # Only a worker with messages handed off right now: a kill during its start-up would prove nothing.
        busy = [i for i, proc in enumerate(workers.procs) if handed_off(proc.pid)]
        if busy:
            workers.kill_and_restart(rng.choice(busy))
            kills += 1
    # The live workers take over the dead ones' rows once their leases run out: back to the queue if never handed
    # to the gateway, `unknown` if handed off.
    wait_until(lambda: pending(campaign_id) == 0, "every message sent or unknown", timeout=60, every=0.5)
    assert workers.stop() == [0, 0, 0], workers.logs()

    final = statuses(campaign_id)
    assert set(final) <= {"sent", "unknown"}, final  # none queued, sending or failed
    unknown = addresses(campaign_id, "unknown")
    assert 0 < len(unknown) <= kills * WINDOW, final  # the kills hit requests in flight; at most a window each
    assert twilio.max_in_flight <= 3 * WINDOW  # no worker had more than its window at the provider
    seen = received(twilio)
    assert {a for a in addresses(campaign_id, "sent") if seen[a] != 1} == set()  # each recorded send there once
    assert set(seen) <= addresses(campaign_id, "sent", "unknown")  # nothing arrived that was not ours

    # The operator's decision (`masspost resend-unknown`), then one last `worker --until-idle`: the unknown ones go
    # again, and nothing else is left for it.
    assert campaign_resend_unknown(campaign_id=campaign_id, scope=OPERATOR) == len(unknown)
    last = subprocess.run([sys.executable, "-m", "masspost", "worker", "--until-idle"], cwd=ROOT, env=worker_env,
                          capture_output=True, text=True, timeout=60)
    assert last.returncode == 0, last.stdout + last.stderr
    assert f"worker: {len(unknown)} sent, 0 to retry, 0 failed" in last.stdout, last.stdout

    assert statuses(campaign_id) == {"sent": PATIENTS}
    seen = received(twilio)
    assert set(seen) == addresses(campaign_id, "sent")  # every message reached the provider: nothing lost
    assert {a for a, n in seen.items() if n > 1} <= unknown  # twice only what masspost had marked unknown
    assert max(seen.values()) <= 2
    texts = {address.removeprefix("+"): body for address, body in
             OutboxMessage.objects.filter(campaign_id=campaign_id).values_list("address", "body")}
    assert all(texts[m.to.removeprefix("+")] == m.text for m in twilio.messages)
