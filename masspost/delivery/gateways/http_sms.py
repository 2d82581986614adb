"""SMS through a provider's own HTTP API (Twilio, Messente, …): one gateway, one small module per provider.

A provider module (`twilio`, `messente`) holds only what differs between providers: how a message becomes a
request, how an answer becomes a `SendResult` (its documented error codes mapped to transient / permanent /
misconfigured), the account request `open` makes to check the credentials, and how its webhooks (delivery
receipts, replies) are authenticated and read. Everything else — the parallel requests up to the window over
kept-alive connections, the rate limiter's pace, what a dropped connection means, `unknown` for a request that
may have reached the provider — is here, the same for every provider (docs/delivery.md, "HTTP SMS providers").

No Django here: the webhook views call `masspost.delivery.webhooks`, which takes the provider from the SMS URL
(`provider_from_url`) and hands it a `WebhookRequest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookRequest:
    """A webhook call as the provider made it."""

    kind: str  # the path segment after the provider: "status", "inbound", "dlr", …
    url: str  # the full public URL the provider called (MASSPOST_PUBLIC_URL + path + query): what Twilio signs
    secret: str  # the path segment after the kind ("" when there is none): what authenticates Messente's calls
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    content_type: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Receipt:
    """A delivery receipt: `stat` in the SMPP words that delivery.inbound.RECEIPT_STATES knows (DELIVRD, UNDELIV,
    EXPIRED, REJECTD, …); any other word is a state on the way and changes nothing."""

    remote_id: str
    stat: str
    error: str = ""  # the provider's error code and text for an undelivered message ("twilio 30003: …")


@dataclass(frozen=True, kw_only=True, slots=True)
class Reply:
    """An SMS sent to the clinic's number."""

    remote_id: str  # the provider's id of the incoming message: a retried webhook is stored once
    source: str  # the sender's number as the provider gave it
    text: str


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookEvent:
    """What one webhook call says, and the answer the provider expects (200 with this body)."""

    receipts: list[Receipt] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    content_type: str = "text/plain"
    body: str = ""


class WebhookRefused(Exception):  # noqa: N818 - a refusal, not an error of ours
    """The call is not the provider's (a bad signature or secret, a body that is not the provider's): 403, and
    nothing changes. The message names no credential and no patient data."""


class WebhookUnknown(Exception):  # noqa: N818
    """No such webhook for this provider: 404."""


class HTTPProvider(Protocol):
    """The webhook side of a provider module (the sending side is the gateway's business)."""

    scheme: str  # "twilio": the URL scheme, and the provider's segment in the webhook paths

    def webhook(self, request: WebhookRequest) -> WebhookEvent: ...

    def webhook_urls(self, public_url: str) -> dict[str, str]:
        """Each webhook to register with the provider (name → full URL under `public_url`)."""
        ...
