"""Twilio Programmable Messaging (API 2010-04-01) behind the HTTP SMS gateway (`http_sms`).

URL: ``twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com[:port][?messaging_service=MG…&window=10&timeout=10]``
(`twilio+http://` for a test peer on loopback). What is Twilio's here, and where it is documented:

- Send: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP Basic (SID and token), with
  `To`, `Body`, `From` (the clinic's SMS sender) or `MessagingServiceSid`, and `StatusCallback` when masspost has a
  public URL (with the outbox id in its query, `?m=`); the answer (201) is the Message resource, whose `sid`
  ("SM…") is the remote id. Errors are JSON ``{code, message, more_info, status}`` (twilio/twilio-oai,
  spec/json/twilio_api_v2010.json, "api.v2010.account.message" and the error schema;
  https://www.twilio.com/docs/messaging/api/message-resource).
- The account check: ``GET /2010-04-01/Accounts/{AccountSid}.json``, whose `status` is active, suspended or closed
  (twilio-oai, "api.v2010.account", enum account_enum_status).
- Error codes: https://www.twilio.com/docs/api/errors/{code} — the table `ERRORS` below, one row per code.
- Webhooks: the status callback posts MessageSid, MessageStatus (queued … delivered, undelivered, failed) and
  ErrorCode; an incoming message posts MessageSid, From, To and Body; each is signed in X-Twilio-Signature:
  base64(HMAC-SHA1(auth token, URL + each form parameter's name and value, sorted by name)) — Twilio's "Webhooks
  security" page, and its helper libraries' RequestValidator (twilio/twilio-python, twilio/request_validator.py:
  the URL is also tried with the scheme's default port added or the port removed). Twilio answers an incoming
  message with the TwiML in the webhook's answer: an empty <Response/> sends no reply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

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

# The recipient opted out with Twilio (texted STOP to the sender): on a send, or in a status callback.
OPTED_OUT = 21610

# Twilio's error codes as masspost treats them (https://www.twilio.com/docs/api/errors/{code}). The text is
# Twilio's title for the code: Twilio's own `message` may quote the recipient's number, so it is never kept.
ERRORS: dict[int, tuple[Kind, str]] = {
    # Retry later: Twilio or the sender is busy, and said so before taking the message.
    14107: ("transient", "SMS send rate limit exceeded"),
    20429: ("transient", "Too Many Requests"),
    20503: ("transient", "Service Unavailable"),
    21611: ("transient", "This 'From' number has exceeded the maximum number of queued messages"),
    30001: ("transient", "Queue overflow"),
    30022: ("transient", "US A2P 10DLC - Rate Limits Exceeded"),
    # Twilio failed inside, maybe after taking the message (the API is not idempotent): unknown, never re-sent by
    # itself — sent again, it could reach the patient twice.
    20500: ("unknown", "Internal Server Error"),
    # Nothing can be sent until the account or the URL is fixed: the channel stops, the message stays queued.
    20003: ("misconfigured", "Authenticate (the Account SID or Auth Token is wrong, or the account is suspended)"),
    20005: ("misconfigured", "Account not active"),
    20008: ("misconfigured", "Resource not accessible with Test Account Credentials"),
    20404: ("misconfigured", "The requested resource was not found (check the Account SID)"),
    21212: ("misconfigured", "Invalid 'From' Phone Number (the clinic's SMS sender)"),
    21603: ("misconfigured", "'From' phone number is required"),
    21606: ("misconfigured", "The 'From' phone number provided is not a valid message-capable Twilio phone number"),
    21660: ("misconfigured", "Mismatch between the 'From' number and the account"),
    21705: ("misconfigured", "The Messaging Service is invalid (check ?messaging_service=)"),
    30002: ("misconfigured", "Account suspended"),
    # This message cannot be sent: failed, with the code and text.
    21211: ("permanent", "Invalid 'To' Phone Number"),
    21401: ("permanent", "Invalid Phone Number"),
    21407: ("permanent", "This Phone Number type does not support SMS or MMS"),
    21408: ("permanent", "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    21602: ("permanent", "Message body is required"),
    21604: ("permanent", "'To' phone number is required"),
    21608: ("permanent", "The 'To' phone number provided is not yet verified for this account (trial account)"),
    21612: ("permanent", "The 'To' phone number is not currently reachable via SMS"),
    21614: ("permanent", "'To' number is not a valid mobile number"),
    21617: ("permanent", "The concatenated message body exceeds the 1600 character limit"),
    21635: ("permanent", "'To' number cannot be a landline"),
    # The recipient texted STOP to this sender: failed, and the patient's opt-out is recorded (source "provider").
    OPTED_OUT: ("opt_out", "Attempt to send to unsubscribed recipient"),
}
# Codes Twilio reports in a status callback for a message it could not deliver (ErrorCode).
DELIVERY_ERRORS: dict[int, str] = {
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    30034: "US A2P 10DLC - Message from an Unregistered Number",
}
# MessageStatus in a status callback → the SMPP word delivery.inbound.RECEIPT_STATES knows; any other status is a
# state on the way (queued, sent, …), passed on upper-case and ignored there.
STATUS_STATS = {"delivered": "DELIVRD", "undelivered": "UNDELIV", "failed": "UNDELIV"}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
API = "/2010-04-01"


def error_text(code: int, message: str = "") -> str:
    """"twilio 21211: Invalid 'To' Phone Number": the table's text, or Twilio's message with numbers taken out."""
    text = title(code) or scrubbed(message)
    return f"twilio {code}: {text}" if text else f"twilio {code}"


def title(code: int) -> str:
    """The table's title for a code ("" when it has none)."""
    known = ERRORS.get(code)
    return known[1] if known else DELIVERY_ERRORS.get(code, "")


def logged_text(code: int) -> str:
    """What a log line says of a code: the code and the table's title, never Twilio's words."""
    return f"twilio {code}: {title(code)}" if title(code) else f"twilio {code}"


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """X-Twilio-Signature for a request to `url` with these form parameters: base64(HMAC-SHA1(token, url + every
    name and value, sorted)). A name given twice counts each of its values, sorted too (as Twilio's libraries do)."""
    data = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str) -> bool:
    """Whether `given` signs this request; the URL is tried as it is, without its port and with the scheme's
    default port, like Twilio's own validators (a proxy in front may add or drop it). Compared in constant time."""
    items = list(params)
    valid = False
    for candidate in _url_variants(url):
        valid |= hmac.compare_digest(signature(auth_token, candidate, items).encode(), given.encode())
    return valid


def _url_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url, urlunsplit(parts._replace(netloc=prefix + host))]
    if parts.port is None and default is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    return list(dict.fromkeys(variants))


@dataclass(kw_only=True, eq=False)
class TwilioProvider(ProviderAnswers):
    """The Twilio module's provider object: requests, answers and webhooks (`http_sms.SendingProvider`)."""

    account_sid: str
    auth_token: str
    messaging_service: str = ""  # MG…: send through this Messaging Service instead of the clinic's sender
    public_url: str = ""  # MASSPOST_PUBLIC_URL: every message asks for its status callback under it
    scheme: str = "twilio"

    def __repr__(self) -> str:  # never the token
        return f"TwilioProvider(account={self.short_sid})"

    @property
    def short_sid(self) -> str:
        return f"{self.account_sid[:2]}…{self.account_sid[-4:]}"

    # -- sending --------------------------------------------------------------------------------------------------

    def account_request(self) -> ProviderRequest:
        return ProviderRequest(method="GET", path=f"{API}/Accounts/{quote(self.account_sid, safe='')}.json")

    def read_account(self, response: httpx.Response) -> str:
        body = json_body(response)
        code = body.get("code") if isinstance(body, dict) else None
        if response.status_code in (429,) or response.status_code >= 500:
            raise ProviderUnavailable(f"twilio HTTP {response.status_code}")
        if response.status_code != 200 or not isinstance(body, dict):
            what = logged_text(code) if isinstance(code, int) else "twilio"
            raise GatewayConfigError(f"{what} (HTTP {response.status_code}) for account {self.short_sid}: check the "
                                     "Account SID and Auth Token in MASSPOST_SMS_URL")
        status = str(body.get("status", ""))
        if status != "active":
            raise GatewayConfigError(f"Twilio account {self.short_sid} is {status or 'not active'}: it cannot send "
                                     "until Twilio reactivates it")
        trial = " (trial: it sends only to verified numbers)" if str(body.get("type", "")).lower() == "trial" else ""
        return f"Twilio account {self.short_sid} active{trial}"

    def message_request(self, message: OutgoingMessage) -> ProviderRequest:
        form = {"To": message.to, "Body": message.text}
        if self.messaging_service:
            form["MessagingServiceSid"] = self.messaging_service
        elif message.sender:
            form["From"] = message.sender
        else:
            raise ValueError("no SMS sender: set the clinic's SMS sender, or ?messaging_service= in MASSPOST_SMS_URL")
        if self.public_url:
            # The outbox id in the query: the receipt then settles a message whose answer was lost (webhooks.py).
            form["StatusCallback"] = callback_url(self.webhook_urls(self.public_url)["status"], message.message_id)
        return ProviderRequest(method="POST", path=f"{API}/Accounts/{quote(self.account_sid, safe='')}/Messages.json",
                               form=form)

    def remote_id(self, body: Any) -> str:
        sid = body.get("sid") if isinstance(body, dict) else None
        return sid if isinstance(sid, str) else ""

    def provider_error(self, body: Any) -> ProviderError | None:
        """Twilio's error body `{code, message, more_info, status}`; its `message` is kept (scrubbed) only for a
        code the table does not have, and only in the result's error."""
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            return None
        known = ERRORS.get(code)
        return ProviderError(code=str(code), kind=known[0] if known else None,
                             text=error_text(code, str(body.get("message", ""))), logged=logged_text(code))

    # -- webhooks -------------------------------------------------------------------------------------------------

    def webhook_urls(self, public_url: str) -> dict[str, str]:
        base = public_url.rstrip("/")
        return {"status": f"{base}/hooks/twilio/status", "inbound": f"{base}/hooks/twilio/inbound"}

    def webhook(self, request: WebhookRequest) -> WebhookEvent:
        if request.kind not in ("status", "inbound"):
            raise WebhookUnknown(f"no Twilio webhook '{request.kind}'")
        params = _form(request)
        given = request.headers.get("x-twilio-signature", "")
        if not given or not signature_valid(self.auth_token, request.url, params, given):
            raise WebhookRefused("Twilio webhook: X-Twilio-Signature missing or not valid for this URL and token")
        fields = dict(params)
        sid = fields.get("MessageSid") or fields.get("SmsSid") or ""
        if not sid:
            raise WebhookRefused("Twilio webhook without a MessageSid")
        if request.kind == "status":
            # The signature covers the URL's query too: the outbox id in it (`?m=`) is the one the message gave.
            receipt = _receipt(sid, fields, message_id=callback_message_id(request.url))
            return WebhookEvent(receipts=[receipt], content_type="text/plain", body="")
        reply = Reply(remote_id=sid, source=fields.get("From", ""), text=fields.get("Body", ""))
        return WebhookEvent(replies=[reply], content_type="text/xml", body=EMPTY_TWIML)


def _form(request: WebhookRequest) -> list[tuple[str, str]]:
    if "application/x-www-form-urlencoded" not in request.content_type.lower():
        raise WebhookRefused("Twilio webhook: not a form post")
    try:
        return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(request.body))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRefused("Twilio webhook: the form cannot be read") from None


def _receipt(sid: str, fields: Mapping[str, str], *, message_id: int | None) -> Receipt:
    status = (fields.get("MessageStatus") or fields.get("SmsStatus") or "").lower()
    stat = STATUS_STATS.get(status, status.upper())
    code = fields.get("ErrorCode", "")
    error = ""
    if stat == "UNDELIV":
        error = error_text(int(code)) if code.isascii() and code.isdigit() else f"twilio: message {status}"
    return Receipt(remote_id=sid, stat=stat, error=error, opt_out=stat == "UNDELIV" and code == str(OPTED_OUT),
                   message_id=message_id)


# -- URLs -----------------------------------------------------------------------------------------------------------

OPTIONS = frozenset({"messaging_service"})  # beyond window= and timeout= (http_sms.parse_provider_url)


def provider(parts: ProviderURL, public_url: str) -> TwilioProvider:
    """The provider object for a parsed ``twilio://`` URL (ValueError, naming no credential, for a bad option)."""
    service = parts.options.get("messaging_service", "")
    if service and not service.startswith("MG"):
        raise ValueError("messaging_service= is a Messaging Service SID, starting with MG")
    return TwilioProvider(account_sid=parts.username, auth_token=parts.password, messaging_service=service,
                          public_url=public_url)
