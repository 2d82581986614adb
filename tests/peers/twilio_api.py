"""Twilio's Programmable Messaging API (2010-04-01) on loopback, written from Twilio's API reference.

    with TwilioPeer(receipts="delivered") as twilio:
        gateway = twilio_gateway_from_url(twilio.url, public_url=server_url)
        ...
        twilio.wait_for(3)
        twilio.messages[0].to, twilio.messages[0].text
        twilio.send_status(twilio.messages[0].id, "undelivered", error_code=30003)
        twilio.send_reply(f"{server_url}/hooks/twilio/inbound", "+37255512345", "STOP")

What it serves, as Twilio does:
- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form-encoded, HTTP Basic with the account SID and auth
  token): 201 with the Message resource (sid "SM" + 32 hex, status "queued"); 400 with Twilio's error body
  (`{"code": 21604, "message": …, "more_info": …, "status": 400}`) for a request Twilio would refuse; 401 code
  20003 for wrong credentials or a suspended/closed account; scripted 429 (Retry-After), 5xx and dropped
  connections (see `ProviderPeer.script`).
- `GET /2010-04-01/Accounts/{Sid}.json`: the Account resource with `status` = `peer.account_status`.
Every message request is checked against the CreateMessage requestBody of Twilio's published OpenAPI document
(tests/peers/openapi/twilio_api_v2010.subset.json) plus the rules its API reference states in prose (From or
MessagingServiceSid; Body, MediaUrl or ContentSid; Body up to 1,600 characters); a failure lands in `violations`
and is answered 400 like Twilio.

Webhooks go out as Twilio sends them: form-encoded, signed with X-Twilio-Signature = base64(HMAC-SHA1(auth token,
URL + every parameter name and value, sorted by name)) — this module's own implementation of Twilio's
documented algorithm, not masspost's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import ssl
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from tests.peers.http_provider import (
    AcceptedMessage,
    Answer,
    Decision,
    HTTPReply,
    OpenAPIContract,
    ProviderPeer,
    ReceivedRequest,
    basic_credentials,
)

ACCOUNT_SID = "AC5ef8732a3c49700934481addd5ce1659"  # the shape of a Twilio SID, not a real one
AUTH_TOKEN = "6d0c1e9f42b8a7d3e5f1a2b3c4d5e6f7"
PEER_NUMBER = "+15005550006"  # the number replies are addressed to (a Twilio test number)
API_VERSION = "2010-04-01"

MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
ACCOUNT_PATH = "/2010-04-01/Accounts/{Sid}.json"
MESSAGES_ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
ACCOUNT_ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)\.json$")
FORM = "application/x-www-form-urlencoded"
BODY_LIMIT = 1600  # "Can be up to 1,600 characters in length" (CreateMessage, Body)

_CONTRACT: OpenAPIContract | None = None

# Twilio error codes the peer answers with on its own (https://www.twilio.com/docs/api/errors/<code>).
MISSING_TO = (21604, "A 'To' phone number is required.")
MISSING_FROM = (21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
MISSING_BODY = (21602, "Message body is required.")
BODY_TOO_LONG = (21617, "The concatenated message body exceeds the 1600 character limit.")
INVALID_PARAMETER = (21211, "Invalid parameter.")
AUTHENTICATE = 20003

__all__ = ["ACCOUNT_SID", "AUTH_TOKEN", "PEER_NUMBER", "Answer", "TwilioPeer", "contract", "twilio_signature"]


def contract() -> OpenAPIContract:
    """The vendored subset of Twilio's twilio_api_v2010 OpenAPI document (loaded once)."""
    global _CONTRACT
    if _CONTRACT is None:
        _CONTRACT = OpenAPIContract("twilio_api_v2010.subset.json")
    return _CONTRACT


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]] | dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio documents it: the full URL, then each POST parameter's name and value with no
    delimiter, in parameter-name order (case-sensitive), HMAC-SHA1 with the auth token, base64."""
    pairs = sorted(params.items() if isinstance(params, dict) else params)
    payload = url + "".join(name + value for name, value in pairs)
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def rfc2822_now() -> str:
    return format_datetime(datetime.now(UTC))


def segments(text: str) -> int:
    """SMS parts Twilio would bill (ASCII as GSM-7 160/153, else UCS-2 70/67 code units); rough, for num_segments."""
    gsm = text.isascii()
    units = len(text) if gsm else len(text.encode("utf-16-le")) // 2
    single, multi = (160, 153) if gsm else (70, 67)
    return 1 if units <= single else math.ceil(units / multi)


class TwilioPeer(ProviderPeer):
    provider = "twilio"

    def __init__(
        self,
        *,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        receipts: str | None = None,
        validate: bool = True,
        number: str = PEER_NUMBER,
        account_status: str = "active",
        receipt_error_code: int = 30003,
        keep_requests: bool = True,
        latency: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            receipts=receipts, validate=validate, keep_requests=keep_requests, latency=latency, tls=tls
        )
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.number = number
        self.account_status = account_status  # "active" / "suspended" / "closed"
        self.receipt_error_code = receipt_error_code  # ErrorCode of automatic undelivered/failed receipts
        self.last_reply: dict[str, str] = {}  # the parameters of the last send_reply (its MessageSid…)
        contract()

    def __enter__(self) -> TwilioPeer:
        self.start()
        return self

    @property
    def url(self) -> str:
        """The gateway URL masspost is configured with for this peer."""
        return f"{self.scheme}://{self.account_sid}:{self.auth_token}@{self.host}:{self.port}"

    # -- answers ---------------------------------------------------------------------------------------------

    def answer(self, request: ReceivedRequest) -> Decision:
        if (route := MESSAGES_ROUTE.match(request.path)) and request.method == "POST":
            return self._create_message(request, route["sid"])
        if (route := ACCOUNT_ROUTE.match(request.path)) and request.method == "GET":
            return self._fetch_account(request, route["sid"])
        return Decision(reply=error_reply(404, 20404, f"The requested resource {request.path} was not found"))

    def _authenticated(self, request: ReceivedRequest, sid: str) -> bool:
        credentials = basic_credentials(request.headers)
        if credentials is None or sid != self.account_sid:
            return False
        user_ok = hmac.compare_digest(credentials[0], self.account_sid)
        return hmac.compare_digest(credentials[1], self.auth_token) and user_ok

    def _fetch_account(self, request: ReceivedRequest, sid: str) -> Decision:
        if not self._authenticated(request, sid):
            return Decision(reply=unauthorized_reply())
        now = rfc2822_now()
        account = {
            "auth_token": self.auth_token,
            "date_created": now,
            "date_updated": now,
            "friendly_name": "masspost test peer",
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": self.account_status,
            "subresource_uris": {"messages": f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"},
            "type": "Full",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}.json",
        }
        return Decision(reply=HTTPReply.json(200, account))

    def _create_message(self, request: ReceivedRequest, sid: str) -> Decision:
        if not self._authenticated(request, sid):
            return Decision(reply=unauthorized_reply())
        if self.validate:
            refusal = self._refusal(request)
            if refusal is not None:
                return Decision(reply=refusal)
        scripted = self.next_answer()
        if scripted is not None and scripted.kind == "drop" and scripted.accepted:
            return Decision(reply=None, message=self._accept(request.form or {}), delay=scripted.delay)
        if scripted is not None and scripted.kind != "accept":
            return Decision(reply=scripted_reply(scripted), delay=scripted.delay)
        if self.account_status != "active":
            return Decision(reply=unauthorized_reply())
        message = self._accept(request.form or {})
        return Decision(
            reply=HTTPReply.json(201, self.message_resource(message)),
            message=message,
            delay=scripted.delay if scripted is not None else 0.0,
        )

    def _refusal(self, request: ReceivedRequest) -> HTTPReply | None:
        """400 like Twilio for a request its published contract does not allow (kept in `violations`)."""
        if request.form is None:
            errors = [f"Content-Type must be {FORM} (got {request.headers.get('content-type', 'none')!r})"]
            code = INVALID_PARAMETER
        else:
            errors, code = create_message_errors(list(request.form_items))
        if not errors:
            return None
        self.violation(f"POST {MESSAGES_PATH}", errors)
        return error_reply(400, code[0], code[1])

    def _accept(self, form: dict[str, str]) -> AcceptedMessage:
        return AcceptedMessage(
            id="SM" + uuid.uuid4().hex,
            to=form.get("To", ""),
            sender=form.get("From", ""),
            text=form.get("Body", ""),
            callback_url=form.get("StatusCallback", ""),
            messaging_service=form.get("MessagingServiceSid", ""),
            params=dict(form),
        )

    def message_resource(self, message: AcceptedMessage, status: str = "queued") -> dict[str, Any]:
        """The Message resource Twilio answers a create with (see the CreateMessage 201 examples)."""
        now = rfc2822_now()
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.id}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.text,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.sender or None,
            "messaging_service_sid": message.messaging_service or None,
            "num_media": "0",
            "num_segments": str(segments(message.text)),
            "price": None,
            "price_unit": "USD",
            "sid": message.id,
            "status": status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }

    # -- webhooks --------------------------------------------------------------------------------------------

    def receipt_for(self, message: AcceptedMessage) -> tuple[str, dict[str, str], bytes, str] | None:
        if not message.callback_url or not self.receipts:
            return None
        error_code = self.receipt_error_code if self.receipts in ("undelivered", "failed") else None
        params = self.status_params(message, self.receipts, error_code)
        return (
            message.callback_url,
            self.signed_headers(message.callback_url, params),
            urlencode(params).encode(),
            "status",
        )

    def status_params(self, message: AcceptedMessage, status: str, error_code: int | None) -> dict[str, str]:
        """A status callback's parameters as Twilio posts them to StatusCallback."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.sender or self.number,
            "MessageSid": message.id,
            "MessageStatus": status,
            "SmsSid": message.id,
            "SmsStatus": status,
            "To": message.to,
        }
        if message.messaging_service:
            params["MessagingServiceSid"] = message.messaging_service
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    def signed_headers(self, url: str, params: dict[str, str], *, sign: bool = True) -> dict[str, str]:
        headers = {"content-type": FORM, "user-agent": "TwilioProxy/1.1"}
        if sign:
            headers["x-twilio-signature"] = twilio_signature(self.auth_token, url, params)
        return headers

    def send_status(
        self,
        remote_id: str,
        status: str,
        error_code: int | None = None,
        *,
        sign: bool = True,
        tamper: bool = False,
        url: str | None = None,
    ) -> int:
        """POST a status callback for an accepted message to its StatusCallback (or `url`, signed for it); the
        webhook's HTTP status. `status`: Twilio's MessageStatus ("delivered", "undelivered", "failed", "sent"…).

        `tamper`: signed, then MessageStatus changed (what a forger would do); `sign=False`: no signature header.
        """
        message = self.message(remote_id)
        target = url or message.callback_url
        if not target:
            raise ValueError(f"message {remote_id} asked for no StatusCallback")
        params = self.status_params(message, status, error_code)
        headers = self.signed_headers(target, params, sign=sign)
        if tamper:
            params["MessageStatus"] = params["SmsStatus"] = "failed" if status != "failed" else "delivered"
        return self.post(target, headers, urlencode(params).encode())

    def reply_params(self, from_: str, text: str) -> dict[str, str]:
        """An incoming message's parameters as Twilio posts them to the number's messaging webhook."""
        sid = "SM" + uuid.uuid4().hex
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": text,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(segments(text)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": self.number,
        }

    def send_reply(self, inbound_url: str, from_: str, text: str, *, sign: bool = True, tamper: bool = False) -> int:
        """POST an incoming SMS (From = the patient) to the inbound webhook; the webhook's HTTP status.

        `tamper`: signed, then Body changed; `sign=False`: no signature header.
        """
        params = self.reply_params(from_, text)
        headers = self.signed_headers(inbound_url, params, sign=sign)
        if tamper:
            params["Body"] = text + " (changed)"
        self.last_reply = params
        return self.post(inbound_url, headers, urlencode(params).encode())


def create_message_errors(pairs: list[tuple[str, str]]) -> tuple[list[str], tuple[int, str]]:
    """What Twilio's contract says about a CreateMessage form, and the error code Twilio would answer with."""
    spec = contract()
    schema = spec.request_schema(MESSAGES_PATH, "post", FORM)
    properties: dict[str, Any] = schema.get("properties", {})
    form: dict[str, Any] = {}
    errors: list[str] = []
    for name, value in pairs:
        if name not in properties:
            errors.append(f"{name}: not a CreateMessage parameter (Twilio ignores it)")
            continue
        typed = coerce(spec.resolve(properties[name]), value)
        form[name] = [*form.get(name, []), *typed] if isinstance(typed, list) else typed
    errors.extend(spec.request_errors(MESSAGES_PATH, "post", FORM, form))
    code = INVALID_PARAMETER
    if "To" not in form:
        code = MISSING_TO
    elif not form.get("From") and not form.get("MessagingServiceSid"):
        errors.append("From or MessagingServiceSid is required (API reference)")
        code = MISSING_FROM
    elif not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
        errors.append("Body, MediaUrl or ContentSid is required (API reference)")
        code = MISSING_BODY
    elif len(str(form.get("Body", ""))) > BODY_LIMIT:
        errors.append(f"Body: longer than {BODY_LIMIT} characters (API reference)")
        code = BODY_TOO_LONG
    return errors, code


def coerce(schema: dict[str, Any], value: str) -> Any:
    """A form value as the JSON type its schema declares (a form carries only strings; OpenAPI types them)."""
    kind = schema.get("type")
    if kind == "array":
        return [coerce(schema.get("items", {}), value)]
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def error_reply(status: int, code: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> HTTPReply:
    """Twilio's error body (the REST API's JSON error representation)."""
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return HTTPReply.json(status, payload, headers=headers)


def unauthorized_reply() -> HTTPReply:
    """What Twilio answers wrong credentials, and any request of a suspended or closed account."""
    payload = {
        "code": AUTHENTICATE,
        "detail": "Your AccountSid or AuthToken was incorrect.",
        "message": "Authenticate",
        "more_info": f"https://www.twilio.com/docs/errors/{AUTHENTICATE}",
        "status": 401,
    }
    return HTTPReply.json(401, payload, headers=(("www-authenticate", 'Basic realm="Twilio API"'),))


def scripted_reply(answer: Answer) -> HTTPReply | None:
    if answer.kind == "drop":
        return None
    if answer.kind == "unauthorized":
        return unauthorized_reply()
    retry = (("retry-after", str(answer.retry_after)),) if answer.retry_after is not None else ()
    if answer.kind == "rate_limited":
        return error_reply(429, 20429, "Too Many Requests", retry)
    if answer.kind == "server_error":
        code, text = (20503, "Service Unavailable") if answer.status == 503 else (20500, "Internal Server Error")
        return error_reply(answer.status, code, text, retry)
    return error_reply(answer.status, int(answer.code or 0), answer.message)
