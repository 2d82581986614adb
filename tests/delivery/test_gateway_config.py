"""A gateway whose configuration is wrong (credentials refused, a certificate not trusted) stops its channel:
its messages stay queued, untouched; the other channel goes on; the worker ends with the error (non-zero exit)."""

from __future__ import annotations

import io
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.scope import Scope
from masspost.delivery.gateways.base import SendResult
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import OutboxMessage
from masspost.delivery.worker import GatewayConfig, worker_run
from masspost.errors import GatewayConfigError
from tests.conftest import campaign
from tests.peers.net import TestCertificates
from tests.peers.refusing_smsc import BindRefusingSMSC
from tests.peers.smtp_server import SMTPPeer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("memory_gateway")]


@pytest.fixture
def both_channels(make_patient: Any) -> int:
    for _ in range(5):
        make_patient()
    content = {"et": {"sms": "Tere {first_name}", "email_subject": "S", "email_body": "Tere {first_name}"}}
    return campaign_send(spec=CampaignSpec.from_dict(campaign(channel="both", content=content)),
                         scope=Scope.operator()).campaign_id


def untouched(channel: str) -> list[tuple[str, int, str, object]]:
    """The channel's rows as (status, attempts, last_error, sent_at): queued, 0, "", None when nothing touched them."""
    return sorted(set(OutboxMessage.objects.filter(channel=channel)
                      .values_list("status", "attempts", "last_error", "sent_at")))


def test_a_refused_smtp_password_stops_the_email_channel_and_the_sms_still_go(
    both_channels: int, smtp_starttls_server: SMTPPeer, certificates: TestCertificates
) -> None:
    server = smtp_starttls_server
    url = f"smtp://clinic:wrong@{server.host}:{server.port}?starttls=1&cafile={certificates.ca_file}"

    with pytest.raises(GatewayConfigError) as raised:
        worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": "memory:sms", "email": url}))

    message = str(raised.value)
    assert message.startswith("email gateway stopped: ") and "AUTH rejected" in message and "535" in message
    assert "MASSPOST_EMAIL_URL" in message and "wrong" not in message and "\n" not in message
    assert untouched("email") == [("queued", 0, "", None)]  # nothing failed, retried or left `sending`
    assert OutboxMessage.objects.filter(channel="sms", status="sent").count() == 5 == len(MemoryGateway.outboxes["sms"])
    assert server.received == []
    assert len(server.auth_attempts) <= 2  # one login (smtplib tries PLAIN, then LOGIN), not one per message


def test_an_untrusted_certificate_stops_the_channel_before_the_password_goes_out(
    both_channels: int, smtp_starttls_server: SMTPPeer
) -> None:
    server = smtp_starttls_server
    url = f"smtp://clinic:s3cret%20pass@{server.host}:{server.port}?starttls=1"  # the test CA is not named

    with pytest.raises(GatewayConfigError, match="certificate is not trusted"):
        worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": "memory:sms", "email": url}))

    assert untouched("email") == [("queued", 0, "", None)]
    assert server.auth_attempts == []


def test_a_refused_smpp_bind_stops_the_sms_channel(both_channels: int) -> None:
    peer = BindRefusingSMSC.start_refusing()
    url = f"smpp://masspost:secret@{peer.host}:{peer.port}?timeout=2"
    try:
        with pytest.raises(GatewayConfigError, match=r"^sms gateway stopped: .*ESME_RINVPASWD") as raised:
            worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": url, "email": "memory:email"}))
    finally:
        peer.stop()

    assert "MASSPOST_SMS_URL" in str(raised.value) and "secret" not in str(raised.value)
    assert untouched("sms") == [("queued", 0, "", None)]
    assert len(MemoryGateway.outboxes["email"]) == 5
    assert peer.binds == 1


def test_a_configuration_error_in_the_middle_keeps_what_was_sent_and_gives_the_rest_back(make_patient: Any) -> None:
    # The provider rotated the password while the worker ran: the reconnect is refused.
    for _ in range(9):
        make_patient()
    campaign_send(spec=CampaignSpec.from_dict(campaign(channel="email", content={
        "et": {"email_subject": "S", "email_body": "Tere {first_name}"}})), scope=Scope.operator())
    MemoryGateway.script("email", SendResult.accepted(), SendResult.accepted(), SendResult.accepted(),
                         SendResult.misconfigured("SMTP mail.example.ee:587: AUTH rejected (535 bad credentials)"))
    # Every later send would be refused too.
    MemoryGateway.script("email", *[SendResult.misconfigured("SMTP mail.example.ee:587: AUTH rejected")] * 20)

    with pytest.raises(GatewayConfigError, match="AUTH rejected"):
        worker_run(until_idle=True, gateways=GatewayConfig(urls={"email": "memory:email"}, group=4))

    sent = OutboxMessage.objects.filter(status="sent")
    assert sent.count() == 3 == len(MemoryGateway.outboxes["email"])
    rest = OutboxMessage.objects.exclude(status="sent")
    assert set(rest.values_list("status", "attempts", "last_error", "sent_at", "leased_by")) == {
        ("queued", 0, "", None, "")}
    assert rest.count() == 6


def test_without_until_idle_the_other_channel_keeps_going_and_the_worker_still_ends_with_the_error(
    both_channels: int
) -> None:
    MemoryGateway.script("email", *[SendResult.misconfigured("SMTP mail.example.ee:587: AUTH rejected")] * 20)
    deadline = time.monotonic() + 10

    def stop() -> bool:  # a SIGTERM once the SMS are out
        return len(MemoryGateway.outboxes.get("sms", [])) == 5 or time.monotonic() > deadline

    with pytest.raises(GatewayConfigError, match="^email gateway stopped"):
        worker_run(until_idle=False, poll=0.05, should_stop=stop, gateways=GatewayConfig(
            urls={"email": "memory:email", "sms": "memory:sms"}))  # e-mail's turn first: stopped before the SMS

    assert time.monotonic() < deadline
    assert untouched("email") == [("queued", 0, "", None)]
    assert OutboxMessage.objects.filter(channel="sms", status="sent").count() == 5


def test_a_worker_with_every_channel_stopped_ends_at_once_even_without_until_idle(both_channels: int) -> None:
    MemoryGateway.script("email", *[SendResult.misconfigured("SMTP: AUTH rejected")] * 20)
    MemoryGateway.script("sms", *[SendResult.misconfigured("SMPP: bind refused")] * 20)
    started = time.monotonic()

    with pytest.raises(GatewayConfigError) as raised:
        worker_run(until_idle=False, should_stop=lambda: time.monotonic() > started + 30,
                   gateways=GatewayConfig(urls={"sms": "memory:sms", "email": "memory:email"}))

    assert time.monotonic() - started < 10
    assert str(raised.value).startswith("sms gateway stopped: SMPP: bind refused") and "; email gateway" in str(
        raised.value)
    assert OutboxMessage.objects.exclude(status="queued").count() == 0


def test_an_unusable_url_stops_only_its_channel(both_channels: int) -> None:
    with pytest.raises(GatewayConfigError) as raised:
        worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": "smsgw://example", "email": "memory:email"}))

    assert str(raised.value).startswith("sms gateway stopped: unknown gateway URL scheme 'smsgw:'")
    assert untouched("sms") == [("queued", 0, "", None)]
    assert OutboxMessage.objects.filter(channel="email", status="sent").count() == 5


@pytest.fixture
def restore_signals() -> Iterator[None]:
    # `masspost worker` installs SIGINT/SIGTERM handlers; in-process, give pytest its own back.
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_worker_until_idle_exits_non_zero_with_one_line(
    both_channels: int, smtp_starttls_server: SMTPPeer, certificates: TestCertificates, restore_signals: None
) -> None:
    server = smtp_starttls_server
    url = f"smtp://clinic:wrong@{server.host}:{server.port}?starttls=1&cafile={certificates.ca_file}"
    with override_settings(MASSPOST_SMS_URL="memory:sms", MASSPOST_EMAIL_URL=url), \
            pytest.raises(CommandError) as raised:
        call_command("worker", until_idle=True, stdout=io.StringIO(), stderr=io.StringIO())
    assert str(raised.value).startswith("email gateway stopped: ") and "\n" not in str(raised.value)
    assert untouched("email") == [("queued", 0, "", None)]
