"""Messente's Omnichannel API (Tallinn) behind the HTTP SMS gateway (`http_sms`).

URL: ``messente://USERNAME:PASSWORD@api.messente.com[:port][?window=10&timeout=10]`` (the API user name and
password from Messente's dashboard; `messente+http://` for a test peer on loopback). What is Messente's here, and
where it is documented (messente/messente-api-python: docs/OmnimessageApi.md, docs/SMS.md,
docs/ErrorItemOmnichannel.md, docs/ErrorCodeOmnichannel.md, docs/ErrorCodeOmnichannelMachine.md, docs/Status.md,
docs/DeliveryReportApi.md; https://messente.com/documentation/omnichannel-api/…):

- Send: ``POST /v1/omnimessage`` with HTTP Basic and a JSON Omnimessage: `to`, `messages` (one SMS: channel "sms",
  `text`, `sender`) and `dlr_url` (with the outbox id in its query, `?m=`). No `autoconvert`: the published
  document's enum for it (full, true, false) disagrees with its own description and with older SDKs (on, full,
  off), and a value Messente refused would fail every message; the account's default ("on", its Auto Replace
  settings) applies. The answer (201) lists the
  messages, each with its `message_id`: the remote id, which delivery reports name. Errors:
  ``{"errors": [{"title", "detail", "code", "source"}]}`` with codes 101–107 (`ERRORS`).
- The account check: Messente's balance request (``/get_balance``) lives on another host (api2.messente.com) and
  takes the password in the query string, where it would land in every proxy's log; so `open` asks for the
  delivery report of the nil omnimessage id instead (``GET /v1/omnimessage/{id}/status``, Basic auth): a 404 with
  Messente's error body (``{"errors": [...]}``) means the credentials were accepted (no such message), 401 that
  they were not; any other answer (a web server's 404 page at a wrong host) checks nothing.
- Delivery reports: Messente POSTs JSON to the message's `dlr_url` — `message_id`, `status` (ACK, DELIVRD, UNDELIV,
  FAILED, EXPIRED, REJECTD, …), `err` (0–10, 999: `DELIVERY_ERRORS`) and `error` (delivery-report page).
  Incoming SMS: JSON `msg_id`, `sender`, `recipient`, `text`, … ("Inbound Messages" page).
- Messente signs neither callback with anything masspost can check from the URL's credentials (the inbound
  callback's X-Messente-Signature uses a separate shared secret), so both webhook URLs carry a secret derived from
  the credentials (`webhook_secret`), compared in constant time: a changed password changes the URLs to register.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx

from masspost.delivery.gateways.base import OutgoingMessage
from masspost.delivery.gateways.http_sms import (
    Kind,
    ProviderAnswers,
    ProviderError,
    ProviderRequest,
    ProviderUnavailable,
    ProviderURL,
    Receipt,
    Reply,
    WebhookEvent,
    WebhookRefused,
    WebhookRequest,
    WebhookUnknown,
    callback_message_id,
    callback_url,
    json_body,
    scrubbed,
)
from masspost.errors import GatewayConfigError

logger = logging.getLogger(__name__)

# The Omnichannel API's error codes (ErrorCodeOmnichannel) and what each means for a message. An HTTP 429 or 503
# is transient whatever the code (the request was not processed).
ERRORS: dict[str, tuple[Kind, str]] = {
    "101": ("misconfigured", "Not found"),  # no Omnimessage API at this URL's host and path
    "102": ("misconfigured", "Forbidden"),
    "103": ("misconfigured", "Unauthorized"),
    # Messente failed inside, maybe after taking the message (the API is not idempotent): never re-sent by itself.
    "104": ("unknown", "Internal Server Error"),
    "105": ("permanent", "Invalid data"),
    "106": ("permanent", "Missing data"),
    "107": ("misconfigured", "Method not allowed"),
}
# `err` in a delivery report (ErrorCodeOmnichannelMachine).
DELIVERY_ERRORS: dict[int, str] = {
    0: "No error",
    1: "Delivery failure",
    2: "Sending message expired",
    3: "Invalid number",
    4: "Error crediting account",
    5: "Invalid number format",
    6: "Too many identical messages",
    7: "Sender name not allowed",
    8: "Operator blacklisted",
    9: "Unroutable",
    10: "Seen",
    999: "General temporary error",
}
# A report's status → the SMPP word delivery.inbound.RECEIPT_STATES knows; any other (ACK, ACCEPTD, SEEN, …) is a
# state on the way, passed on as it is and ignored there.
STATUS_STATS = {"FAILED": "UNDELIV", "NACK": "UNDELIV"}
API = "/v1"
NIL_OMNIMESSAGE = "00000000-0000-0000-0000-000000000000"


def webhook_secret(username: str, password: str) -> str:
    """The secret in the webhook URLs: hex HMAC-SHA256 keyed by the password over the user name, 32 characters.
    Derived, so it needs no setting of its own, and it reveals nothing of the password."""
    return hmac.new(password.encode(), f"masspost-webhooks:{username}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(kw_only=True, eq=False)
class MessenteProvider(ProviderAnswers):
    """The Messente module's provider object: requests, answers and webhooks (`http_sms.SendingProvider`)."""

    username: str
    password: str
    public_url: str = ""  # MASSPOST_PUBLIC_URL: every message asks for its delivery report under it
    scheme: str = "messente"

    def __repr__(self) -> str:  # never the credentials
        return "MessenteProvider()"

    @cached_property
    def secret(self) -> str:
        """Derived once: every message's dlr_url carries it (two HMACs a message otherwise)."""
        return webhook_secret(self.username, self.password)

    # -- sending --------------------------------------------------------------------------------------------------

    def account_request(self) -> ProviderRequest:
        return ProviderRequest(method="GET", path=f"{API}/omnimessage/{NIL_OMNIMESSAGE}/status")

    def read_account(self, response: httpx.Response) -> str:
        """Refused on 401/403; accepted on a 404 with Messente's error body (no such message) or a 200 with JSON;
        anything else is no answer of Messente's API (a wrong host's web server, a proxy): nothing is checked."""
        status = response.status_code
        if status in (401, 403):
            raise GatewayConfigError(f"messente HTTP {status}: the API user name or password in MASSPOST_SMS_URL was "
                                     "refused (Messente dashboard, API settings)")
        body = json_body(response)
        if (status == 404 and _first_error(body)) or (status == 200 and isinstance(body, dict)):
            return "Messente API credentials accepted"
        if status in (200, 404):
            raise ProviderUnavailable(f"messente HTTP {status} to the account check is not an answer of Messente's "
                                      "API: check the host in MASSPOST_SMS_URL; the credentials are untested")
        raise ProviderUnavailable(f"messente HTTP {status} to the account check")

    def message_request(self, message: OutgoingMessage) -> ProviderRequest:
        sms: dict[str, Any] = {"channel": "sms", "text": message.text}
        if message.sender:
            sms["sender"] = message.sender
        payload: dict[str, Any] = {"to": message.to, "messages": [sms]}
        if self.public_url:
            # The outbox id in the query: the report then settles a message whose answer was lost (webhooks.py).
            payload["dlr_url"] = callback_url(self.webhook_urls(self.public_url)["dlr"], message.message_id)
        return ProviderRequest(method="POST", path=f"{API}/omnimessage", json=payload)

    def remote_id(self, body: Any) -> str:
        return _message_id(body)

    def provider_error(self, body: Any) -> ProviderError | None:
        """The first of Messente's `errors`; its detail (scrubbed) goes to the result's error only."""
        error = _first_error(body)
        if not error:
            return None
        code = str(error.get("code") or "")
        kind: Kind | None = ERRORS[code][0] if code in ERRORS else None
        if kind in (None, "permanent") and "sender" in str(error.get("source") or "").lower():
            # A sender Messente refuses refuses every message alike: fix it, then the messages go as they are.
            kind = "misconfigured"
        title = ERRORS[code][1] if code in ERRORS else ""
        logged = " ".join(part for part in ("messente", code, title) if part)
        return ProviderError(code=code, kind=kind, text=error_text(code, error), logged=logged)

    # -- webhooks -------------------------------------------------------------------------------------------------

    def webhook_urls(self, public_url: str) -> dict[str, str]:
        base = public_url.rstrip("/")
        return {"dlr": f"{base}/hooks/messente/dlr/{self.secret}",
                "inbound": f"{base}/hooks/messente/inbound/{self.secret}"}

    def webhook(self, request: WebhookRequest) -> WebhookEvent:
        if request.kind not in ("dlr", "inbound"):
            raise WebhookUnknown(f"no Messente webhook '{request.kind}'")
        if not hmac.compare_digest(request.secret.encode(), self.secret.encode()):
            raise WebhookRefused("Messente webhook: the secret in the URL is not this account's")
        items = _json_items(request.body)
        if request.kind == "dlr":
            # Each message has a dlr_url of its own, naming its outbox id (`?m=`): it is taken only for a call that
            # reports one message, so that it can never be given another message's id.
            message_id = callback_message_id(request.url) if len(items) == 1 else None
            return WebhookEvent(receipts=[_receipt(item, message_id=message_id) for item in items])
        return WebhookEvent(replies=[_reply(item) for item in items])


def error_text(code: str, error: Mapping[str, Any]) -> str:
    """"messente 105 Invalid data: … (payload[to])": the code's title, Messente's detail with numbers taken out, and
    the field it names."""
    title = ERRORS.get(code, ("", ""))[1] or scrubbed(str(error.get("title") or ""), 60)
    detail = scrubbed(str(error.get("detail") or ""), 120)
    source = scrubbed(str(error.get("source") or ""), 60)
    text = f"messente {code} {title}".strip() if code else f"messente {title}".strip()
    if detail:
        text += f": {detail}"
    return f"{text} ({source})" if source else text


def _first_error(body: Any) -> dict[str, Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


def _message_id(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return ""
    ids = [m.get("message_id") for m in messages if isinstance(m, dict) and m.get("channel", "sms") == "sms"]
    return next((i for i in ids if isinstance(i, str) and i), "")


def _json_items(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except ValueError:
        raise WebhookRefused("Messente webhook: the body is not JSON") from None
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(item, dict) for item in items):
        raise WebhookRefused("Messente webhook: the body is not a report or a message")
    return items


def _receipt(item: Mapping[str, Any], *, message_id: int | None) -> Receipt:
    remote_id = item.get("message_id")
    if not isinstance(remote_id, str) or not remote_id:
        raise WebhookRefused("Messente delivery report without a message_id")
    status = str(item.get("status") or "").upper()
    stat = STATUS_STATS.get(status, status)
    error = ""
    if stat in ("UNDELIV", "EXPIRED", "REJECTD", "DELETED"):
        err = item.get("err")
        if isinstance(err, int) and err in DELIVERY_ERRORS and err != 0:
            error = f"messente {err}: {DELIVERY_ERRORS[err]}"
        elif item.get("error"):
            error = f"messente: {scrubbed(str(item['error']), 120)}"
        else:
            error = f"messente: {status}"
    return Receipt(remote_id=remote_id, stat=stat, error=error, message_id=message_id)


def _reply(item: Mapping[str, Any]) -> Reply:
    remote_id, source = item.get("msg_id"), item.get("sender")
    if not isinstance(remote_id, str) or not remote_id or not isinstance(source, str) or not source:
        raise WebhookRefused("Messente inbound message without msg_id or sender")
    return Reply(remote_id=remote_id, source=source, text=str(item.get("text") or ""))


# -- URLs -----------------------------------------------------------------------------------------------------------

OPTIONS: frozenset[str] = frozenset()  # none beyond window= and timeout= (http_sms.parse_provider_url)


def provider(parts: ProviderURL, public_url: str) -> MessenteProvider:
    """The provider object for a parsed ``messente://`` URL."""
    return MessenteProvider(username=parts.username, password=parts.password, public_url=public_url)
