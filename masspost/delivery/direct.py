"""Sending a few messages now, past the outbox: a campaign's test send to the user's own phone and e-mail
(campaigns.test_send). Each channel's gateway is built from the settings as the worker builds it
(MASSPOST_SMS_URL / MASSPOST_EMAIL_URL), opened, given the messages in order, and closed. Nothing is written: no
outbox row, no receipt. A receipt or a patient's reply that an SMSC offers while the gateway is open is refused,
so that the SMSC keeps it for a worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from masspost.delivery.dkim import email_signer
from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.base import Channel, Outcome, OutgoingMessage
from masspost.delivery.webhooks import public_url_for
from masspost.errors import GatewayConfigError, MasspostError

__all__ = ["DirectResult", "send_direct"]

SETTING = {Channel.SMS: "MASSPOST_SMS_URL", Channel.EMAIL: "MASSPOST_EMAIL_URL"}


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectResult:
    ok: bool  # the gateway accepted the message
    error: str = ""  # why not: the gateway's words (never a credential; no patient data is in a test message)
    remote_id: str = ""


class _Refused(Exception):  # noqa: N818 - not an error: a receipt or reply left with the SMSC on purpose
    """Raised by the hooks: the SMSC gets an error answer and delivers the receipt or reply again, to a worker."""


def _refuse(*args: Any) -> None:
    raise _Refused


def send_direct(messages: Sequence[OutgoingMessage]) -> list[DirectResult]:
    """One result per message, in order. A channel whose gateway cannot be built or opened (no URL set, a bad URL,
    credentials refused, the peer unreachable) fails each of its messages with that reason; GatewayConfigError
    only when no message could be tried at all because no gateway is configured for any of their channels."""
    results: list[DirectResult | None] = [None] * len(messages)
    by_channel: dict[str, list[int]] = {}
    for i, message in enumerate(messages):
        by_channel.setdefault(str(message.channel), []).append(i)
    unset = [ch for ch in by_channel if not _url(ch)]
    if by_channel and len(unset) == len(by_channel):
        raise GatewayConfigError("no gateway to send through: set " + " and ".join(SETTING[Channel(ch)]
                                                                                   for ch in unset))
    for channel, indexes in by_channel.items():
        for i, result in zip(indexes, _send_channel(channel, [messages[i] for i in indexes]), strict=True):
            results[i] = result
    return [r for r in results if r is not None]


def _url(channel: str) -> str:
    return str(getattr(settings, SETTING[Channel(channel)], "") or "")


def _send_channel(channel: str, messages: list[OutgoingMessage]) -> list[DirectResult]:
    url = _url(channel)
    if not url:
        return [DirectResult(ok=False, error=f"no {channel} gateway: {SETTING[Channel(channel)]} is not set")
                for _ in messages]
    try:
        public = public_url_for(url) if channel == Channel.SMS else ""
        # A test e-mail is signed as the campaign's will be (a DKIM problem shows in the test, not the send).
        gateway = gateway_from_url(url, public_url=public, on_delivery_receipt=_refuse,
                                   on_delivery_receipts=_refuse, on_incoming=_refuse,
                                   dkim=email_signer(url) if channel == Channel.EMAIL else None)
    except GatewayConfigError as exc:
        return [DirectResult(ok=False, error=str(exc)) for _ in messages]
    out: list[DirectResult] = []
    try:
        try:
            gateway.open()
        except MasspostError as exc:  # GatewayConfigError, or a gateway that says so itself
            return [DirectResult(ok=False, error=str(exc)) for _ in messages]
        for message in messages:
            result = gateway.send(message)
            ok = result.outcome is Outcome.ACCEPTED
            error = "" if ok else (result.error or str(result.outcome))
            if result.outcome is Outcome.UNKNOWN:
                error = f"no answer from the gateway, it may still arrive: {error}"
            out.append(DirectResult(ok=ok, error=error, remote_id=result.remote_id))
    finally:
        gateway.close()
    return out
