"""Messente's Omnichannel API (Tallinn) behind the HTTP SMS gateway (`http_sms`).

URL: ``messente://USERNAME:PASSWORD@api.messente.com[:port][?window=10&timeout=10]`` (the API user name and
password from Messente's dashboard; `messente+http://` for a test peer on loopback). What is Messente's here, and
where it is documented (messente/messente-api-python: docs/OmnimessageApi.md, docs/SMS.md,
docs/ErrorItemOmnichannel.md, docs/ErrorCodeOmnichannel.md, docs/ErrorCodeOmnichannelMachine.md, docs/Status.md,
docs/DeliveryReportApi.md; https://messente.com/documentation/omnichannel-api/…):

- Send: ``POST /v1/omnimessage`` with HTTP Basic and a JSON Omnimessage: `to`, `messages` (one SMS: channel "sms",
  `text`, `sender`) and `dlr_url`. No `autoconvert`: the published document's enum for it (full, true, false)
  disagrees with its own description and with older SDKs (on, full, off), and a value Messente refused would fail
  every message; the account's default ("on", its Auto Replace settings) applies. The answer (201) lists the
  messages, each with its `message_id`: the remote id, which delivery reports name. Errors:
  ``{"errors": [{"title", "detail", "code", "source"}]}`` with codes 101–107 (`ERRORS`).
- The account check: Messente's balance request (``/get_balance``) lives on another host (api2.messente.com) and
  takes the password in the query string, where it would land in every proxy's log; so `open` asks for the
  delivery report of the nil omnimessage id instead (``GET /v1/omnimessage/{id}/status``, Basic auth): 404 means
  the credentials were accepted (no such message), 401 that they were not.
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
from typing import Any

import httpx

from masspost.delivery.gateways.base import OutgoingMessage, SendResult
from masspost.delivery.gateways.http_sms import (
    HTTPSMSGateway,
    ProviderRequest,
    ProviderUnavailable,
    Receipt,
    Reply,
    WebhookEvent,
    WebhookRefused,
    WebhookRequest,
    WebhookUnknown,
    json_body,
    parse_provider_url,
    retry_after,
    scrubbed,
    status_result,
)
from masspost.errors import GatewayConfigError

logger = logging.getLogger(__name__)

# The Omnichannel API's error codes (ErrorCodeOmnichannel) and what each means for a message.
ERRORS: dict[str, tuple[str, str]] = {
    "101": ("misconfigured", "Not found"),  # no Omnimessage API at this URL's host and path
    "102": ("misconfigured", "Forbidden"),
    "103": ("misconfigured", "Unauthorized"),
    "104": ("transient", "Internal Server Error"),
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
class MessenteProvider:
    """The Messente module's provider object: requests, answers and webhooks (`http_sms.SendingProvider`)."""

    username: str
    password: str
    public_url: str = ""  # MASSPOST_PUBLIC_URL: every message asks for its delivery report under it
    scheme: str = "messente"

    def __repr__(self) -> str:  # never the credentials
        return "MessenteProvider()"

    @property
    def secret(self) -> str:
        return webhook_secret(self.username, self.password)

    # -- sending --------------------------------------------------------------------------------------------------

    def account_request(self) -> ProviderRequest:
        return ProviderRequest(method="GET", path=f"{API}/omnimessage/{NIL_OMNIMESSAGE}/status")

    def read_account(self, response: httpx.Response) -> str:
        status = response.status_code
        if status in (401, 403):
            raise GatewayConfigError(f"messente HTTP {status}: the API user name or password in MASSPOST_SMS_URL was "
                                     "refused (Messente dashboard, API settings)")
        if status in (200, 404):
            return "Messente API credentials accepted"
        raise ProviderUnavailable(f"messente HTTP {status} to the account check")

    def message_request(self, message: OutgoingMessage) -> ProviderRequest:
        sms: dict[str, Any] = {"channel": "sms", "text": message.text}
        if message.sender:
            sms["sender"] = message.sender
        payload: dict[str, Any] = {"to": message.to, "messages": [sms]}
        if self.public_url:
            payload["dlr_url"] = self.webhook_urls(self.public_url)["dlr"]
        return ProviderRequest(method="POST", path=f"{API}/omnimessage", json=payload)

    def read_answer(self, response: httpx.Response) -> SendResult:
        body = json_body(response)
        if response.is_success:
            message_id = _message_id(body)
            if message_id:
                return SendResult.accepted(message_id)
            return SendResult.unknown(f"messente HTTP {response.status_code} without a message_id: the provider may "
                                      "have the message")
        error = _first_error(body)
        code = str(error.get("code", "")) if error else ""
        detail = error_text(code, error) if error else ""
        shared = status_result("messente", response, detail)
        if shared is not None:
            return shared
        kind = ERRORS.get(code, ("permanent", ""))[0]
        text = detail or f"messente HTTP {response.status_code}"
        if kind == "transient":
            return SendResult.transient(text, retry_after=retry_after(response.headers))
        if kind == "misconfigured" or (kind == "permanent" and "sender" in str(error.get("source", "")).lower()):
            # A sender Messente refuses refuses every message alike: fix it, then the messages go as they are.
            return SendResult.misconfigured(f"{text}: fix MASSPOST_SMS_URL or the clinic's SMS sender")
        return SendResult.permanent(text)

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
            return WebhookEvent(receipts=[_receipt(item) for item in items])
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


def _receipt(item: Mapping[str, Any]) -> Receipt:
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
    return Receipt(remote_id=remote_id, stat=stat, error=error)


def _reply(item: Mapping[str, Any]) -> Reply:
    remote_id, source = item.get("msg_id"), item.get("sender")
    if not isinstance(remote_id, str) or not remote_id or not isinstance(source, str) or not source:
        raise WebhookRefused("Messente inbound message without msg_id or sender")
    return Reply(remote_id=remote_id, source=source, text=str(item.get("text") or ""))


# -- URLs -----------------------------------------------------------------------------------------------------------

def provider_from_url(url: str, public_url: str = "") -> MessenteProvider:
    """The provider object for a ``messente://`` URL (ValueError, naming no credential, for a bad one)."""
    parts = parse_provider_url(url, provider="messente")
    return MessenteProvider(username=parts.username, password=parts.password, public_url=public_url.rstrip("/"))


def from_url(url: str, public_url: str = "") -> HTTPSMSGateway:
    """The gateway for a ``messente://`` (or loopback ``messente+http://``) URL; `public_url` for the callbacks."""
    parts = parse_provider_url(url, provider="messente")
    return HTTPSMSGateway(provider=provider_from_url(url, public_url), base_url=parts.base_url,
                          username=parts.username, password=parts.password, window=parts.window,
                          timeout=parts.timeout)
