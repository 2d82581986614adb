"""The HTTP SMS gateway against the Twilio and Messente peers on loopback (tests/peers/twilio_api.py,
messente_api.py): the account check, requests in parallel up to the window and no further, results in message
order, and every way an answer (or its absence) is classified. No Django, no database."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit

import httpcore
import httpx
import pytest

from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.base import Channel, Outcome, OutgoingMessage, SendResult
from masspost.delivery.gateways.http_sms import HTTPSMSGateway, WebhookRequest, retry_after, scrubbed
from masspost.errors import GatewayConfigError
from tests.peers.http_provider import Answer
from tests.peers.messente_api import MessentePeer
from tests.peers.net import TestCertificates
from tests.peers.twilio_api import TwilioPeer

PUBLIC = "https://clinic.example.org"


@pytest.fixture(params=["twilio", "messente"])
def peer(request: pytest.FixtureRequest) -> Iterator[TwilioPeer | MessentePeer]:
    with (TwilioPeer() if request.param == "twilio" else MessentePeer()) as started:
        yield started


def gateway(url: str, **options: object) -> HTTPSMSGateway:
    query = "&".join(f"{key}={value}" for key, value in options.items())
    made = gateway_from_url(f"{url}?{query}" if query else url, public_url=PUBLIC)
    assert isinstance(made, HTTPSMSGateway)
    return made


def messages(n: int, *, parts: int = 1) -> list[OutgoingMessage]:
    return [OutgoingMessage(message_id=i, campaign_id=1, patient_ref=f"P-{i}", channel=Channel.SMS,
                            to=f"+372555{i:05d}", language="et", text=f"Tere {i}", parts=parts, sender="Kliinik")
            for i in range(1, n + 1)]


def with_credentials(url: str, password: str) -> str:
    user_and_password, _, host = url.partition("@")
    scheme_and_user = user_and_password.rpartition(":")[0]
    return f"{scheme_and_user}:{password}@{host}"


# -- the account check ------------------------------------------------------------------------------------------------

def test_open_checks_the_twilio_account_and_says_what_it_found(twilio: TwilioPeer) -> None:
    sms = gateway(twilio.url)
    sms.open()
    try:
        assert sms.account == f"Twilio account AC…{twilio.account_sid[-4:]} active"
        assert [(r.method, r.path) for r in twilio.requests] == [
            ("GET", f"/2010-04-01/Accounts/{twilio.account_sid}.json")]
        assert twilio.messages == [] and twilio.violations == []
    finally:
        sms.close()


def test_open_checks_the_messente_credentials_without_sending(messente: MessentePeer) -> None:
    sms = gateway(messente.url)
    sms.open()
    sms.close()
    assert sms.account == "Messente API credentials accepted"
    assert messente.messages == [] and len(messente.requests) == 1 and messente.violations == []


def test_refused_credentials_at_open_are_a_configuration_error_naming_none(peer: TwilioPeer | MessentePeer) -> None:
    wrong = "wrong-Secret-9"
    sms = gateway(with_credentials(peer.url, wrong))
    with pytest.raises(GatewayConfigError) as caught:
        sms.open()
    assert wrong not in str(caught.value)
    # Nothing is sent with refused credentials: the next messages come back misconfigured, unwritten.
    assert [r.outcome for r in sms.send_many(messages(2))] == [Outcome.MISCONFIGURED]
    sms.close()
    assert peer.messages == [] and len(peer.requests) == 1


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_a_suspended_twilio_account_is_a_configuration_error(twilio: TwilioPeer, status: str) -> None:
    twilio.account_status = status
    sms = gateway(twilio.url)
    with pytest.raises(GatewayConfigError, match=status):
        sms.open()
    sms.close()


def test_a_provider_out_of_reach_at_open_is_logged_and_each_send_is_transient(
        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sms = gateway(f"twilio+http://AC1:token@127.0.0.1:{port}", timeout=2, window=1)
    sms.open()  # no exception: the provider may come back
    assert "account not checked" in caplog.text and "token" not in caplog.text
    assert sms.account == "" and sms.unchecked.startswith("ConnectError")
    results = sms.send_many(messages(3))
    sms.close()
    assert [r.outcome for r in results] == [Outcome.TRANSIENT]  # the first says so; the rest were never written
    assert "ConnectError" in results[0].error


# -- sending ----------------------------------------------------------------------------------------------------------

def in_background(work: Callable[[], list[SendResult]]) -> Callable[[], list[SendResult]]:
    """Run `work` on a thread; the returned function joins it and gives its results (or raises its exception)."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(work)
    pool.shutdown(wait=False)
    return lambda: future.result(timeout=30)


def window_filled(peer: TwilioPeer | MessentePeer, window: int) -> None:
    """With the peer holding every answer: the window fills up, and no request beyond it is written."""
    assert peer.wait_in_flight(window, timeout=10) == window
    with pytest.raises(TimeoutError):  # a gateway writing past its window would show a fifth at once
        peer.wait_in_flight(window + 1, timeout=0.3)


def test_messages_go_in_parallel_up_to_the_window_and_come_back_in_order(peer: TwilioPeer | MessentePeer) -> None:
    sms = gateway(peer.url, window=4)
    sms.open()
    batch = messages(12)
    peer.hold()
    results = in_background(lambda: sms.send_many(batch))
    window_filled(peer, 4)
    peer.release()
    done = results()
    sms.close()
    assert [r.outcome for r in done] == [Outcome.ACCEPTED] * 12
    by_id = {m.id: m for m in peer.messages}
    assert [by_id[r.remote_id].to for r in done] == [m.to for m in batch]  # each result is its own message's
    assert peer.max_in_flight == 4  # in parallel, and never more than the window
    assert peer.violations == []


def test_batches_begun_one_after_another_share_the_window(twilio: TwilioPeer) -> None:
    sms = gateway(twilio.url, window=4)
    batch = messages(12)

    def begun_then_finished() -> list[SendResult]:
        handles = [sms.begin(batch[i:i + 3]) for i in range(0, 12, 3)]
        return [result for handle in handles for result in sms.finish(handle)]

    twilio.hold()
    results = in_background(begun_then_finished)
    window_filled(twilio, 4)  # the second batch waits for the first's slots: one window for all of them
    twilio.release()
    done = results()
    sms.close()
    assert [r.outcome for r in done] == [Outcome.ACCEPTED] * 12
    assert twilio.max_in_flight == 4  # what a killed worker can leave unknown: one window
    by_id = {m.id: m for m in twilio.messages}
    assert [by_id[r.remote_id].to for r in done] == [m.to for m in batch]


def test_each_message_asks_for_its_callback_and_passes_the_providers_published_contract(
        peer: TwilioPeer | MessentePeer) -> None:
    sms = gateway(peer.url)
    sms.send_many(messages(2))
    sms.close()
    assert peer.violations == []
    assert [m.sender for m in peer.messages] == ["Kliinik", "Kliinik"]
    expected = (f"{PUBLIC}/hooks/twilio/status" if isinstance(peer, TwilioPeer)
                else sms.provider.webhook_urls(PUBLIC)["dlr"])
    # Each with its own outbox id in the query, and nothing else.
    assert sorted(m.callback_url for m in peer.messages) == [f"{expected}?m=1", f"{expected}?m=2"]


def test_pace_is_called_on_the_callers_thread_once_per_part_before_each_request(twilio: TwilioPeer) -> None:
    calls: list[tuple[str, int]] = []

    def pace() -> None:
        calls.append((threading.current_thread().name, len(twilio.requests)))

    sms = gateway(twilio.url, window=1)
    sms.send_many(messages(3, parts=2), pace=pace)
    sms.close()
    assert len(calls) == 6 and {name for name, _seen in calls} == {threading.current_thread().name}
    # With a window of one, the second message's two slots are taken after the first answer, before its request.
    assert [seen for _name, seen in calls] == [0, 0, 1, 1, 2, 2]


def test_rate_limited_is_transient_with_retry_after_and_stops_the_rest(peer: TwilioPeer | MessentePeer) -> None:
    peer.script(Answer.rate_limited(7))
    sms = gateway(peer.url, window=1)
    results = sms.send_many(messages(3))
    sms.close()
    assert [(r.outcome, r.retry_after) for r in results] == [(Outcome.TRANSIENT, 7.0)]
    assert len(peer.requests) == 1  # a throttling provider is not fed the rest


def test_service_unavailable_is_transient_with_its_retry_after(peer: TwilioPeer | MessentePeer) -> None:
    peer.script(Answer.server_error(503, retry_after=4))
    sms = gateway(peer.url)
    result = sms.send(messages(1)[0])
    sms.close()
    assert (result.outcome, result.retry_after) == (Outcome.TRANSIENT, 4.0)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_an_internal_or_gateway_error_is_unknown_the_provider_may_have_taken_it(peer: TwilioPeer | MessentePeer,
                                                                                  status: int) -> None:
    peer.script(Answer.server_error(status))
    sms = gateway(peer.url, window=1)
    results = sms.send_many(messages(2))
    sms.close()
    assert [r.outcome for r in results] == [Outcome.UNKNOWN]  # and the rest is not written
    assert f"HTTP {status}" in results[0].error and "not re-sent by itself" in results[0].error
    assert len(peer.requests) == 1


def test_a_dropped_connection_after_the_request_is_unknown(peer: TwilioPeer | MessentePeer) -> None:
    peer.script(Answer.drop())
    sms = gateway(peer.url)
    result = sms.send(messages(1)[0])
    after = sms.send(messages(1)[0])  # a new connection for the next one
    sms.close()
    assert result.outcome is Outcome.UNKNOWN and "may have it" in result.error
    assert after.outcome is Outcome.ACCEPTED


def test_no_answer_within_the_timeout_is_unknown(twilio: TwilioPeer) -> None:
    twilio.script(Answer.accept(delay=5))  # cut short when the peer stops
    sms = gateway(twilio.url, timeout=1)
    result = sms.send(messages(1)[0])
    sms.close()
    assert result.outcome is Outcome.UNKNOWN and "ReadTimeout" in result.error


def test_a_documented_refusal_is_permanent_with_the_code_and_text(twilio: TwilioPeer, messente: MessentePeer) -> None:
    twilio.script(Answer.error(400, 21211, "The 'To' number +37255500001 is not a valid phone number."))
    messente.script(Answer.error(400, "105", "Invalid phone number +37255500001"))
    for peer in (twilio, messente):
        sms = gateway(peer.url)
        result = sms.send(messages(1)[0])
        sms.close()
        assert result.outcome is Outcome.PERMANENT
        assert "37255500001" not in result.error
    assert twilio_result_error(twilio) == "twilio 21211: Invalid 'To' Phone Number"


def twilio_result_error(twilio: TwilioPeer) -> str:
    twilio.script(Answer.error(400, 21211, "x"))
    sms = gateway(twilio.url)
    try:
        return sms.send(messages(1)[0]).error
    finally:
        sms.close()


def test_an_unsubscribed_recipient_is_permanent_and_an_opt_out(twilio: TwilioPeer) -> None:
    twilio.script(Answer.error(400, 21610, "Attempt to send to unsubscribed recipient"))
    sms = gateway(twilio.url)
    result = sms.send(messages(1)[0])
    sms.close()
    assert (result.outcome, result.opt_out) == (Outcome.PERMANENT, True)


def test_a_mixed_batch_returns_every_written_result_classified_in_order(twilio: TwilioPeer) -> None:
    # Written in parallel before any answer came: each gets its own result, and the pipeline records each.
    twilio.latency = 0.2
    answers = [Answer.accept(), Answer.error(400, 21614, "x"), Answer.rate_limited(2), Answer.accept()]
    twilio.script(*answers)
    sms = gateway(twilio.url, window=4)
    results = sms.send_many(messages(4))
    sms.close()
    # The peer answers in the order the requests came; the gateway writes no more once the 429 is back (the fourth
    # is normally written long before, but a slow machine may not get to it in time).
    written = len(twilio.requests)
    assert len(results) == written >= 3
    kinds = {"accept": Outcome.ACCEPTED, "error": Outcome.PERMANENT, "rate_limited": Outcome.TRANSIENT}
    assert sorted(r.outcome for r in results) == sorted(kinds[a.kind] for a in answers[:written])
    by_id = {m.id: m.to for m in twilio.messages}
    assert all(by_id[r.remote_id] == m.to for r, m in zip(results, messages(4), strict=False) if r.remote_id)


def test_credentials_refused_on_a_send_stop_every_later_send_unwritten(twilio: TwilioPeer) -> None:
    twilio.script(Answer.unauthorized())
    sms = gateway(twilio.url, window=1)
    first = sms.send_many(messages(3))
    later = sms.send_many(messages(2))
    sms.close()
    assert [r.outcome for r in first] == [Outcome.MISCONFIGURED]
    assert [r.outcome for r in later] == [Outcome.MISCONFIGURED]
    assert len(twilio.requests) == 1


class PaceFailed(Exception):
    pass


def test_an_error_from_pace_returns_what_was_written_and_one_transient(twilio: TwilioPeer) -> None:
    calls = 0

    def pace() -> None:  # the rate limiter's database failing at the third message
        nonlocal calls
        calls += 1
        if calls == 3:
            raise PaceFailed("database is locked")

    sms = gateway(twilio.url, window=2)
    results = sms.send_many(messages(4), pace=pace)
    after = sms.send_many(messages(2))  # every slot was given back
    sms.close()
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.TRANSIENT]
    assert "PaceFailed" in results[2].error
    assert [r.outcome for r in after] == [Outcome.ACCEPTED] * 2
    assert len(twilio.messages) == 4


def test_an_interrupt_in_pace_is_raised_and_gives_its_slot_back(twilio: TwilioPeer) -> None:
    def pace() -> None:
        raise KeyboardInterrupt

    sms = gateway(twilio.url, window=1)
    with pytest.raises(KeyboardInterrupt):
        sms.send_many(messages(1), pace=pace)
    assert [r.outcome for r in sms.send_many(messages(1))] == [Outcome.ACCEPTED]  # the one slot is free
    sms.close()


def test_a_message_that_cannot_be_built_uses_no_rate_slot(twilio: TwilioPeer) -> None:
    paced: list[int] = []
    batch = messages(3, parts=2)
    no_sender = OutgoingMessage(**{**{f: getattr(batch[1], f) for f in batch[1].__dataclass_fields__}, "sender": ""})
    sms = gateway(twilio.url, window=1)
    results = sms.send_many([batch[0], no_sender, batch[2]], pace=lambda: paced.append(len(twilio.requests)))
    sms.close()
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.PERMANENT, Outcome.ACCEPTED]
    assert "no SMS sender" in results[1].error
    assert len(paced) == 4  # two parts each of the two messages sent; none for the one without a sender


def test_an_exception_before_the_request_is_written_is_transient(twilio: TwilioPeer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> httpx.Response:
        raise OverflowError("timeout doesn't fit")  # what socket.settimeout(inf) raised before timeout= was bounded

    sms = gateway(twilio.url)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refused)
    result = sms.send(messages(1)[0])
    monkeypatch.undo()
    sms.close()
    assert result.outcome is Outcome.TRANSIENT and "before the request was written" in result.error
    assert twilio.requests == []


def test_an_exception_after_the_request_was_written_is_unknown(twilio: TwilioPeer,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def lost(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug reading the answer's head")

    sms = gateway(twilio.url)
    monkeypatch.setattr(httpcore._sync.http11.HTTP11Connection, "_receive_response_headers", lost)
    result = sms.send(messages(1)[0])
    monkeypatch.undo()
    sms.close()
    assert result.outcome is Outcome.UNKNOWN and "after the request was written" in result.error
    assert len(twilio.wait_for_requests(1)) == 1


def test_an_answer_that_cannot_be_read_is_unknown(twilio: TwilioPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: object) -> str:
        raise RuntimeError("a bug reading the answer")

    sms = gateway(twilio.url)
    monkeypatch.setattr(sms.provider, "remote_id", broken)
    result = sms.send(messages(1)[0])
    sms.close()
    assert result.outcome is Outcome.UNKNOWN and "may have taken the message" in result.error
    assert len(twilio.messages) == 1  # it was taken: sent again, it would reach the patient twice


def test_the_log_names_the_code_and_title_the_error_keeps_the_providers_scrubbed_words(
        twilio: TwilioPeer, caplog: pytest.LogCaptureFixture) -> None:
    twilio.script(Answer.error(400, 21999, "Patient Mari Maasikas cannot get this"))
    caplog.set_level(logging.INFO, logger="masspost.delivery.gateways")
    sms = gateway(twilio.url)
    result = sms.send(messages(1)[0])
    sms.close()
    assert result.error == "twilio 21999: Patient Mari Maasikas cannot get this"
    assert "twilio 21999" in caplog.text and "Maasikas" not in caplog.text


@pytest.mark.parametrize("timeout", ["0", "-1", "301", "inf", "nan", "1e400"])
def test_a_timeout_out_of_bounds_is_refused_naming_no_credential(timeout: str) -> None:
    with pytest.raises(GatewayConfigError, match="timeout= must be more than 0 and at most 300") as caught:
        gateway_from_url(f"twilio://AC1:s3cret-token@api.twilio.com?timeout={timeout}")
    assert "s3cret" not in str(caught.value)
    assert gateway("twilio://AC1:s3cret-token@api.twilio.com?timeout=300").timeout == 300.0


# -- the shared helpers -----------------------------------------------------------------------------------------------

def test_retry_after_reads_seconds_and_dates_and_caps_them() -> None:
    assert retry_after({"retry-after": "12"}) == 12.0
    assert retry_after({}) == 0.0 and retry_after({"retry-after": "soon"}) == 0.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after({"retry-after": later}) <= 30
    assert retry_after({"retry-after": "-5"}) == 0.0 and retry_after({"retry-after": "999999"}) == 3600.0


def test_scrubbed_takes_out_numbers_and_addresses() -> None:
    said = scrubbed("To +372 5551 2345 or (555) 123-4567, mail a.b@example.org: not valid")
    assert said == "To … or (…, mail …: not valid"
    assert len(scrubbed("x" * 500)) == 160


# -- the peers' callbacks read by the provider objects (two implementations of the signature, one answer) ------------

def callback_request(url: str, headers: dict[str, str], body: bytes, kind: str) -> WebhookRequest:
    lower = {name.lower(): value for name, value in headers.items()}
    # The secret is the path's last segment, as the web server reads it: the query (`?m=`) is not part of it.
    tail = urlsplit(url).path.split(f"/hooks/{'twilio' if kind == 'status' else 'messente'}/{kind}", 1)[1]
    return WebhookRequest(kind=kind, url=url, secret=tail.strip("/"), headers=lower, body=body,
                          content_type=lower.get("content-type", ""))


@pytest.mark.parametrize(("said", "stat"), [("delivered", "DELIVRD"), ("undelivered", "UNDELIV")])
def test_the_peers_receipts_read_as_receipts_for_the_messages_sent(peer: TwilioPeer | MessentePeer, said: str,
                                                                   stat: str) -> None:
    sms = gateway(peer.url)
    result = sms.send(messages(1)[0])
    sms.close()
    peer.receipts = said  # set after the send: the peer posts nothing itself, the test hands its callback over
    callback = peer.receipt_for(peer.message(result.remote_id))
    assert callback is not None
    event = sms.provider.webhook(callback_request(*callback))
    # The receipt names the outbox row its message was sent for (the callback URL's `?m=`).
    assert [(r.remote_id, r.stat, r.message_id) for r in event.receipts] == [(result.remote_id, stat, 1)]
    assert bool(event.receipts[0].error) is (stat == "UNDELIV")


# -- TLS -------------------------------------------------------------------------------------------------------------

@pytest.fixture
def untrusted_tls_port(certificates: TestCertificates) -> Iterator[int]:
    """A TLS server on loopback whose certificate (a throw-away CA's) the system does not trust."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            with connection, contextlib.suppress(ssl.SSLError, OSError):  # the client refuses the certificate
                context.wrap_socket(connection, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


def test_a_send_over_tls_trusts_the_system_ca_store_and_takes_http_1_1_when_the_provider_offers_only_that(
        certificates: TestCertificates, monkeypatch: pytest.MonkeyPatch) -> None:
    # SSL_CERT_FILE stands for the system's CA store (OpenSSL's default paths, which the gateway's context loads).
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(certificates.cert_file, certificates.key_file)
    made: list[tuple[object, ...]] = []
    default_context = ssl.create_default_context

    def spy(*args: object, **kwargs: object) -> ssl.SSLContext:
        made.append((*args, *kwargs.items()))
        return default_context(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", spy)
    with TwilioPeer(tls=server) as twilio:
        assert twilio.url.startswith("twilio://")  # https: the gateway offers h2 and http/1.1 by ALPN
        sms = gateway(twilio.url, timeout=5)
        sms.open()
        results = sms.send_many(messages(2))
        sms.close()
        assert sms.account.endswith("active")
        assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 2 and len(twilio.messages) == 2
        assert twilio.alpn and set(twilio.alpn) == {"http/1.1"}
    assert made == [()]  # one context, the system's default paths: no CA bundle of httpx's (certifi) instead


def test_an_untrusted_tls_certificate_is_a_configuration_error_not_a_retry(untrusted_tls_port: int) -> None:
    sms = gateway(f"twilio://AC1:token@127.0.0.1:{untrusted_tls_port}", timeout=5)
    with pytest.raises(GatewayConfigError, match="TLS certificate is not trusted") as caught:
        sms.open()
    assert "token" not in str(caught.value)
    sms.close()
    unopened = gateway(f"messente://user:password@127.0.0.1:{untrusted_tls_port}", timeout=5)
    results = unopened.send_many(messages(1))
    unopened.close()
    assert [r.outcome for r in results] == [Outcome.MISCONFIGURED] and "not trusted" in results[0].error
