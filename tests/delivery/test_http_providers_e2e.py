"""A campaign through each HTTP SMS provider end to end (issue 18): masspost's own services make, preview and send
it, the worker delivers it to the provider's loopback peer (tests/peers), and the peer calls back masspost's
webhooks, served on loopback by masspost's WSGI application with MASSPOST_PUBLIC_URL pointing at it.

The ground truth is what the peer received and what its webhook calls were answered. The data is committed
(transaction=True): the server's threads have database connections of their own.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import CommandError, call_command
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test.testcases import QuietWSGIRequestHandler

from masspost.campaigns.selectors import campaign_preview, campaign_status
from masspost.campaigns.services import campaign_resend_unknown, campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.gateways.http_sms import provider_from_url
from masspost.delivery.models import DeliveryReceipt, InboundMessage, OutboxMessage
from masspost.delivery.worker import GatewayConfig, WorkerStats, worker_run
from masspost.errors import ConflictError
from tests.conftest import campaign
from tests.peers.messente_api import MessentePeer
from tests.peers.twilio_api import Answer, TwilioPeer

pytestmark = pytest.mark.django_db(transaction=True)
OPERATOR = Scope.operator()
PROVIDERS = ("twilio", "messente")
PEERS: dict[str, Any] = {"twilio": TwilioPeer, "messente": MessentePeer}
WAIT = 20.0  # seconds: the most any callback or receipt may take on a loaded CI machine (polled, not slept)


# -- masspost served on loopback --------------------------------------------------------------------------------


class _Server(ThreadedWSGIServer):
    daemon_threads = False  # server_close() waits for the requests in hand: none outlives the test's data


class AppServer:
    """masspost's WSGI application on a free loopback port, served by threads of this process over the test
    database — what `masspost serve` runs, without a second process that could not see an in-memory database.

    SQLite's test database lives in memory, shared by this process's connections, and two of them writing at once
    get SQLITE_LOCKED at once instead of waiting (a real database file waits for its lock: tests/delivery/
    test_inbound.py). So on SQLite a request and the test's own database work take turns (`alone`); on
    PostgreSQL they run side by side, as a worker and `masspost serve` do."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._serialise = connection.vendor == "sqlite"
        self._handler = WSGIHandler()
        self._httpd = _Server(("127.0.0.1", 0), QuietWSGIRequestHandler, allow_reuse_address=False)
        self._httpd.set_app(self._app)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="masspost-app", daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.alone():
            return self._handler(environ, start_response)

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        """On SQLite, no request is served meanwhile (see the class)."""
        if not self._serialise:
            yield
            return
        with self._lock:
            yield

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)


@pytest.fixture
def app() -> Iterator[AppServer]:
    server = AppServer()
    yield server
    server.stop()


# -- the provider's peer and masspost's settings ----------------------------------------------------------------


@dataclass
class Setup:
    """One provider's peer, masspost's app serving the webhooks, and the URLs between them."""

    name: str
    peer: Any  # TwilioPeer | MessentePeer
    app: AppServer

    @property
    def hooks(self) -> dict[str, str]:
        """The webhooks as masspost documents them for this provider (`masspost gateway check` prints them)."""
        return provider_from_url(self.peer.url).webhook_urls(self.app.url)

    @property
    def receipt_url(self) -> str:
        return self.hooks["status" if self.name == "twilio" else "dlr"]

    @property
    def inbound_url(self) -> str:
        return self.hooks["inbound"]

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        """Poll `predicate` (which may read the database) until it holds."""
        deadline = time.monotonic() + timeout
        while True:
            with self.app.alone():
                if predicate():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"not within {timeout:.0f} s: {what}")
            time.sleep(0.05)

    def run_worker(self) -> WorkerStats:
        with self.app.alone():
            return worker_run(until_idle=True, poll=0.05, gateways=GatewayConfig.from_settings())


def start(name: str, app: AppServer, settings: Any, stack: contextlib.ExitStack, **peer_options: Any) -> Setup:
    peer = stack.enter_context(PEERS[name](**peer_options))
    settings.MASSPOST_SMS_URL = peer.url
    settings.MASSPOST_SMS_RATE = 0
    settings.MASSPOST_PUBLIC_URL = app.url
    return Setup(name=name, peer=peer, app=app)


@pytest.fixture
def provider(app: AppServer, settings: Any) -> Iterator[Callable[..., Setup]]:
    """`provider(name, **peer options)`: the peer started, masspost configured for it; stopped after the test
    (before the app server, so that no callback is left in flight)."""
    with contextlib.ExitStack() as stack:
        yield lambda name, **options: start(name, app, settings, stack, **options)


# -- data -------------------------------------------------------------------------------------------------------


def sent_and_worked(setup: Setup, patients: list[Patient]) -> int:
    """A campaign to `patients` sent (with the database to the test alone on SQLite) and one worker run through
    the provider's peer; its id."""
    with setup.app.alone():
        campaign_id = send_campaign(patients)
    setup.run_worker()
    return campaign_id


def send_campaign(patients: list[Patient]) -> int:
    """A campaign to `patients`, previewed and then sent as previewed (the token), as the web page does."""
    spec = CampaignSpec.from_dict(campaign())
    preview = campaign_preview(spec=spec, scope=OPERATOR)
    assert preview.result.messages == len(patients)
    outcome = campaign_send(spec=spec, scope=OPERATOR, token=str(preview.token))
    assert outcome.messages == len(patients)
    return outcome.campaign_id


def previewed_patients() -> set[int]:
    """Whom a preview of the same campaign made now would send to."""
    seen: set[int] = set()
    campaign_preview(spec=CampaignSpec.from_dict(campaign()), scope=OPERATOR, audit=False,
                     on_recipient=lambda r: seen.add(r.patient_id))
    return seen


def rows(campaign_id: int) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(campaign_id=campaign_id).order_by("id"))


def statuses(campaign_id: int) -> Counter[str]:
    return Counter(OutboxMessage.objects.filter(campaign_id=campaign_id).values_list("status", flat=True))


def snapshot(campaign_id: int) -> tuple[Any, ...]:
    """Everything a webhook could change: the rows' status and error, consent, replies, stored receipts."""
    return (list(OutboxMessage.objects.filter(campaign_id=campaign_id).order_by("id")
                 .values_list("id", "status", "last_error", "updated_at")),
            list(Patient.objects.order_by("id").values_list("id", "accepts_sms")),
            ConsentEvent.objects.count(), InboundMessage.objects.count(), DeliveryReceipt.objects.count())


@pytest.fixture
def patients(make_patient: Callable[..., Patient]) -> list[Patient]:
    return [make_patient() for _ in range(6)]


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """`masspost worker` installs SIGINT/SIGTERM handlers; in-process, give pytest its own back."""
    import signal

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def with_secret(url: str, secret: str) -> str:
    """Messente's webhook URL with another secret as its last segment."""
    parts = urlsplit(url)
    path = parts.path.rsplit("/", 1)[0] + "/" + secret
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def resend_last_reply(setup: Setup) -> int:
    """The peer's last reply posted again as it was (the same provider message id), authenticated as before."""
    peer, url = setup.peer, setup.inbound_url
    if setup.name == "twilio":
        return int(peer.post(url, peer.signed_headers(url, peer.last_reply), urlencode(peer.last_reply).encode()))
    body = json.dumps(peer.last_reply).encode()
    return int(peer.post(url, peer.signed_headers(body), body))


def with_password(url: str, password: str) -> str:
    """The gateway URL with another password (Twilio: auth token)."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    return urlunsplit((parts.scheme, f"{user}:{password}@{parts.hostname}:{parts.port}", parts.path, parts.query, ""))


# The receipt webhook each message must name (docs/delivery.md): Twilio's is signed, Messente's carries a secret
# derived from the credentials.
DOCUMENTED = {"twilio": r"{public}/hooks/twilio/status", "messente": r"{public}/hooks/messente/dlr/[0-9a-f]{{32}}"}
# A documented delivery error of each provider: Twilio's 30003 "Unreachable destination handset", Messente's
# delivery report `err` 3 "Invalid number".
UNREACHABLE = {"twilio": 30003, "messente": 3}


# -- the scenarios ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_campaign_is_sent_once_and_every_receipt_turns_it_delivered(
    name: str, provider: Callable[..., Setup], patients: list[Patient]
) -> None:
    setup = provider(name, receipts="delivered")
    with setup.app.alone():
        campaign_id = send_campaign(patients)

    stats = setup.run_worker()

    assert (stats.sent, stats.failed, stats.unknown, stats.retried) == (len(patients), 0, 0, 0)
    with setup.app.alone():
        outbox = rows(campaign_id)
    messages = setup.peer.messages
    assert Counter(m.to for m in messages) == Counter(r.address for r in outbox)  # every one, once
    assert len(messages) == len(patients)
    by_address = {r.address: r for r in outbox}
    assert all(m.text == by_address[m.to].body and m.sender == "HammasTLN" for m in messages)
    assert {m.id for m in messages} == {r.remote_id for r in outbox}
    # Each asks for its receipt at the webhook masspost documents for the provider, under MASSPOST_PUBLIC_URL, with
    # its own outbox id in the query and nothing else (the peer checks the request against the published API).
    assert all(m.callback_url == f"{setup.receipt_url}?m={by_address[m.to].id}" for m in messages)
    assert re.fullmatch(DOCUMENTED[name].format(public=re.escape(setup.app.url)), setup.receipt_url)
    credentials = urlsplit(setup.peer.url)
    assert credentials.username not in setup.receipt_url and str(credentials.password) not in setup.receipt_url
    setup.wait(lambda: statuses(campaign_id) == {"delivered": len(patients)}, "every message delivered")
    callbacks = setup.peer.wait_for_callbacks(len(patients), timeout=WAIT)
    assert {c.status_code for c in callbacks} == {200}
    assert setup.peer.violations == []  # every request as the provider's published API document has it


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_stop_reply_in_either_number_format_opts_the_patient_out(
    name: str, provider: Callable[..., Setup], patients: list[Patient]
) -> None:
    setup = provider(name)
    sent_and_worked(setup, patients)
    national, international, *others = patients

    assert setup.peer.send_reply(setup.inbound_url, national.phone, "STOP") == 200  # 5xxxxxxx
    assert setup.peer.send_reply(setup.inbound_url, international.phone_e164, "Stop") == 200  # +3725xxxxxxx
    assert resend_last_reply(setup) == 200  # the provider retries a webhook: the reply is taken once

    with setup.app.alone():
        assert set(Patient.objects.filter(accepts_sms=False).values_list("id", flat=True)) == {
            national.id, international.id}
        assert sorted(ConsentEvent.objects.values_list("patient_id", "channel", "accepts", "source")) == sorted(
            (p.id, "sms", False, "sms-stop") for p in (national, international))
        assert list(InboundMessage.objects.values_list("kind", "patients", "opted_out")) == [("stop", 1, 1)] * 2
        assert previewed_patients() == {p.id for p in others}  # the next campaign leaves them out


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_unauthenticated_webhook_is_refused_and_changes_nothing(
    name: str, provider: Callable[..., Setup], patients: list[Patient]
) -> None:
    setup = provider(name)
    campaign_id = sent_and_worked(setup, patients)
    with setup.app.alone():
        remote_id = rows(campaign_id)[0].remote_id
        before = snapshot(campaign_id)
    peer, stop_from = setup.peer, patients[0].phone_e164

    if name == "twilio":
        refused = [peer.send_status(remote_id, "delivered", sign=False),
                   peer.send_status(remote_id, "delivered", tamper=True),
                   peer.send_reply(setup.inbound_url, stop_from, "STOP", sign=False),
                   peer.send_reply(setup.inbound_url, stop_from, "STOP", tamper=True)]
    else:
        secret = setup.inbound_url.rsplit("/", 1)[1]
        wrong = secret[:-1] + ("0" if secret[-1] != "0" else "1")  # the same length, one character off
        refused = [peer.send_status(remote_id, "delivered", url=with_secret(setup.receipt_url, wrong)),
                   peer.send_reply(with_secret(setup.inbound_url, wrong), stop_from, "STOP"),
                   peer.send_reply(with_secret(setup.inbound_url, "x" * len(secret)), stop_from, "STOP")]

    assert set(refused) == {403}
    with setup.app.alone():
        assert snapshot(campaign_id) == before
    # The same calls authenticated are taken: the refusals above were for the signature or the secret alone.
    assert peer.send_status(remote_id, "delivered") == 200
    assert peer.send_reply(setup.inbound_url, stop_from, "STOP") == 200
    with setup.app.alone():
        assert OutboxMessage.objects.get(remote_id=remote_id).status == "delivered"
        assert Patient.objects.get(id=patients[0].id).accepts_sms is False


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_same_receipt_twice_is_harmless(
    name: str, provider: Callable[..., Setup], patients: list[Patient]
) -> None:
    setup = provider(name)
    campaign_id = sent_and_worked(setup, patients)
    with setup.app.alone():
        first, second = rows(campaign_id)[:2]

    assert setup.peer.send_status(first.remote_id, "delivered") == 200
    assert setup.peer.send_status(second.remote_id, "undelivered", error_code=UNREACHABLE[name]) == 200
    with setup.app.alone():
        once = snapshot(campaign_id)[:2], campaign_status(campaign_id=campaign_id, scope=OPERATOR)
    assert setup.peer.send_status(first.remote_id, "delivered") == 200  # the provider retries its callbacks
    assert setup.peer.send_status(second.remote_id, "undelivered", error_code=UNREACHABLE[name]) == 200

    with setup.app.alone():
        assert (snapshot(campaign_id)[:2], campaign_status(campaign_id=campaign_id, scope=OPERATOR)) == once
        assert statuses(campaign_id) == {"delivered": 1, "undelivered": 1, "sent": len(patients) - 2}


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_undelivered_receipt_keeps_the_providers_error_code(
    name: str, provider: Callable[..., Setup], patients: list[Patient]
) -> None:
    setup = provider(name)
    campaign_id = sent_and_worked(setup, patients)
    with setup.app.alone():
        row = rows(campaign_id)[0]

    assert setup.peer.send_status(row.remote_id, "undelivered", error_code=UNREACHABLE[name]) == 200

    with setup.app.alone():
        row.refresh_from_db()
    assert row.status == "undelivered"
    assert row.last_error.startswith(f"{name} {UNREACHABLE[name]}"), row.last_error
    assert row.address.removeprefix("+") not in row.last_error and row.body not in row.last_error


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_message_whose_answer_was_lost_is_settled_by_the_providers_receipt_and_not_resent(
    name: str, provider: Callable[..., Setup], patients: list[Patient]
) -> None:
    """The provider takes a message and the connection drops before its answer: the row is `unknown`, with no
    remote id. The provider's receipt comes to the callback URL the message gave (`?m=<outbox id>`): the row gets
    the provider's id and ends `delivered`, and `resend-unknown` has nothing left to send twice."""
    setup = provider(name)
    with setup.app.alone():
        campaign_id = send_campaign(patients)
    setup.peer.script(Answer.drop(accepted=True))

    stats = setup.run_worker()

    assert (stats.sent, stats.unknown) == (len(patients) - 1, 1)
    with setup.app.alone():
        lost = OutboxMessage.objects.get(campaign_id=campaign_id, status="unknown")
    assert lost.remote_id == ""
    taken = [m for m in setup.peer.messages if m.to == lost.address]
    assert len(taken) == 1 and taken[0].callback_url.endswith(f"?m={lost.id}")  # the provider has it, once

    assert setup.peer.send_status(taken[0].id, "delivered") == 200

    with setup.app.alone():
        lost.refresh_from_db()
        assert (lost.status, lost.remote_id) == ("delivered", taken[0].id)
        assert "receipt" in lost.last_error, lost.last_error
        assert statuses(campaign_id) == {"delivered": 1, "sent": len(patients) - 1}
        shown = campaign_status(campaign_id=campaign_id, scope=OPERATOR)
        assert (shown["messages"]["unknown"], shown["messages"]["delivered"], shown["problems"]) == (0, 1, 0)
        with pytest.raises(ConflictError):
            campaign_resend_unknown(campaign_id=campaign_id, scope=OPERATOR)
        assert statuses(campaign_id) == {"delivered": 1, "sent": len(patients) - 1}
    assert len(setup.peer.messages) == len(patients)  # nothing sent twice
    assert setup.peer.violations == []


def test_twilio_21610_fails_the_message_and_records_the_providers_opt_out(
    provider: Callable[..., Setup], patients: list[Patient]
) -> None:
    setup = provider("twilio")
    with setup.app.alone():
        campaign_id = send_campaign(patients)
    setup.peer.script(Answer.error(400, 21610, "Attempt to send to unsubscribed recipient"))

    stats = setup.run_worker()

    assert (stats.sent, stats.failed) == (len(patients) - 1, 1)
    with setup.app.alone():
        failed = OutboxMessage.objects.get(campaign_id=campaign_id, status="failed")
        assert failed.last_error.startswith("twilio 21610"), failed.last_error
        assert failed.address.removeprefix("+") not in failed.last_error
        assert list(Patient.objects.filter(accepts_sms=False).values_list("id", flat=True)) == [failed.patient_id]
        assert list(ConsentEvent.objects.values_list("patient_id", "channel", "accepts", "source")) == [
            (failed.patient_id, "sms", False, "provider")]
        assert previewed_patients() == {p.id for p in patients} - {failed.patient_id}


def test_a_twilio_receipt_saying_21610_records_the_providers_opt_out(
    provider: Callable[..., Setup], patients: list[Patient]
) -> None:
    setup = provider("twilio")
    campaign_id = sent_and_worked(setup, patients)
    with setup.app.alone():
        row = rows(campaign_id)[0]

    assert setup.peer.send_status(row.remote_id, "undelivered", error_code=21610) == 200
    assert setup.peer.send_status(row.remote_id, "undelivered", error_code=21610) == 200  # retried: once only

    with setup.app.alone():
        row.refresh_from_db()
        assert (row.status, row.last_error.startswith("twilio 21610")) == ("undelivered", True), row.last_error
        assert list(Patient.objects.filter(accepts_sms=False).values_list("id", flat=True)) == [row.patient_id]
        assert list(ConsentEvent.objects.values_list("patient_id", "channel", "accepts", "source")) == [
            (row.patient_id, "sms", False, "provider")]
        assert previewed_patients() == {p.id for p in patients} - {row.patient_id}


@pytest.mark.parametrize(("name", "refusal"), [("twilio", "credentials"), ("twilio", "suspended"),
                                               ("messente", "credentials")])
def test_refused_credentials_stop_the_sms_channel_and_the_worker_exits_non_zero(
    name: str, refusal: str, provider: Callable[..., Setup], patients: list[Patient], settings: Any,
    restore_signals: None, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    setup = provider(name)
    real = urlsplit(setup.peer.url).password or ""
    wrong = "WrongPass4242" + real[::-1]
    if refusal == "credentials":
        settings.MASSPOST_SMS_URL = with_password(setup.peer.url, wrong)
    else:
        setup.peer.account_status = "suspended"
    with setup.app.alone():
        campaign_id = send_campaign(patients)
    out, err = io.StringIO(), io.StringIO()
    caplog.set_level(logging.DEBUG)

    with setup.app.alone(), pytest.raises(CommandError) as raised:
        call_command("worker", until_idle=True, stdout=out, stderr=err)

    message = str(raised.value)
    assert raised.value.returncode != 0
    assert message.startswith("sms gateway stopped: ") and "\n" not in message, message
    assert "MASSPOST_SMS_URL" in message  # what to fix
    printed = "\n".join([message, out.getvalue(), err.getvalue(), caplog.text, *capfd.readouterr()])
    assert wrong not in printed and real not in printed  # no credential, whichever was given
    # The account request only, once: not one message tried, and no second try of refused credentials (a provider
    # may lock an account after a few).
    assert [(r.method, r.status) for r in setup.peer.requests] == [("GET", 200 if refusal == "suspended" else 401)]
    with setup.app.alone():
        assert statuses(campaign_id) == {"queued": len(patients)}
        assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {0}
