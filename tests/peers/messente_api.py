"""Messente's Omnimessage API on loopback, written from Messente's API reference and its OpenAPI document.

    with MessentePeer(receipts="delivered") as messente:
        gateway = messente_gateway_from_url(messente.url, public_url=server_url)
        ...
        messente.wait_for(3)
        messente.send_status(messente.messages[0].id, "UNDELIV", error_code=1)
        messente.send_reply(inbound_url_with_secret, "+37255512345", "STOP")

What it serves, as Messente does (the paths of the published OpenAPI document, whose server is
https://api.messente.com/v1; the balance request's own server is https://api2.messente.com, served here on the
same port):
- `POST /v1/omnimessage` (JSON, HTTP Basic with the API username and password): 201
  `{"messages": [{"channel": "sms", "message_id": …, "sender": …}], "to": …, "omnimessage_id": …}`; 400 with
  `{"errors": [{"code": "105", "title": "Invalid data", "detail": …, "source": "payload[to]"}]}` (106 "Missing
  data" for a missing field) for a request Messente's document does not allow; 401 code 103 for wrong credentials;
  scripted 429 (Retry-After), 5xx and dropped connections (see `ProviderPeer.script`).
- `GET /v1/omnimessage/{omnimessageId}/status`: the delivery report (DeliveryReportResponse), 404 code 101 for an
  id it never gave — a cheap authenticated request.
- `GET|POST /get_balance?username=…&password=…`: `OK 100.00`, or `ERROR 101` for wrong credentials, always 200
  text/plain, as documented. (It carries the credentials in the query string.)

Webhooks go out as Messente documents them: the delivery report (`dlr_url`) and an inbound SMS are JSON POSTs
with an `X-Messente-Signature` header (hex HMAC-SHA256 of the body with the account's shared secret). masspost
authenticates Messente's callbacks by the secret in the callback URL instead, so a test refuses one by changing
that secret (`url=`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import ssl
import uuid
from datetime import UTC, datetime
from typing import Any

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

USERNAME = "peer-api-user"
PASSWORD = "peer-api-password-5e1c"
SHARED_SECRET = "peer-inbound-shared-secret"
PEER_NUMBER = "+37259000000"  # the inbound number replies are addressed to
DEFAULT_SENDER = "Messente"

OMNIMESSAGE_PATH = "/omnimessage"  # under the document's server URL, …/v1
REPORT_PATH = "/omnimessage/{omnimessageId}/status"
BALANCE_PATH = "/get_balance"
STATUS_ROUTE = re.compile(r"^/v1/omnimessage/(?P<id>[^/]+)/status$")
JSON = "application/json"

# ErrorCodeOmnichannel / ErrorTitleOmnichannel of the published document.
TITLES = {
    "101": "Not found",
    "102": "Forbidden",
    "103": "Unauthorized",
    "104": "Internal Server Error",
    "105": "Invalid data",
    "106": "Missing data",
    "107": "Method not allowed",
}
# ErrorCodeOmnichannelMachine: the `err` of a delivery report, and its human-readable `error`.
DLR_ERRORS = {
    0: None,
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
# The words masspost's tests share across providers, as Messente's Status values.
STATUSES = {"delivered": "DELIVRD", "undelivered": "UNDELIV", "failed": "FAILED", "expired": "EXPIRED"}
DEFAULT_ERR = {"DELIVRD": 0, "UNDELIV": 1, "FAILED": 1, "EXPIRED": 2, "REJECTD": 9}

_CONTRACT: OpenAPIContract | None = None

__all__ = ["PASSWORD", "SHARED_SECRET", "USERNAME", "Answer", "MessentePeer", "contract", "messente_signature"]


def contract() -> OpenAPIContract:
    """The vendored subset of Messente's OpenAPI document (loaded once)."""
    global _CONTRACT
    if _CONTRACT is None:
        _CONTRACT = OpenAPIContract("messente_api.subset.json")
    return _CONTRACT


def messente_signature(shared_secret: str, body: bytes) -> str:
    """X-Messente-Signature as documented: HMAC_SHA256(shared secret, the HTTP request body), hex."""
    return hmac.new(shared_secret.encode(), body, hashlib.sha256).hexdigest()


def iso_now(*, zone: bool = False) -> str:
    """UTC now; without a zone as in the documented delivery report ("2020-02-04T08:09:42.389630"), with "Z" where
    the OpenAPI document says `format: date-time`."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return now + "Z" if zone else now


def messente_status(status: str) -> str:
    """ "delivered" → "DELIVRD" …; Messente's own Status values pass as given."""
    return STATUSES.get(status.lower(), status.upper())


class MessentePeer(ProviderPeer):
    provider = "messente"

    def __init__(
        self,
        *,
        username: str = USERNAME,
        password: str = PASSWORD,
        receipts: str | None = None,
        validate: bool = True,
        number: str = PEER_NUMBER,
        shared_secret: str = SHARED_SECRET,
        balance: str = "100.00",
        keep_requests: bool = True,
        latency: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            receipts=receipts, validate=validate, keep_requests=keep_requests, latency=latency, tls=tls
        )
        self.username = username
        self.password = password
        self.number = number
        self.shared_secret = shared_secret  # signs X-Messente-Signature
        self.balance = balance  # what GET /get_balance answers ("OK <balance>")
        self.account_status = "active"  # Messente has no account status: anything else answers 401 like bad credentials
        self.statuses: dict[str, str] = {}  # message_id → the last status reported (for the delivery report)
        self.last_reply: dict[str, Any] = {}  # the JSON of the last send_reply
        contract()

    def __enter__(self) -> MessentePeer:
        self.start()
        return self

    @property
    def url(self) -> str:
        """The gateway URL masspost is configured with for this peer."""
        return f"{self.scheme}://{self.username}:{self.password}@{self.host}:{self.port}"

    # -- answers ---------------------------------------------------------------------------------------------

    def answer(self, request: ReceivedRequest) -> Decision:
        if request.path == "/v1/omnimessage":
            if request.method != "POST":
                return Decision(reply=error_reply(405, "107", "Method not allowed"))
            return self._omnimessage(request)
        if (route := STATUS_ROUTE.match(request.path)) and request.method == "GET":
            return self._report(request, route["id"])
        if request.path == "/get_balance" and request.method in ("GET", "POST"):
            return Decision(reply=self._balance(request))
        return Decision(reply=error_reply(404, "101", f"{request.path} not found"))

    def _authenticated(self, request: ReceivedRequest) -> bool:
        credentials = basic_credentials(request.headers)
        if credentials is None or self.account_status != "active":
            return False
        user_ok = hmac.compare_digest(credentials[0], self.username)
        return hmac.compare_digest(credentials[1], self.password) and user_ok

    def _balance(self, request: ReceivedRequest) -> HTTPReply:
        """Both errors and success are 200 text/plain (getAccountBalance)."""
        params = {**request.query, **(request.form or {})}
        if "username" not in params or "password" not in params:
            text = "ERROR 102"
        elif (
            hmac.compare_digest(params["username"], self.username)
            and hmac.compare_digest(params["password"], self.password)
            and self.account_status == "active"
        ):
            text = f"OK {self.balance}"
        else:
            text = "ERROR 101"
        return HTTPReply(status=200, body=text.encode(), content_type="text/plain")

    def _report(self, request: ReceivedRequest, omnimessage_id: str) -> Decision:
        if not self._authenticated(request):
            return Decision(reply=unauthorized_reply())
        found = [m for m in self.messages if m.group_id == omnimessage_id]
        if not found:
            return Decision(reply=error_reply(404, "101", "No such omnimessage"))
        message = found[0]
        status = self.statuses.get(message.id, "ACK")
        err = DEFAULT_ERR.get(status, 0)
        result = {
            "channel": "sms",
            "err": err,
            "error": DLR_ERRORS.get(err),
            "message_id": message.id,
            "sender": message.sender,
            "status": status,
            "timestamp": iso_now(zone=True),
        }
        report = {"omnimessage_id": omnimessage_id, "statuses": [result], "to": message.to}
        return Decision(reply=HTTPReply.json(200, report))

    def _omnimessage(self, request: ReceivedRequest) -> Decision:
        if not self._authenticated(request):
            return Decision(reply=unauthorized_reply())
        if self.validate:
            refusal = self._refusal(request)
            if refusal is not None:
                return Decision(reply=refusal)
        scripted = self.next_answer()
        if scripted is not None and scripted.kind == "drop" and scripted.accepted:
            return Decision(
                reply=None,
                message=self._accept(request.json if isinstance(request.json, dict) else {}),
                delay=scripted.delay,
            )
        if scripted is not None and scripted.kind != "accept":
            return Decision(reply=scripted_reply(scripted), delay=scripted.delay)
        message = self._accept(request.json if isinstance(request.json, dict) else {})
        created = {
            "messages": [{"channel": "sms", "message_id": message.id, "sender": message.sender}],
            "omnimessage_id": message.group_id,
            "to": message.to,
        }
        return Decision(
            reply=HTTPReply.json(201, created), message=message, delay=scripted.delay if scripted is not None else 0.0
        )

    def _refusal(self, request: ReceivedRequest) -> HTTPReply | None:
        """400 like Messente for a request its published document does not allow (kept in `violations`)."""
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != JSON or request.json is None:
            errors = [f"the body must be JSON (Content-Type {media_type or 'none'!r})"]
            self.violation(f"POST {OMNIMESSAGE_PATH}", errors)
            return error_reply(400, "105", "Invalid JSON", source="payload")
        errors, code, source = omnimessage_errors(request.json)
        if not errors:
            return None
        self.violation(f"POST {OMNIMESSAGE_PATH}", errors)
        return error_reply(400, code, errors[0], source=source)

    def _accept(self, body: dict[str, Any]) -> AcceptedMessage:
        sms: dict[str, Any] = next((m for m in body.get("messages", []) if m.get("channel", "sms") == "sms"), {})
        return AcceptedMessage(
            id=str(uuid.uuid4()),
            to=str(body.get("to", "")),
            sender=str(sms.get("sender") or DEFAULT_SENDER),
            text=str(sms.get("text", "")),
            callback_url=str(body.get("dlr_url", "")),
            group_id=str(uuid.uuid4()),
            params=dict(body),
        )

    # -- webhooks --------------------------------------------------------------------------------------------

    def receipt_for(self, message: AcceptedMessage) -> tuple[str, dict[str, str], bytes, str] | None:
        if not message.callback_url or not self.receipts:
            return None
        body = self._report_body(message, messente_status(self.receipts), None)
        return message.callback_url, self.signed_headers(body), body, "dlr"

    def _report_body(self, message: AcceptedMessage, status: str, error_code: int | None) -> bytes:
        """A delivery report as Messente posts it to dlr_url."""
        err = error_code if error_code is not None else DEFAULT_ERR.get(status, 0)
        self.statuses[message.id] = status
        report = {
            "channel": "sms",
            "err": err,
            "error": DLR_ERRORS.get(err, "Delivery failure") if err else None,
            "message_id": message.id,
            "omnimessage_id": message.group_id,
            "sender": message.sender,
            "status": status,
            "timestamp": iso_now(),
            "to": message.to,
        }
        return json.dumps(report).encode()

    def signed_headers(self, body: bytes, *, sign: bool = True) -> dict[str, str]:
        headers = {"content-type": JSON}
        if sign:
            headers["x-messente-signature"] = messente_signature(self.shared_secret, body)
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
        """POST a delivery report for an accepted message to its dlr_url (or `url`); the webhook's HTTP status.

        `status`: Messente's (DELIVRD, UNDELIV, FAILED, EXPIRED…) or "delivered"/"undelivered"/"failed";
        `error_code`: the report's `err` (ErrorCodeOmnichannelMachine). `tamper`: the body changed after signing
        (only X-Messente-Signature can tell); `sign=False`: no signature header.
        """
        message = self.message(remote_id)
        target = url or message.callback_url
        if not target:
            raise ValueError(f"message {remote_id} asked for no dlr_url")
        body = self._report_body(message, messente_status(status), error_code)
        headers = self.signed_headers(body, sign=sign)
        if tamper:
            body = body.replace(b'"status": "', b'"status": "X')
        return self.post(target, headers, body)

    def send_reply(self, inbound_url: str, from_: str, text: str, *, sign: bool = True, tamper: bool = False) -> int:
        """POST an inbound SMS (sender = the patient) as Messente's Inbound Message Callback; the HTTP status."""
        reply = {
            "channel": "sms",
            "msg_id": str(uuid.uuid4()),
            "recipient": self.number,
            "sender": from_,
            "sub_msg_id": str(uuid.uuid4()),
            "text": text,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        self.last_reply = reply
        body = json.dumps(reply).encode()
        headers = self.signed_headers(body, sign=sign)
        if tamper:
            body = json.dumps({**reply, "text": text + " (changed)"}).encode()
        return self.post(inbound_url, headers, body)


def omnimessage_errors(body: Any) -> tuple[list[str], str, str | None]:
    """What Messente's document says about an Omnimessage: (errors, the code Messente would answer, its source)."""
    spec = contract()
    errors = spec.request_errors(OMNIMESSAGE_PATH, "post", JSON, body)
    if not isinstance(body, dict):
        return errors, "105", "payload"
    properties = spec.resolve(spec.request_schema(OMNIMESSAGE_PATH, "post", JSON)).get("properties", {})
    errors.extend(f"{key}: not an Omnimessage field" for key in body if key not in properties)
    messages = body.get("messages")
    if isinstance(messages, list) and not any(
        isinstance(m, dict) and m.get("channel", "sms") == "sms" for m in messages
    ):
        errors.append('messages: no SMS (channel "sms") — the only channel this peer delivers')
    missing = [key for key in ("to", "messages") if key not in body]
    if missing:
        return errors, "106", f"payload[{missing[0]}]"
    return errors, "105", "payload"


def error_reply(status: int, code: str, detail: str, *, source: str | None = None) -> HTTPReply:
    """Messente's ErrorOmnichannel body."""
    error = {"code": code, "detail": detail, "source": source, "title": TITLES.get(code, "Invalid data")}
    return HTTPReply.json(status, {"errors": [error]})


def unauthorized_reply() -> HTTPReply:
    return error_reply(401, "103", "Unauthorized")


def scripted_reply(answer: Answer) -> HTTPReply | None:
    if answer.kind == "drop":
        return None
    if answer.kind == "unauthorized":
        return unauthorized_reply()
    retry = (("retry-after", str(answer.retry_after)),) if answer.retry_after is not None else ()
    if answer.kind == "rate_limited":  # Messente documents no body for it: what a front proxy says
        return HTTPReply(status=429, body=b"Too Many Requests", content_type="text/plain", headers=retry)
    if answer.kind == "server_error":
        error = {"code": "104", "detail": "Internal Server Error", "source": None, "title": "Internal Server Error"}
        return HTTPReply.json(answer.status, {"errors": [error]}, headers=retry)
    return error_reply(answer.status, str(answer.code or "105"), answer.message)
