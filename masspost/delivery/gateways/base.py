"""The one gateway interface every channel transport implements.

A gateway is opened once per worker, sends messages one at a time and is closed at the end. A gateway
that can keep several messages in flight on one connection (SMPP's window) also implements
`WindowedGateway.send_many`; the worker uses it when it is there.
`send` never raises for a per-message problem: it returns a `SendResult` that says whether the
message was accepted (with the remote id, when the peer gives one) or failed, and whether the
failure is transient (retry later) or permanent (do not retry). Connection-level trouble that
makes every following message fail too is also reported as a transient result; the worker then
backs off — unless only a change of configuration can help (credentials refused, a TLS certificate not
trusted): `open` raises `masspost.errors.GatewayConfigError` and `send` returns a *misconfigured* result, and
the worker stops the channel. See docs/delivery.md.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True, kw_only=True, slots=True)
class OutgoingMessage:
    """Everything a gateway needs; built from one outbox row (no campaign or patient lookup)."""

    message_id: int
    campaign_id: int
    patient_ref: str  # the patient's external id: the only patient identifier that may reach a log
    channel: Channel
    to: str  # E.164 phone number or e-mail address
    language: str
    text: str  # SMS text or e-mail body (plain text)
    subject: str = ""  # e-mail only
    encoding: str = ""  # SMS only: "GSM-7" or "UCS-2"
    parts: int = 1  # SMS parts (1 for e-mail)
    sender: str = ""  # SMS sender id, or the e-mail From address
    sender_name: str = ""  # display name for e-mail From / Reply-To
    reply_to: str = ""
    marketing: bool = False  # a marketing campaign's message
    # E-mail only: the List-Unsubscribe header's value (`<https://…/u/KEY>, <mailto:…>`), "" for none; with an
    # https link the gateway adds `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    list_unsubscribe: str = ""
    clinic_id: int | None = None  # whose DKIM key signs an e-mail (None: the installation's)


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    TRANSIENT = "transient"  # retry later with backoff
    PERMANENT = "permanent"  # never retry; keep the reason
    UNKNOWN = "unknown"  # written, never answered: the provider may have it — never retried by itself
    # Nothing can be sent until the configuration is fixed (credentials refused, TLS certificate not trusted);
    # nothing of this message was written: it goes back to the queue untouched and the worker stops the channel.
    MISCONFIGURED = "misconfigured"


# A group stops at these: the rest of the group is never written.
STOPS_A_GROUP = frozenset({Outcome.TRANSIENT, Outcome.UNKNOWN, Outcome.MISCONFIGURED})


@dataclass(frozen=True, kw_only=True, slots=True)
class SendResult:
    outcome: Outcome
    remote_id: str = ""
    error: str = ""  # the remote reply or local reason; never patient data beyond an id
    # A delivery receipt's state (DELIVRD, UNDELIV, …) that came before the result was returned. A gateway that
    # says so holds that receipt unacknowledged until `settle`, called once the result is recorded.
    receipt: str = ""
    # Transient only: the provider asked for this many seconds of rest (HTTP 429/503 Retry-After); the channel's
    # back-off is at least that long.
    retry_after: float = 0.0
    # Permanent only: the provider refused because the recipient opted out with it (Twilio 21610); the worker
    # records the patient's SMS opt-out as a consent event with source "provider".
    opt_out: bool = False

    @classmethod
    def accepted(cls, remote_id: str = "", receipt: str = "") -> SendResult:
        return cls(outcome=Outcome.ACCEPTED, remote_id=remote_id, receipt=receipt)

    @classmethod
    def transient(cls, error: str, retry_after: float = 0.0) -> SendResult:
        return cls(outcome=Outcome.TRANSIENT, error=error, retry_after=retry_after)

    @classmethod
    def permanent(cls, error: str, opt_out: bool = False) -> SendResult:
        return cls(outcome=Outcome.PERMANENT, error=error, opt_out=opt_out)

    @classmethod
    def unknown(cls, error: str) -> SendResult:
        return cls(outcome=Outcome.UNKNOWN, error=error)

    @classmethod
    def misconfigured(cls, error: str) -> SendResult:
        return cls(outcome=Outcome.MISCONFIGURED, error=error)


class Gateway(Protocol):
    """open → send* → close. Implementations live one per module in this package."""

    name: str

    def open(self) -> None: ...

    def send(self, message: OutgoingMessage) -> SendResult: ...

    def close(self) -> None: ...


class WindowedGateway(Gateway, Protocol):
    """Optional: a gateway with a window of outstanding requests across messages (SMPP).

    `send_many` sends `messages` in order with at most `window` requests (SMPP: submit_sm, one per part)
    unanswered at any time, and returns their results in the same order, each classified as `send` would.
    It may return fewer results than messages: once a transient error came back (a throttling SMSC, a
    dropped connection), it stops writing, and the messages past the returned prefix were not handed to
    the peer at all — the caller gives them back to the queue. `pace`, when given, is called before each
    request is written and may block (the worker's rate limiter: one slot per SMS part).
    """

    window: int

    def send_many(self, messages: Sequence[OutgoingMessage], *,
                  pace: Callable[[], None] | None = None) -> list[SendResult]: ...

    def begin(self, messages: Sequence[OutgoingMessage], *, pace: Callable[[], None] | None = None) -> Any:
        """`send_many` in two halves: write the messages and return a handle while their answers are on the
        way, so that the caller can write to its database meanwhile and begin the next batch."""
        ...

    def finish(self, handle: Any) -> list[SendResult]: ...


class ReceiptHoldingGateway(Protocol):
    """Optional: a gateway that can hold delivery receipts for messages whose results the caller has not
    recorded yet, instead of handing them to its receipt hooks (SMPP; docs/delivery.md, "Receipts").

    A receipt held before a message's result is returned comes in `SendResult.receipt`; one held after,
    from `take_receipts`. Either way it is acknowledged to the peer only by `settle`, which the caller calls
    once what it reported is recorded — so a receipt is never acknowledged before it is stored."""

    def take_receipts(self, remote_ids: Sequence[str]) -> dict[str, str]: ...

    def settle(self, remote_ids: Sequence[str], *, release: bool = True) -> None: ...
