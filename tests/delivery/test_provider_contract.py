"""The Twilio and Messente peers themselves, and the contract they hold masspost to.

The peers stand in for the providers in every HTTP SMS test, so they are tested like a dependency: the vendored
OpenAPI subsets are whole (every `$ref` resolves) and read right (the provider's own examples pass), a request the
provider's document refuses is a violation answered the way the provider answers it, the answers the peers give
conform to the same documents, and the webhooks they send are the documented ones — Twilio's signature checked
against the vectors Twilio's own SDK tests use. No Django, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.peers import messente_api, twilio_api
from tests.peers.http_provider import OPENAPI_DIR, Answer, OpenAPIContract
from tests.peers.messente_api import MessentePeer, messente_signature, omnimessage_errors
from tests.peers.openapi import cut as openapi_cut
from tests.peers.twilio_api import ACCOUNT_SID, AUTH_TOKEN, TwilioPeer, create_message_errors, twilio_signature

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
ACCOUNT = f"/2010-04-01/Accounts/{ACCOUNT_SID}.json"
TWILIO_MESSAGES = twilio_api.MESSAGES_PATH
TWILIO_ACCOUNT = twilio_api.ACCOUNT_PATH
SMS = {"To": "+37255512345", "From": "HammasTLN", "Body": "Tere! Aeg on homme kell 10."}
OMNI = {"to": "+37255512345", "messages": [{"channel": "sms", "sender": "HammasTLN", "text": "Tere!"}]}
NIL_UUID = "00000000-0000-0000-0000-000000000000"


# -- a webhook receiver (what masspost's /hooks/… would be) -------------------------------------------------------


@dataclass(frozen=True)
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


class Receiver:
    """A loopback HTTP server that keeps every POST and answers `status` (200 unless a test says otherwise)."""

    def __init__(self) -> None:
        self.hooks: list[Hook] = []
        self.status = 200
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.arrived:
                    receiver.hooks.append(Hook(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    receiver.arrived.notify_all()
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def wait(self, n: int, timeout: float = 10.0) -> list[Hook]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.hooks) >= n, timeout), f"{len(self.hooks)} hooks of {n}"
            return list(self.hooks)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks = Receiver()
    yield hooks
    hooks.close()


def twilio_client(peer: TwilioPeer, token: str = AUTH_TOKEN) -> httpx.Client:
    return httpx.Client(base_url=peer.base_url, auth=(peer.account_sid, token), timeout=10)


def messente_client(peer: MessentePeer, password: str = messente_api.PASSWORD) -> httpx.Client:
    return httpx.Client(base_url=peer.base_url, auth=(peer.username, password), timeout=10)


# -- the vendored documents ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "filename"), [("twilio", "twilio_api_v2010.subset.json"), ("messente", "messente_api.subset.json")]
)
def test_a_vendored_subset_is_whole_every_reference_resolves_inside_it(provider: str, filename: str) -> None:
    subset = json.loads((OPENAPI_DIR / filename).read_text())
    # Cutting the subset again keeps all of it: every operation is there and every $ref reaches a kept schema.
    assert openapi_cut.cut(subset, openapi_cut.OPERATIONS[provider]) == subset
    assert {
        (path, method) for path, item in subset["paths"].items() for method in item if method in ("get", "post")
    } == {(path, method) for path, methods in openapi_cut.OPERATIONS[provider].items() for method in methods}


def test_the_licences_and_the_source_of_the_vendored_documents_are_kept() -> None:
    assert "MIT License" in (OPENAPI_DIR / "LICENSE-twilio-oai").read_text()
    assert "Apache License" in (OPENAPI_DIR / "LICENSE-messente-api-Apache-2.0").read_text()
    source = (OPENAPI_DIR / "SOURCE.md").read_text()
    assert "twilio/twilio-oai" in source and "messente/messente-api-java" in source
    assert len(re.findall(r"`[0-9a-f]{40}`", source)) >= 2  # the commits the subsets were cut from


def test_twilios_own_examples_of_a_created_message_and_an_account_conform_to_the_subset() -> None:
    """The document's `nullable` fields (error_code: null…) are read as JSON Schema means them."""
    spec = twilio_api.contract()
    for path, method, status in ((TWILIO_MESSAGES, "post", 201), (TWILIO_ACCOUNT, "get", 200)):
        examples = spec.operation(path, method)["responses"][str(status)]["content"]["application/json"]["examples"]
        assert examples
        for example in examples.values():
            assert spec.response_errors(path, method, status, example["value"]) == []
    assert spec.response_errors(TWILIO_MESSAGES, "post", 201, {"status": "lost"}) != []


def test_messentes_own_examples_conform_to_the_subset() -> None:
    spec = messente_api.contract()
    schemas = spec.document["components"]["schemas"]
    created = schemas["OmniMessageCreateSuccessResponse"]["example"]
    assert spec.response_errors("/omnimessage", "post", 201, created) == []
    assert spec.response_errors("/omnimessage", "post", 400, schemas["ErrorOmnichannel"]["example"]) == []
    assert spec.request_errors("/omnimessage", "post", "application/json", {"to": "+3725"}) != []


# -- Twilio: what its contract allows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "code"),
    [
        (SMS, None),
        ({**SMS, "StatusCallback": "https://clinic.example/hooks/twilio/status"}, None),
        ({"To": "+37255512345", "MessagingServiceSid": "MG" + "a" * 32, "Body": "Tere!"}, None),
        ({"From": "HammasTLN", "Body": "Tere!"}, 21604),
        ({"To": "+37255512345", "Body": "Tere!"}, 21603),
        ({"To": "+37255512345", "From": "HammasTLN"}, 21602),
        ({**SMS, "Body": "x" * 1601}, 21617),
        ({**SMS, "Statuscallback": "https://clinic.example/hooks"}, 21211),  # a misspelt parameter Twilio would ignore
        ({**SMS, "ValidityPeriod": "soon"}, 21211),
        ({**SMS, "MessagingServiceSid": "MG123"}, 21211),
        ({**SMS, "StatusCallback": "not a url"}, 21211),
    ],
)
def test_twilio_create_message_contract(form: dict[str, str], code: int | None) -> None:
    errors, (answered, _) = create_message_errors(list(form.items()))
    if code is None:
        assert errors == []
    else:
        assert errors and answered == code, errors


def test_twilio_form_values_are_typed_as_the_document_declares_them() -> None:
    assert create_message_errors([*SMS.items(), ("ValidityPeriod", "600"), ("SmartEncoded", "true")])[0] == []
    two_media = [("MediaUrl", "https://a.example/1.png"), ("MediaUrl", "https://a.example/2.png")]
    assert create_message_errors([*SMS.items(), *two_media])[0] == []
    assert create_message_errors([*SMS.items(), ("SmartEncoded", "perhaps")])[0] != []


# -- Twilio: how it answers ------------------------------------------------------------------------------------------


def test_twilio_accepts_a_message_with_the_documented_message_resource(twilio: TwilioPeer) -> None:
    form = {**SMS, "StatusCallback": "http://127.0.0.1:9/hooks/twilio/status"}
    with twilio_client(twilio) as client:
        response = client.post(MESSAGES, data=form)

    assert response.status_code == 201
    resource = response.json()
    assert twilio_api.contract().response_errors(TWILIO_MESSAGES, "post", 201, resource) == []
    assert re.fullmatch(r"SM[0-9a-f]{32}", resource["sid"])
    assert (resource["status"], resource["to"], resource["from"], resource["body"]) == (
        "queued", SMS["To"], SMS["From"], SMS["Body"])  # fmt: skip
    [message] = twilio.messages
    assert (message.id, message.to, message.sender, message.text, message.callback_url) == (
        resource["sid"], SMS["To"], SMS["From"], SMS["Body"], form["StatusCallback"])  # fmt: skip
    [request] = twilio.requests
    assert (request.method, request.path, request.form, request.status) == ("POST", MESSAGES, form, 201)
    assert twilio.violations == []


def test_twilio_account_fetch_answers_the_account_status(twilio: TwilioPeer) -> None:
    with twilio_client(twilio) as client:
        active = client.get(ACCOUNT)
        twilio.account_status = "suspended"
        suspended = client.get(ACCOUNT)
        refused = client.post(MESSAGES, data=SMS)

    assert (active.status_code, active.json()["status"]) == (200, "active")
    assert (suspended.status_code, suspended.json()["status"]) == (200, "suspended")
    assert twilio_api.contract().response_errors(TWILIO_ACCOUNT, "get", 200, suspended.json()) == []
    assert (refused.status_code, refused.json()["code"]) == (401, 20003)  # a suspended account sends nothing
    assert twilio.messages == []


@pytest.mark.parametrize("wrong", ["token", "sid in path", "no credentials"])
def test_twilio_refuses_wrong_credentials_with_20003(twilio: TwilioPeer, wrong: str) -> None:
    other_sid = "AC" + "0" * 32
    with httpx.Client(base_url=twilio.base_url, timeout=10) as client:
        if wrong == "token":
            response = client.post(MESSAGES, data=SMS, auth=(ACCOUNT_SID, "not-the-token"))
        elif wrong == "sid in path":
            response = client.post(MESSAGES.replace(ACCOUNT_SID, other_sid), data=SMS, auth=(ACCOUNT_SID, AUTH_TOKEN))
        else:
            response = client.post(MESSAGES, data=SMS)

    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "detail": "Your AccountSid or AuthToken was incorrect.",
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert response.headers["www-authenticate"].startswith("Basic")
    assert twilio.messages == []


def test_a_request_twilio_would_refuse_is_a_violation_answered_400(twilio: TwilioPeer) -> None:
    with twilio_client(twilio) as client:
        response = client.post(MESSAGES, data={"From": "HammasTLN", "Body": "Tere!"})
        not_a_form = client.post(MESSAGES, json=SMS)

    assert response.status_code == 400
    assert response.json() == {
        "code": 21604,
        "message": "A 'To' phone number is required.",
        "more_info": "https://www.twilio.com/docs/errors/21604",
        "status": 400,
    }
    assert not_a_form.status_code == 400
    first, second = twilio.violations
    assert first.operation == f"POST {TWILIO_MESSAGES}"
    assert any('"To" is a required property' in error for error in first.errors)
    assert "Content-Type" in second.errors[0]
    assert twilio.messages == []


def test_without_validation_the_peer_accepts_what_twilio_would_refuse() -> None:
    with TwilioPeer(validate=False) as peer, twilio_client(peer) as client:
        assert client.post(MESSAGES, data={"Body": "Tere!"}).status_code == 201
        assert peer.violations == [] and len(peer.messages) == 1


def test_twilio_scripted_answers_come_in_order_then_it_accepts_again(twilio: TwilioPeer) -> None:
    twilio.script(
        Answer.error(400, 21610, "Attempt to send to unsubscribed recipient"),
        Answer.rate_limited(7),
        Answer.server_error(503, retry_after=2),
        Answer.unauthorized(),
        Answer.drop(),
    )
    with twilio_client(twilio) as client:
        opted_out = client.post(MESSAGES, data=SMS)
        limited = client.post(MESSAGES, data=SMS)
        unavailable = client.post(MESSAGES, data=SMS)
        unauthorized = client.post(MESSAGES, data=SMS)
        with pytest.raises(httpx.RemoteProtocolError):  # read, then the connection closed without a byte
            client.post(MESSAGES, data=SMS)
        accepted = client.post(MESSAGES, data=SMS)

    assert (opted_out.status_code, opted_out.json()["code"], opted_out.json()["message"]) == (
        400, 21610, "Attempt to send to unsubscribed recipient")  # fmt: skip
    assert (limited.status_code, limited.headers["retry-after"], limited.json()["code"]) == (429, "7", 20429)
    assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "2")
    assert (unauthorized.status_code, unauthorized.json()["code"]) == (401, 20003)
    assert accepted.status_code == 201
    assert [r.status for r in twilio.requests] == [400, 429, 503, 401, 0, 201]
    assert [m.id for m in twilio.messages] == [accepted.json()["sid"]]


def test_an_unknown_twilio_resource_is_404(twilio: TwilioPeer) -> None:
    with twilio_client(twilio) as client:
        response = client.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json")
    assert (response.status_code, response.json()["code"]) == (404, 20404)


# -- Messente: what its contract allows and how it answers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "source"),
    [
        (OMNI, None, None),
        ({**OMNI, "dlr_url": "https://clinic.example/hooks/messente/dlr/abc"}, None, None),
        ({"messages": OMNI["messages"]}, "106", "payload[to]"),
        ({"to": OMNI["to"]}, "106", "payload[messages]"),
        ({**OMNI, "messages": "Tere!"}, "105", "payload"),
        ({**OMNI, "dlr": "https://clinic.example/"}, "105", "payload"),  # not a field: Messente would ignore it
        ({**OMNI, "messages": [{"channel": "viber", "text": "Tere!"}]}, "105", "payload"),
        ({**OMNI, "messages": [{"channel": "sms", "sender": "HammasTLN"}]}, "105", "payload"),  # no text
        ({**OMNI, "messages": [{"channel": "sms", "text": "Tere!", "autoconvert": "maybe"}]}, "105", "payload"),
    ],
)
def test_messente_omnimessage_contract(body: dict[str, Any], code: str | None, source: str | None) -> None:
    errors, answered, at = omnimessage_errors(body)
    if code is None:
        assert errors == []
    else:
        assert errors and (answered, at) == (code, source), errors


def test_messente_accepts_an_omnimessage_with_the_documented_answer(messente: MessentePeer) -> None:
    body = {**OMNI, "dlr_url": "http://127.0.0.1:9/hooks/messente/dlr/abc"}
    with messente_client(messente) as client:
        created = client.post("/v1/omnimessage", json=body)
        report = client.get(f"/v1/omnimessage/{created.json()['omnimessage_id']}/status")
        unknown = client.get(f"/v1/omnimessage/{NIL_UUID}/status")

    spec = messente_api.contract()
    assert created.status_code == 201
    assert spec.response_errors("/omnimessage", "post", 201, created.json()) == []
    [sms] = created.json()["messages"]
    [message] = messente.messages
    assert (sms["channel"], sms["message_id"], sms["sender"]) == ("sms", message.id, "HammasTLN")
    assert (message.to, message.text, message.callback_url) == (OMNI["to"], "Tere!", body["dlr_url"])
    assert message.group_id == created.json()["omnimessage_id"]
    assert report.status_code == 200
    assert spec.response_errors("/omnimessage/{omnimessageId}/status", "get", 200, report.json()) == []
    assert unknown.status_code == 404  # what masspost's account check relies on: authenticated, nothing there
    assert spec.response_errors("/omnimessage/{omnimessageId}/status", "get", 404, unknown.json()) == []
    assert messente.violations == []


def test_messente_refuses_wrong_credentials_with_its_error_body(messente: MessentePeer) -> None:
    with messente_client(messente, password="not-the-password") as client:
        sent = client.post("/v1/omnimessage", json=OMNI)
        checked = client.get(f"/v1/omnimessage/{NIL_UUID}/status")

    for response in (sent, checked):
        assert response.status_code == 401
        assert response.json() == {
            "errors": [{"code": "103", "detail": "Unauthorized", "source": None, "title": "Unauthorized"}]
        }
        assert messente_api.contract().response_errors("/omnimessage", "post", 401, response.json()) == []
    assert messente.messages == []


def test_a_request_messente_would_refuse_is_a_violation_answered_400(messente: MessentePeer) -> None:
    with messente_client(messente) as client:
        response = client.post("/v1/omnimessage", json={"messages": OMNI["messages"]})
        not_json = client.post("/v1/omnimessage", data={"to": "+3725"})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["code"], error["title"], error["source"]) == ("106", "Missing data", "payload[to]")
    assert messente_api.contract().response_errors("/omnimessage", "post", 400, response.json()) == []
    assert (not_json.status_code, not_json.json()["errors"][0]["code"]) == (400, "105")
    assert len(messente.violations) == 2 and messente.messages == []


def test_messente_balance_answers_as_documented(messente: MessentePeer) -> None:
    with httpx.Client(base_url=messente.base_url, timeout=10) as client:
        right = client.get("/get_balance", params={"username": messente.username, "password": messente.password})
        wrong = client.get("/get_balance", params={"username": messente.username, "password": "nope"})
        missing = client.get("/get_balance")

    assert [(r.status_code, r.text) for r in (right, wrong, missing)] == [
        (200, "OK 100.00"), (200, "ERROR 101"), (200, "ERROR 102")]  # fmt: skip


def test_messente_scripted_answers(messente: MessentePeer) -> None:
    messente.script(Answer.rate_limited(5), Answer.server_error(500), Answer.drop())
    with messente_client(messente) as client:
        limited = client.post("/v1/omnimessage", json=OMNI)
        failed = client.post("/v1/omnimessage", json=OMNI)
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/omnimessage", json=OMNI)
        accepted = client.post("/v1/omnimessage", json=OMNI)

    assert (limited.status_code, limited.headers["retry-after"]) == (429, "5")
    assert failed.status_code == 500 and failed.json()["errors"][0]["code"] == "104"
    assert accepted.status_code == 201
    assert [r.status for r in messente.requests] == [429, 500, 0, 201]


# -- the server: keep-alive and the client's window ------------------------------------------------------------------


def test_one_kept_alive_connection_carries_many_requests(twilio: TwilioPeer) -> None:
    with httpx.Client(
        base_url=twilio.base_url, auth=(ACCOUNT_SID, AUTH_TOKEN), limits=httpx.Limits(max_connections=1)
    ) as client:
        statuses = {client.post(MESSAGES, data=SMS).status_code for _ in range(20)}
    assert statuses == {201}
    assert twilio.connections == 1 and len(twilio.messages) == 20


def test_held_answers_show_how_many_requests_the_client_has_in_flight(messente: MessentePeer) -> None:
    answers: list[int] = []

    def send() -> None:
        with messente_client(messente) as client:
            answers.append(client.post("/v1/omnimessage", json=OMNI).status_code)

    messente.hold()
    senders = [threading.Thread(target=send) for _ in range(6)]
    for sender in senders:
        sender.start()
    assert messente.wait_in_flight(6, timeout=10) == 6
    assert messente.messages == []  # none answered while held
    messente.release()
    for sender in senders:
        sender.join(10)

    assert answers == [201] * 6
    assert messente.max_in_flight == 6 and messente.in_flight == 0


# -- webhooks ------------------------------------------------------------------------------------------------------


def test_twilio_signature_matches_the_vectors_of_twilios_sdk() -> None:
    """twilio-python's tests/unit/test_request_validator.py: its URL, parameters and token "12345"."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309", "To": "+18005551212",
              "Caller": "+14158675309"}  # fmt: skip
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert twilio_signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


@pytest.mark.parametrize(("status", "error_code"), [("delivered", None), ("undelivered", "30003")])
def test_twilio_posts_a_signed_status_callback_after_accepting(
    receiver: Receiver, status: str, error_code: str | None
) -> None:
    callback = f"{receiver.url}/hooks/twilio/status"
    with TwilioPeer(receipts=status) as peer, twilio_client(peer) as client:
        sid = client.post(MESSAGES, data={**SMS, "StatusCallback": callback}).json()["sid"]
        [result] = peer.wait_for_callbacks(1)
    [hook] = receiver.wait(1)

    assert (result.kind, result.remote_id, result.url, result.status_code) == ("status", sid, callback, 200)
    expected = {
        **{"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status},
        **{"AccountSid": ACCOUNT_SID, "From": SMS["From"], "To": SMS["To"], "ApiVersion": "2010-04-01"},
    }
    if error_code:
        expected["ErrorCode"] = error_code
    assert hook.form == expected
    assert hook.path == "/hooks/twilio/status"
    assert hook.headers["content-type"] == "application/x-www-form-urlencoded"
    assert hook.headers["x-twilio-signature"] == twilio_signature(AUTH_TOKEN, callback, hook.form)


def test_twilio_send_status_signs_tampers_or_leaves_unsigned(twilio: TwilioPeer, receiver: Receiver) -> None:
    callback = f"{receiver.url}/hooks/twilio/status"
    with twilio_client(twilio) as client:
        sid = client.post(MESSAGES, data={**SMS, "StatusCallback": callback}).json()["sid"]
    receiver.status = 403

    assert twilio.send_status(sid, "delivered") == 403  # the webhook's answer, whatever it is
    assert twilio.send_status(sid, "delivered", tamper=True) == 403
    assert twilio.send_status(sid, "delivered", sign=False) == 403
    signed, tampered, unsigned = receiver.wait(3)

    assert signed.headers["x-twilio-signature"] == twilio_signature(AUTH_TOKEN, callback, signed.form)
    assert tampered.form["MessageStatus"] != "delivered"
    assert tampered.headers["x-twilio-signature"] != twilio_signature(AUTH_TOKEN, callback, tampered.form)
    assert tampered.headers["x-twilio-signature"] == signed.headers["x-twilio-signature"]
    assert "x-twilio-signature" not in unsigned.headers


def test_twilio_send_reply_posts_a_signed_incoming_message(twilio: TwilioPeer, receiver: Receiver) -> None:
    inbound = f"{receiver.url}/hooks/twilio/inbound"
    assert twilio.send_reply(inbound, "+37255512345", "STOP") == 200
    [hook] = receiver.wait(1)

    form = hook.form
    assert re.fullmatch(r"SM[0-9a-f]{32}", form["MessageSid"])
    assert (form["From"], form["To"], form["Body"], form["NumMedia"], form["AccountSid"]) == (
        "+37255512345", twilio.number, "STOP", "0", ACCOUNT_SID)  # fmt: skip
    assert hook.headers["x-twilio-signature"] == twilio_signature(AUTH_TOKEN, inbound, form)


def test_messente_posts_the_documented_delivery_report_after_accepting(receiver: Receiver) -> None:
    dlr = f"{receiver.url}/hooks/messente/dlr/secret"
    with MessentePeer(receipts="delivered") as peer, messente_client(peer) as client:
        created = client.post("/v1/omnimessage", json={**OMNI, "dlr_url": dlr}).json()
        [result] = peer.wait_for_callbacks(1)
    [hook] = receiver.wait(1)

    report = json.loads(hook.body)
    assert (result.kind, result.status_code) == ("dlr", 200)
    assert set(report) == {"status", "sender", "err", "message_id", "to", "channel", "error", "omnimessage_id",
                           "timestamp"}  # fmt: skip
    assert (report["status"], report["err"], report["error"], report["channel"]) == ("DELIVRD", 0, None, "sms")
    assert report["message_id"] == created["messages"][0]["message_id"] == result.remote_id
    assert (report["omnimessage_id"], report["to"]) == (created["omnimessage_id"], OMNI["to"])
    expected = hmac.new(messente_api.SHARED_SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["x-messente-signature"] == expected == messente_signature(messente_api.SHARED_SECRET, hook.body)


def test_messente_send_status_and_reply(messente: MessentePeer, receiver: Receiver) -> None:
    dlr = f"{receiver.url}/hooks/messente/dlr/secret"
    with messente_client(messente) as client:
        message_id = client.post("/v1/omnimessage", json={**OMNI, "dlr_url": dlr}).json()["messages"][0]["message_id"]

    assert messente.send_status(message_id, "undelivered", error_code=3) == 200
    assert messente.send_status(message_id, "DELIVRD", url=f"{receiver.url}/hooks/messente/dlr/other") == 200
    assert messente.send_reply(f"{receiver.url}/hooks/messente/inbound/secret", "+37255512345", "STOP") == 200
    undelivered, elsewhere, reply = receiver.wait(3)

    assert json.loads(undelivered.body)["status"] == "UNDELIV"
    assert (json.loads(undelivered.body)["err"], json.loads(undelivered.body)["error"]) == (3, "Invalid number")
    assert elsewhere.path == "/hooks/messente/dlr/other"
    inbound = json.loads(reply.body)
    assert set(inbound) == {"msg_id", "sub_msg_id", "channel", "recipient", "time", "text", "sender"}
    assert (inbound["sender"], inbound["recipient"], inbound["text"]) == ("+37255512345", messente.number, "STOP")
    assert reply.headers["x-messente-signature"] == messente_signature(messente_api.SHARED_SECRET, reply.body)


def test_a_contract_loads_a_vendored_file_by_name() -> None:
    assert OpenAPIContract("twilio_api_v2010.subset.json").document["info"]["title"]
    assert Path(OPENAPI_DIR / "cut.py").exists()


def test_a_drop_after_accepting_keeps_the_message_and_sends_its_receipt(receiver: Receiver) -> None:
    """What a client must count as unknown: no answer came, yet the provider has the message."""
    callback = f"{receiver.url}/hooks/twilio/status"
    with TwilioPeer(receipts="delivered") as twilio, twilio_client(twilio) as client:
        twilio.script(Answer.drop(accepted=True))
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(MESSAGES, data={**SMS, "StatusCallback": callback})
        [message] = twilio.wait_for(1)
        [result] = twilio.wait_for_callbacks(1)
    assert result.remote_id == message.id and result.status_code == 200
    assert [r.status for r in twilio.requests] == [0]

    dlr = f"{receiver.url}/hooks/messente/dlr/secret"
    with MessentePeer(receipts="delivered") as messente, messente_client(messente) as client:
        messente.script(Answer.drop(accepted=True))
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/omnimessage", json={**OMNI, "dlr_url": dlr})
        [message] = messente.wait_for(1)
        [result] = messente.wait_for_callbacks(1)
    assert result.remote_id == message.id and result.status_code == 200
    assert [r.status for r in messente.requests] == [0]
