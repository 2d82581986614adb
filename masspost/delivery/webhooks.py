"""The HTTP SMS providers' webhooks: delivery receipts and replies, as the provider calls them under
MASSPOST_PUBLIC_URL (docs/delivery.md, "HTTP SMS providers").

The provider is the one the SMS URL names (`http_sms.provider_from_url`): a call for another provider, or any call
while no public URL is set (the provider was never told to call), is not found. The provider module authenticates
the call (Twilio's signature over the public URL and the form; Messente's secret in the path, which it derives from
the credentials) and reads it; a call it refuses changes nothing. What it reads is recorded as the SMPP hooks record
theirs (delivery.inbound): receipts move messages to delivered / undelivered — an undelivered one keeps the
provider's error, and one saying the recipient opted out with the provider (Twilio 21610) opts the patient out,
also when it came before the worker recorded the message (it is kept with the receipt: claims.stored_receipts_apply)
— and replies are stored, their stop words opting the patient out. A receipt whose callback URL names its message
(`?m=`, http_sms.callback_url) first settles that message if it was left `unknown` with no remote id (the send's
answer was lost): the provider took it, so it is `sent` with the receipt's remote id (claims.outbox_settle_unknown).
Providers retry a webhook whose answer they did not get, so both are idempotent: a receipt that comes again finds
its message past `sent`, a reply is stored once per provider message id.

Nothing of a call's body, of its signature or of the secret reaches a log or an error: counts and ids only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from masspost.delivery.claims import outbox_settle_unknown, provider_opt_out_by_remote_id
from masspost.delivery.gateways.http_sms import (
    HTTPProvider,
    WebhookEvent,
    WebhookRefused,
    WebhookRequest,
    WebhookUnknown,
    loopback,
    provider_from_url,
)
from masspost.delivery.inbound import inbound_record, receipt_record_many
from masspost.delivery.incoming_number import TON_UNKNOWN
from masspost.errors import GatewayConfigError, NotFoundError, PermissionDeniedError

log = logging.getLogger("masspost.delivery")

# The largest webhook body taken: a receipt or a reply is a few hundred bytes (a long reply, a few kilobytes).
MAX_BODY = 64 * 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookAnswer:
    """What the provider gets back (200), and what the call changed."""

    content_type: str
    body: str
    receipts: int  # receipts in the call
    moved: int  # messages they moved to delivered / undelivered
    replies: int  # replies in the call (a repeated one included: it is answered, not stored again)


def public_url() -> str:
    """MASSPOST_PUBLIC_URL, checked: "" when unset (no webhooks: the providers are never told to call), else
    https://host[:port][/path] without a trailing slash — http:// only for a host on this machine (127.0.0.0/8,
    ::1, localhost), as for the providers' own `+http` URLs: over plain HTTP across a network, Messente's webhook
    secret (in the path) could be read and Twilio's signed calls replayed. Anything else — no scheme, a user name or
    password, a query — is a configuration error: the URL is given to the provider with every message and must be
    the one it can call (and Twilio signs). The error never quotes the value."""
    url = str(settings.MASSPOST_PUBLIC_URL).strip().rstrip("/")
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or not parts.hostname or parts.scheme not in ("http", "https")
            or (parts.scheme == "http" and not loopback(parts.hostname)) or parts.username is not None
            or parts.password is not None or parts.query or parts.fragment or (port is not None and port <= 0)):
        raise GatewayConfigError("MASSPOST_PUBLIC_URL must be the public base URL masspost is served at, "
                                 "https://host[:port][/path] (http:// only for 127.0.0.0/8, ::1 or localhost; no user "
                                 "name, password or query), or unset")
    return url


def public_url_for(sms_url: str) -> str:
    """MASSPOST_PUBLIC_URL as the SMS gateway of `sms_url` is given it: checked (`public_url`, whose error stops the
    channel) when the gateway is an HTTP provider's, which asks for its receipts there; "" for any other (SMPP, a
    file, memory), which never uses it — a stale or bad value must not stop it."""
    try:
        provider_from_url(sms_url)
    except GatewayConfigError:
        return ""  # not a provider's URL (or one that cannot be used: building its gateway says so)
    return public_url()


def webhook_receive(*, provider: str, kind: str, secret: str, path: str, headers: Mapping[str, str], body: bytes,
                    content_type: str) -> WebhookAnswer:
    """One webhook call: `provider` and `kind` from its path, `secret` the segment after them ("" none), `path`
    the path and query as called (the public URL's own path excluded), `headers` with lower-case names.

    NotFoundError: no public URL, the SMS URL names another provider (or none), or no such webhook.
    PermissionDeniedError: the provider module refused the call (a bad signature or secret, a body that is not
    the provider's) — nothing changed."""
    handler = _provider(provider)
    request = WebhookRequest(kind=kind, url=_base_url() + path, secret=secret,
                             headers={name.lower(): value for name, value in headers.items()}, body=body,
                             content_type=content_type)
    try:
        event = handler.webhook(request)
    except WebhookUnknown:
        raise NotFoundError(f"no {provider} webhook '{_word(kind)}'") from None
    except WebhookRefused as exc:
        # The provider module's reason names no credential and no patient data (http_sms.WebhookRefused).
        log.warning("%s %s webhook refused (%s); nothing changed", provider, _word(kind), str(exc)[:200])
        raise PermissionDeniedError(f"{provider} webhook refused") from None
    return _record(provider, kind, event)


def _word(segment: str) -> str:
    """A path segment as a log line or an error may name it: a short word, or "?" (it is the caller's text)."""
    return segment if len(segment) <= 40 and segment.replace("-", "").replace("_", "").isalnum() else "?"


def _base_url() -> str:
    try:
        url = public_url()
    except GatewayConfigError as exc:
        log.error("webhook not served: %s", exc)
        raise NotFoundError("no webhooks: MASSPOST_PUBLIC_URL is not usable") from None
    if not url:
        raise NotFoundError("no webhooks: MASSPOST_PUBLIC_URL is not set")
    return url


def _provider(name: str) -> HTTPProvider:
    """The provider of the SMS URL, if it is `name`'s. Checked before anything of the call is read."""
    _base_url()
    try:
        handler = provider_from_url(settings.MASSPOST_SMS_URL)
    except GatewayConfigError:
        raise NotFoundError(f"no {_word(name)} webhooks: the SMS gateway is not an HTTP provider") from None
    if handler.scheme != name:
        raise NotFoundError(f"no {_word(name)} webhooks: the SMS gateway is {handler.scheme}")
    return handler


def _record(provider: str, kind: str, event: WebhookEvent) -> WebhookAnswer:
    moved = settled = 0
    if event.receipts:
        # First a message left `unknown` whose answer was lost: the receipt proves the provider took it (`sent`),
        # and the receipt below then moves it as any other.
        settled = outbox_settle_unknown([(receipt.message_id, receipt.remote_id) for receipt in event.receipts
                                         if receipt.message_id is not None], now=timezone.now())
        moved = receipt_record_many([(receipt.remote_id, receipt.stat, "") for receipt in event.receipts],
                                    errors={receipt.remote_id: receipt.error for receipt in event.receipts
                                            if receipt.error},
                                    # kept with a receipt that finds no message yet (claims.stored_receipts_apply)
                                    opt_outs=[receipt.remote_id for receipt in event.receipts if receipt.opt_out])
    opted_out = repeated = 0
    if any(receipt.opt_out for receipt in event.receipts):
        opted_out += provider_opt_out_by_remote_id([receipt.remote_id for receipt in event.receipts
                                                    if receipt.opt_out])
    for reply in event.replies:
        # Whatever format the provider gives the number in ("+372…", "372…"): read as an SMSC's of unknown type.
        recorded = inbound_record(reply.source, reply.text, TON_UNKNOWN, remote_id=reply.remote_id)
        opted_out += recorded.opted_out
        repeated += recorded.repeated
    if event.receipts or event.replies:
        log.info("%s %s webhook: %d receipt(s), %d message(s) moved, %d unknown one(s) settled as taken; "
                 "%d reply(ies), %d repeated, %d patient(s) opted out", provider, _word(kind), len(event.receipts),
                 moved, settled, len(event.replies), repeated, opted_out)
    return WebhookAnswer(content_type=event.content_type, body=event.body, receipts=len(event.receipts),
                         moved=moved, replies=len(event.replies))
