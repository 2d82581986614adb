"""The Messente module on its own: the Omnimessage it builds, how it reads Messente's answers (every row of its
error table), its URLs, and its webhooks' derived secret."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.base import Channel, Outcome, OutgoingMessage
from masspost.delivery.gateways.http_sms import (
    ProviderUnavailable,
    WebhookRefused,
    WebhookRequest,
    WebhookUnknown,
    provider_from_url,
)
from masspost.delivery.gateways.messente import ERRORS, MessenteProvider, webhook_secret
from masspost.errors import GatewayConfigError

USER = "4f1c0e2d9a7b"
PASSWORD = "pa55-w0rd-value"
PUBLIC = "https://clinic.example.org"
NUMBER = "+37255512345"
SECRET = webhook_secret(USER, PASSWORD)


def provider(**kwargs: str) -> MessenteProvider:
    return MessenteProvider(username=USER, password=PASSWORD, **kwargs)


def message(**kwargs: object) -> OutgoingMessage:
    fields: dict[str, object] = {"message_id": 7, "campaign_id": 1, "patient_ref": "P-1", "channel": Channel.SMS,
                                 "to": NUMBER, "language": "et", "text": "Tere! Aeg on homme.", "sender": "Kliinik"}
    fields.update(kwargs)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def errors(status: int, code: str, title: str, detail: str = "", source: str | None = None,
           headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"title": title, "detail": detail, "code": code,
                                                    "source": source}]}, headers=headers)


# -- requests -------------------------------------------------------------------------------------------------------

def test_a_message_is_one_sms_omnimessage_with_the_sender_and_the_dlr_url() -> None:
    request = provider(public_url=PUBLIC).message_request(message())
    assert (request.method, request.path, request.form) == ("POST", "/v1/omnimessage", None)
    assert request.json == {"to": NUMBER, "dlr_url": f"{PUBLIC}/hooks/messente/dlr/{SECRET}?m=7",  # the outbox id
                            "messages": [{"channel": "sms", "sender": "Kliinik", "text": "Tere! Aeg on homme."}]}


def test_without_a_sender_or_public_url_neither_is_sent() -> None:
    request = provider().message_request(message(sender=""))
    assert request.json == {"to": NUMBER, "messages": [{"channel": "sms", "text": "Tere! Aeg on homme."}]}


def test_the_account_check_is_an_authenticated_get_that_sends_nothing() -> None:
    request = provider().account_request()
    assert request.method == "GET" and request.path.startswith("/v1/omnimessage/") and request.path.endswith("/status")


@pytest.mark.parametrize("status", [200, 404])
def test_an_answer_to_the_account_check_means_the_credentials_were_accepted(status: int) -> None:
    described = provider().read_account(errors(status, "101", "Not found"))
    assert described == "Messente API credentials accepted"


@pytest.mark.parametrize("answer", [
    httpx.Response(404, text="<html><h1>Not Found</h1></html>"),  # a web server at a wrong host
    httpx.Response(404, json={"detail": "not found"}),  # JSON, but not Messente's error body
    httpx.Response(200, text="<html>Welcome</html>"),
    httpx.Response(200, json=["not", "a", "report"]),
])
def test_an_answer_that_is_not_messentes_checks_nothing(answer: httpx.Response) -> None:
    with pytest.raises(ProviderUnavailable, match="not an answer of Messente's API: check the host"):
        provider().read_account(answer)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_a_configuration_error_naming_none(status: int) -> None:
    with pytest.raises(GatewayConfigError) as caught:
        provider().read_account(errors(status, "103", "Unauthorized"))
    assert USER not in str(caught.value) and PASSWORD not in str(caught.value)


@pytest.mark.parametrize("status", [429, 500, 502])
def test_a_busy_provider_neither_accepts_nor_refuses_the_account(status: int) -> None:
    with pytest.raises(ProviderUnavailable):
        provider().read_account(httpx.Response(status))


# -- answers --------------------------------------------------------------------------------------------------------

def test_a_created_omnimessage_is_accepted_with_its_sms_message_id() -> None:
    body = {"messages": [{"channel": "sms", "message_id": "fr593ce7-68de", "sender": "Kliinik"}], "to": NUMBER,
            "omnimessage_id": "632c6f3d-49d0"}
    result = provider().read_answer(httpx.Response(201, json=body))
    assert (result.outcome, result.remote_id) == (Outcome.ACCEPTED, "fr593ce7-68de")


def test_a_success_without_a_message_id_is_unknown() -> None:
    assert provider().read_answer(httpx.Response(201, json={"to": NUMBER})).outcome is Outcome.UNKNOWN


def test_rate_limited_and_unavailable_are_transient_whatever_the_code() -> None:
    limited = provider().read_answer(httpx.Response(429, headers={"Retry-After": "12"}))
    assert (limited.outcome, limited.retry_after) == (Outcome.TRANSIENT, 12.0)
    busy = provider().read_answer(errors(503, "104", "Internal Server Error", headers={"Retry-After": "2"}))
    assert (busy.outcome, busy.retry_after) == (Outcome.TRANSIENT, 2.0)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_an_internal_or_gateway_error_is_unknown_messente_may_have_taken_the_message(status: int) -> None:
    coded = provider().read_answer(errors(status, "104", "Internal Server Error"))
    assert coded.outcome is Outcome.UNKNOWN and coded.error.startswith("messente 104 Internal Server Error")
    assert f"(HTTP {status})" in coded.error and "not re-sent by itself" in coded.error
    bare = provider().read_answer(httpx.Response(status, text="<html>Bad Gateway</html>"))
    assert bare.outcome is Outcome.UNKNOWN and f"answered {status}" in bare.error


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_on_a_send_are_misconfigured(status: int) -> None:
    result = provider().read_answer(errors(status, "103", "Unauthorized"))
    assert result.outcome is Outcome.MISCONFIGURED and PASSWORD not in result.error


KINDS = {"transient": Outcome.TRANSIENT, "permanent": Outcome.PERMANENT, "misconfigured": Outcome.MISCONFIGURED,
         "unknown": Outcome.UNKNOWN}


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_row_of_the_error_table_classifies_with_its_code_and_title(code: str) -> None:
    kind, title = ERRORS[code]
    status = {"101": 404, "102": 400, "103": 400, "104": 400, "107": 405}.get(code, 400)
    result = provider().read_answer(errors(status, code, title, f"Invalid phone number {NUMBER}", "payload[to]"))
    assert result.outcome is KINDS[kind]
    assert result.error.startswith(f"messente {code} {title}: Invalid phone number")
    assert "(payload[to])" in result.error
    assert NUMBER not in result.error and "55512345" not in result.error


def test_an_invalid_number_is_permanent_but_a_refused_sender_stops_the_channel() -> None:
    invalid = provider().read_answer(errors(400, "105", "Invalid data", "Invalid phone number", "payload[to]"))
    assert invalid.outcome is Outcome.PERMANENT
    sender = provider().read_answer(errors(400, "105", "Invalid data", "Sender name not allowed",
                                           "payload[messages][0][sender]"))
    assert sender.outcome is Outcome.MISCONFIGURED and "sender" in sender.error


def test_an_unreadable_4xx_is_permanent() -> None:
    result = provider().read_answer(httpx.Response(400, text="<html>bad request</html>"))
    assert (result.outcome, result.error) == (Outcome.PERMANENT, "messente HTTP 400")


# -- URLs ------------------------------------------------------------------------------------------------------------

def test_messente_urls_are_https_and_plain_http_only_on_loopback() -> None:
    gateway = gateway_from_url(f"messente://{USER}:{PASSWORD}@api.messente.com?window=4", public_url=PUBLIC)
    assert (gateway.name, gateway.base_url, gateway.window) == (  # type: ignore[attr-defined]
        "messente", "https://api.messente.com", 4)
    local = gateway_from_url(f"messente+http://{USER}:{PASSWORD}@127.0.0.1:9000")
    assert local.base_url == "http://127.0.0.1:9000"  # type: ignore[attr-defined]
    with pytest.raises(GatewayConfigError) as caught:
        gateway_from_url(f"messente+http://{USER}:{PASSWORD}@api.messente.com")
    assert USER not in str(caught.value) and PASSWORD not in str(caught.value)


@pytest.mark.parametrize("url", [
    f"messente://{USER}@api.messente.com",
    f"messente://{USER}:{PASSWORD}@api.messente.com?window=abc",
    f"messente://{USER}:{PASSWORD}@api.messente.com?messaging_service=MG1",
    f"messente://{USER}:{PASSWORD[:4]}?{PASSWORD[4:]}@api.messente.com",
])
def test_a_bad_url_names_no_credential(url: str) -> None:
    with pytest.raises(GatewayConfigError) as caught:
        gateway_from_url(url)
    said = str(caught.value)
    assert USER not in said and PASSWORD[:4] not in said and PASSWORD[4:] not in said


def test_provider_from_url_gives_the_provider() -> None:
    found = provider_from_url(f"messente://{USER}:{PASSWORD}@api.messente.com")
    assert isinstance(found, MessenteProvider) and found.scheme == "messente"
    assert PASSWORD not in repr(found) and USER not in repr(found)


# -- the secret and the webhooks -------------------------------------------------------------------------------------

def test_the_secret_is_derived_from_both_credentials_and_reveals_neither() -> None:
    # The contract's derivation, computed here on its own: a change to it changes every registered URL.
    expected = hmac.new(PASSWORD.encode(), f"masspost-webhooks:{USER}".encode(), hashlib.sha256).hexdigest()[:32]
    assert (len(SECRET), SECRET) == (32, expected)
    assert webhook_secret(USER, PASSWORD + "x") != SECRET
    assert webhook_secret(USER + "x", PASSWORD) != SECRET
    assert PASSWORD not in SECRET and USER not in SECRET
    assert provider().webhook_urls(PUBLIC) == {"dlr": f"{PUBLIC}/hooks/messente/dlr/{SECRET}",
                                               "inbound": f"{PUBLIC}/hooks/messente/inbound/{SECRET}"}


def hook(kind: str, payload: object, secret: str = SECRET, query: str = "") -> WebhookRequest:
    return WebhookRequest(kind=kind, url=f"{PUBLIC}/hooks/messente/{kind}/{secret}{query}", secret=secret, headers={},
                          body=json.dumps(payload).encode(), content_type="application/json")


def report(status: str, err: int | None = 0, error: str | None = None) -> dict[str, object]:
    # Messente's documented example of a delivery report (support.messente.com, "Delivery Report Webhooking").
    return {"status": status, "sender": "Kliinik", "err": err, "message_id": "fr593ce7-68de", "to": NUMBER,
            "channel": "sms", "error": error, "omnimessage_id": "632c6f3d-49d0",
            "timestamp": "2020-02-04T08:09:42.389630"}


def test_a_delivered_report_is_a_delivrd_receipt() -> None:
    event = provider().webhook(hook("dlr", report("DELIVRD")))
    assert [(r.remote_id, r.stat, r.error) for r in event.receipts] == [("fr593ce7-68de", "DELIVRD", "")]


@pytest.mark.parametrize(("status", "stat"), [("UNDELIV", "UNDELIV"), ("FAILED", "UNDELIV"), ("EXPIRED", "EXPIRED"),
                                              ("REJECTD", "REJECTD")])
def test_an_undelivered_report_keeps_messentes_error_code_and_title(status: str, stat: str) -> None:
    event = provider().webhook(hook("dlr", report(status, 3, f"Invalid number {NUMBER}")))
    assert [(r.stat, r.error) for r in event.receipts] == [(stat, "messente 3: Invalid number")]


def test_a_report_names_the_outbox_id_of_its_dlr_url_when_it_reports_one_message() -> None:
    receipts = provider().webhook(hook("dlr", report("DELIVRD"), query="?m=7")).receipts
    assert [(r.remote_id, r.stat, r.message_id) for r in receipts] == [("fr593ce7-68de", "DELIVRD", 7)]
    assert provider().webhook(hook("dlr", report("DELIVRD"))).receipts[0].message_id is None
    assert provider().webhook(hook("dlr", report("DELIVRD"), query="?m=seven")).receipts[0].message_id is None
    # Two reports in one call: the URL's id cannot say which of them it is, so neither gets it.
    other = {**report("UNDELIV", 1), "message_id": "other-id"}
    receipts = provider().webhook(hook("dlr", [report("DELIVRD"), other], query="?m=7")).receipts
    assert [(r.remote_id, r.message_id) for r in receipts] == [("fr593ce7-68de", None), ("other-id", None)]
    # The secret is checked first, whatever the query says.
    with pytest.raises(WebhookRefused):
        provider().webhook(hook("dlr", report("DELIVRD"), secret=SECRET[:-1] + "0", query="?m=7"))


def test_a_report_on_the_way_is_passed_on() -> None:
    assert provider().webhook(hook("dlr", report("ACK", None))).receipts[0].stat == "ACK"


def test_an_incoming_message_is_a_reply() -> None:
    # Messente's documented example (messente.com/documentation/omnichannel-api/inbound-messages).
    payload = {"msg_id": "1f5197ec-b4d7", "sub_msg_id": "d276e75e-e9f5", "channel": "sms", "recipient": "1234",
               "time": "2021-02-23T14:51:13.000000Z", "text": "STOP", "sender": NUMBER}
    event = provider().webhook(hook("inbound", payload))
    assert [(r.remote_id, r.source, r.text) for r in event.replies] == [("1f5197ec-b4d7", NUMBER, "STOP")]


def test_a_wrong_or_missing_secret_or_an_unreadable_body_is_refused() -> None:
    for request in (hook("dlr", report("DELIVRD"), secret=SECRET[:-1] + "0"), hook("dlr", report("DELIVRD"), ""),
                    hook("dlr", report("DELIVRD"), webhook_secret(USER, "old password"))):
        with pytest.raises(WebhookRefused) as caught:
            provider().webhook(request)
        assert SECRET not in str(caught.value)
    garbled = WebhookRequest(kind="dlr", url="", secret=SECRET, headers={}, body=b"\xff{", content_type="text/plain")
    for request in (garbled, hook("dlr", ["not a report"]), hook("dlr", {"status": "DELIVRD"}),
                    hook("inbound", {"text": "STOP"})):
        with pytest.raises(WebhookRefused):
            provider().webhook(request)
    with pytest.raises(WebhookUnknown):
        provider().webhook(hook("status", report("DELIVRD")))
