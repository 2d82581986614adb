"""The Twilio module on its own: the requests it builds, how it reads Twilio's answers (every kind of row of its
error table), its URLs, and its webhooks' signatures (Twilio's own worked example)."""

from __future__ import annotations

from urllib.parse import urlencode

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
from masspost.delivery.gateways.twilio import EMPTY_TWIML, ERRORS, TwilioProvider, signature, signature_valid
from masspost.errors import GatewayConfigError

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "s3cret-token-value"
PUBLIC = "https://clinic.example.org"
NUMBER = "+37255512345"


def provider(**kwargs: str) -> TwilioProvider:
    return TwilioProvider(account_sid=SID, auth_token=TOKEN, **kwargs)


def message(**kwargs: object) -> OutgoingMessage:
    fields: dict[str, object] = {"message_id": 7, "campaign_id": 1, "patient_ref": "P-1", "channel": Channel.SMS,
                                 "to": NUMBER, "language": "et", "text": "Tere! Aeg on homme.", "sender": "Kliinik"}
    fields.update(kwargs)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, text="<html>proxy error</html>", headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, code: int, text: str) -> httpx.Response:
    return answer(status, {"code": code, "message": text, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                           "status": status})


# -- requests -------------------------------------------------------------------------------------------------------

def test_a_message_is_a_form_post_to_the_accounts_messages_with_the_clinic_sender_and_the_status_callback() -> None:
    request = provider(public_url=PUBLIC).message_request(message())
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    assert request.form == {"To": NUMBER, "Body": "Tere! Aeg on homme.", "From": "Kliinik",
                            "StatusCallback": f"{PUBLIC}/hooks/twilio/status?m=7"}  # the outbox id, nothing else
    assert request.json is None


def test_a_messaging_service_replaces_the_from_and_no_public_url_asks_for_no_callback() -> None:
    request = provider(messaging_service="MG" + "1" * 32).message_request(message())
    assert request.form == {"To": NUMBER, "Body": "Tere! Aeg on homme.", "MessagingServiceSid": "MG" + "1" * 32}


def test_a_message_without_any_sender_is_refused_before_a_request() -> None:
    with pytest.raises(ValueError, match="no SMS sender"):
        provider().message_request(message(sender=""))


def test_the_account_check_is_the_account_resource() -> None:
    request = provider().account_request()
    assert (request.method, request.path) == ("GET", f"/2010-04-01/Accounts/{SID}.json")


# -- the account ----------------------------------------------------------------------------------------------------

def test_an_active_account_is_described_with_its_shortened_sid_only() -> None:
    described = provider().read_account(answer(200, {"sid": SID, "status": "active", "type": "Full"}))
    assert described == "Twilio account AC…cdef active"
    trial = provider().read_account(answer(200, {"sid": SID, "status": "active", "type": "Trial"}))
    assert "trial" in trial


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_a_suspended_or_closed_account_is_a_configuration_error(status: str) -> None:
    with pytest.raises(GatewayConfigError, match=status) as caught:
        provider().read_account(answer(200, {"sid": SID, "status": status}))
    assert TOKEN not in str(caught.value) and SID not in str(caught.value)


def test_refused_credentials_are_a_configuration_error_naming_the_code_not_the_token() -> None:
    with pytest.raises(GatewayConfigError, match="twilio 20003") as caught:
        provider().read_account(error(401, 20003, "Authenticate"))
    assert TOKEN not in str(caught.value) and SID not in str(caught.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_busy_provider_neither_accepts_nor_refuses_the_account(status: int) -> None:
    with pytest.raises(ProviderUnavailable):
        provider().read_account(answer(status, {"code": 20500, "message": "x"}))


# -- answers --------------------------------------------------------------------------------------------------------

def test_a_created_message_is_accepted_with_its_sid() -> None:
    result = provider().read_answer(answer(201, {"sid": "SM" + "a" * 32, "status": "queued"}))
    assert (result.outcome, result.remote_id) == (Outcome.ACCEPTED, "SM" + "a" * 32)


def test_a_success_without_a_sid_is_unknown_the_provider_may_have_it() -> None:
    assert provider().read_answer(answer(200, None)).outcome is Outcome.UNKNOWN


def test_rate_limited_is_transient_with_the_retry_after() -> None:
    result = provider().read_answer(
        httpx.Response(429, json={"code": 20429, "message": "Too Many Requests", "status": 429},
                       headers={"Retry-After": "7"}))
    assert (result.outcome, result.retry_after) == (Outcome.TRANSIENT, 7.0)
    assert result.error == "twilio 20429: Too Many Requests"


def test_service_unavailable_is_transient_with_its_retry_after_even_without_a_code() -> None:
    result = provider().read_answer(answer(503, None, headers={"Retry-After": "3"}))
    assert (result.outcome, result.retry_after) == (Outcome.TRANSIENT, 3.0)


@pytest.mark.parametrize("status", [500, 501, 502, 504, 599])
def test_any_other_server_error_is_unknown_twilio_may_have_taken_the_message(status: int) -> None:
    result = provider().read_answer(answer(status, None, headers={"Retry-After": "3"}))
    assert result.outcome is Outcome.UNKNOWN
    assert result.error == (f"twilio: the provider answered {status}: the provider may have taken the message; "
                            "not re-sent by itself")


def test_twilios_internal_error_code_is_unknown_and_its_busy_code_transient() -> None:
    internal = provider().read_answer(error(500, 20500, "Internal Server Error"))
    assert internal.outcome is Outcome.UNKNOWN and internal.error.startswith("twilio 20500: Internal Server Error")
    busy = provider().read_answer(error(503, 20503, "Service Unavailable"))
    assert busy.outcome is Outcome.TRANSIENT


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_on_a_send_are_misconfigured(status: int) -> None:
    assert provider().read_answer(answer(status, None)).outcome is Outcome.MISCONFIGURED


KINDS = {"transient": Outcome.TRANSIENT, "permanent": Outcome.PERMANENT, "misconfigured": Outcome.MISCONFIGURED,
         "opt_out": Outcome.PERMANENT, "unknown": Outcome.UNKNOWN}


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_row_of_the_error_table_classifies_with_its_code_and_title_never_twilios_text(code: int) -> None:
    kind, title = ERRORS[code]
    status = 429 if code == 20429 else 401 if code == 20003 else 400
    result = provider().read_answer(error(status, code, f"The 'To' number {NUMBER} is not valid."))
    assert result.outcome is KINDS[kind]
    assert result.error.startswith(f"twilio {code}: {title}")
    assert NUMBER not in result.error and NUMBER[1:] not in result.error
    assert result.opt_out is (kind == "opt_out")


def test_the_documented_permanent_codes_and_the_unsubscribed_recipient() -> None:
    for code in (21211, 21614, 21408, 21612):
        assert provider().read_answer(error(400, code, "x")).outcome is Outcome.PERMANENT
    unsubscribed = provider().read_answer(error(400, 21610, "Attempt to send to unsubscribed recipient"))
    assert (unsubscribed.outcome, unsubscribed.opt_out) == (Outcome.PERMANENT, True)


def test_an_unknown_code_is_permanent_with_twilios_text_and_the_number_taken_out() -> None:
    result = provider().read_answer(error(400, 21999, f"Something about {NUMBER} and x@example.org"))
    assert result.outcome is Outcome.PERMANENT
    assert result.error.startswith("twilio 21999: Something about")
    assert NUMBER not in result.error and "x@example.org" not in result.error and "55512345" not in result.error


def test_an_unknown_4xx_without_a_body_is_permanent() -> None:
    result = provider().read_answer(answer(404, None))
    assert (result.outcome, result.error) == (Outcome.PERMANENT, "twilio HTTP 404")


# -- URLs ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "[::1]", "localhost"])
def test_plain_http_is_for_loopback(host: str) -> None:
    gateway = gateway_from_url(f"twilio+http://{SID}:{TOKEN}@{host}:8080")
    assert gateway.base_url == f"http://{host}:8080"  # type: ignore[attr-defined]
    assert gateway.name == "twilio"


@pytest.mark.parametrize("host", ["api.twilio.com", "10.0.0.1", "192.168.1.10", "[2001:db8::1]", "localhost.evil.com"])
def test_plain_http_to_any_other_host_is_refused_without_quoting_the_url(host: str) -> None:
    with pytest.raises(GatewayConfigError, match="loopback|this machine") as caught:
        gateway_from_url(f"twilio+http://{SID}:{TOKEN}@{host}")
    assert TOKEN not in str(caught.value) and SID not in str(caught.value) and host not in str(caught.value)


def test_twilio_urls_are_https_with_the_window_and_options() -> None:
    gateway = gateway_from_url(f"twilio://{SID}:{TOKEN}@api.twilio.com?window=25&timeout=4&messaging_service=MG1",
                               public_url=PUBLIC)
    assert (gateway.base_url, gateway.window, gateway.timeout) == (  # type: ignore[attr-defined]
        "https://api.twilio.com", 25, 4.0)
    assert gateway.provider.messaging_service == "MG1"  # type: ignore[attr-defined]
    assert gateway.provider.public_url == PUBLIC  # type: ignore[attr-defined]
    assert gateway_from_url(f"twilio://{SID}:{TOKEN}@api.twilio.com").window == 10  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", [
    f"twilio://{SID}@api.twilio.com",  # no token
    f"twilio://{SID}:{TOKEN}@api.twilio.com?window=0",
    f"twilio://{SID}:{TOKEN}@api.twilio.com?window=101",
    f"twilio://{SID}:{TOKEN}@api.twilio.com?timeout=inf",
    f"twilio://{SID}:{TOKEN}@api.twilio.com?timeout=301",
    f"twilio://{SID}:{TOKEN}@api.twilio.com?messaging_service=PN123",
    f"twilio://{SID}:{TOKEN}@api.twilio.com?colour=red",
    f"twilio://{SID}:{TOKEN}@api.twilio.com:99999",
    f"twilio://{SID}:{TOKEN[:5]}#{TOKEN[5:]}@api.twilio.com",
    f"twilio://{SID}:{TOKEN[:5]}/{TOKEN[5:]}@api.twilio.com",
])
def test_a_bad_url_names_no_credential(url: str) -> None:
    with pytest.raises(GatewayConfigError) as caught:
        gateway_from_url(url)
    said = str(caught.value)
    assert SID not in said and TOKEN[:5] not in said and TOKEN[5:] not in said


def test_provider_from_url_gives_the_provider_and_refuses_other_gateways() -> None:
    found = provider_from_url(f"twilio://{SID}:{TOKEN}@api.twilio.com")
    assert isinstance(found, TwilioProvider) and found.scheme == "twilio"
    assert TOKEN not in repr(found)
    for other in ("smpp://user:pw@smsc:2775", "file:///tmp/out", "console:", "memory:"):
        with pytest.raises(GatewayConfigError):
            provider_from_url(other)


# -- signatures and webhooks -----------------------------------------------------------------------------------------

# Twilio's worked example (twilio/twilio-python tests/unit/test_request_validator.py, the same in every helper
# library): token 12345, this URL and these parameters sign to RSOYDt4T1cUTdK1PDd93/VVr8B8=.
EXAMPLE_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
EXAMPLE_PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309", "To": "+18005551212",
                  "Caller": "+14158675309"}


def test_the_signature_of_twilios_documented_example() -> None:
    assert signature("12345", EXAMPLE_URL, EXAMPLE_PARAMS.items()) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert signature_valid("12345", EXAMPLE_URL, EXAMPLE_PARAMS.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not signature_valid("12346", EXAMPLE_URL, EXAMPLE_PARAMS.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_a_parameter_given_twice_signs_each_value_sorted() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert signature("12345", EXAMPLE_URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_the_url_is_also_tried_with_the_default_port_and_without_a_port() -> None:
    # Twilio's examples again: signed with :443 added; signed without the port a proxy added.
    assert signature_valid("12345", EXAMPLE_URL, EXAMPLE_PARAMS.items(), "kvajT1Ptam85bY51eRf/AJRuM3w=")
    with_port = EXAMPLE_URL.replace(".com", ".com:1234")
    assert signature_valid("12345", with_port, EXAMPLE_PARAMS.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def hook(kind: str, params: dict[str, str], *, sign: bool = True, token: str = TOKEN,
         url: str = "") -> WebhookRequest:
    url = url or f"{PUBLIC}/hooks/twilio/{kind}"
    headers = {"x-twilio-signature": signature(token, url, params.items())} if sign else {}
    return WebhookRequest(kind=kind, url=url, secret="", headers=headers, body=urlencode(params).encode(),
                          content_type="application/x-www-form-urlencoded; charset=utf-8")


def status_params(status: str, error_code: str = "") -> dict[str, str]:
    params = {"AccountSid": SID, "MessageSid": "SM1", "SmsSid": "SM1", "MessageStatus": status, "SmsStatus": status,
              "From": "Kliinik", "To": NUMBER, "ApiVersion": "2010-04-01"}
    if error_code:
        params["ErrorCode"] = error_code
    return params


def test_a_signed_delivered_status_is_a_delivrd_receipt() -> None:
    event = provider().webhook(hook("status", status_params("delivered")))
    assert [(r.remote_id, r.stat, r.error) for r in event.receipts] == [("SM1", "DELIVRD", "")]
    assert event.replies == [] and event.body == ""


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_an_undelivered_status_keeps_twilios_code_and_title(status: str) -> None:
    event = provider().webhook(hook("status", status_params(status, "30003")))
    assert [(r.stat, r.error) for r in event.receipts] == [("UNDELIV", "twilio 30003: Unreachable destination handset")]


@pytest.mark.parametrize("code", ["²", "٣", "3O003", ""])
def test_an_error_code_that_is_not_ascii_digits_is_the_status_alone(code: str) -> None:
    event = provider().webhook(hook("status", status_params("undelivered", code)))
    assert [(r.stat, r.error, r.opt_out) for r in event.receipts] == [("UNDELIV", "twilio: message undelivered", False)]


def test_a_status_on_the_way_is_passed_on_upper_case() -> None:
    assert provider().webhook(hook("status", status_params("sent"))).receipts[0].stat == "SENT"


def test_a_signed_incoming_message_is_a_reply_answered_with_empty_twiml() -> None:
    params = {"AccountSid": SID, "MessageSid": "SM9", "From": NUMBER, "To": "+15005550006", "Body": "STOP",
              "NumMedia": "0"}
    event = provider().webhook(hook("inbound", params))
    assert [(r.remote_id, r.source, r.text) for r in event.replies] == [("SM9", NUMBER, "STOP")]
    assert (event.content_type, event.body) == ("text/xml", EMPTY_TWIML)


def test_a_tampered_unsigned_or_foreign_signed_webhook_is_refused() -> None:
    signed = hook("status", status_params("delivered"))
    tampered = WebhookRequest(kind="status", url=signed.url, secret="", headers=signed.headers,
                              body=signed.body.replace(b"delivered", b"undelivered"), content_type=signed.content_type)
    elsewhere = hook("status", status_params("delivered"), url="https://elsewhere.example/hooks/twilio/status")
    signed_for_another_url = WebhookRequest(kind="status", url=signed.url, secret="", headers=elsewhere.headers,
                                            body=elsewhere.body, content_type=elsewhere.content_type)
    for request in (tampered, hook("status", status_params("delivered"), sign=False),
                    hook("status", status_params("delivered"), token="another-token"), signed_for_another_url):
        with pytest.raises(WebhookRefused) as caught:
            provider().webhook(request)
        assert TOKEN not in str(caught.value)
    assert provider().webhook(signed).receipts  # the same request untouched is accepted


def test_a_status_callback_names_the_outbox_id_its_signed_url_carries() -> None:
    url = f"{PUBLIC}/hooks/twilio/status?m=7"
    assert [(r.remote_id, r.message_id) for r in provider().webhook(hook("status", status_params("sent"),
                                                                         url=url)).receipts] == [("SM1", 7)]
    assert provider().webhook(hook("status", status_params("delivered"))).receipts[0].message_id is None
    for odd in ("m=0", "m=x7", "m=7&m=8", "m=-7", "m=", "n=7"):
        receipt = provider().webhook(hook("status", status_params("delivered"), url=f"{PUBLIC}/hooks/twilio/status?"
                                                                                   f"{odd}")).receipts[0]
        assert (receipt.remote_id, receipt.message_id) == ("SM1", None), odd


def test_a_callback_whose_outbox_id_was_changed_after_signing_is_refused() -> None:
    signed = hook("status", status_params("delivered"), url=f"{PUBLIC}/hooks/twilio/status?m=7")
    for url in (f"{PUBLIC}/hooks/twilio/status?m=8", f"{PUBLIC}/hooks/twilio/status", f"{signed.url}&m=8"):
        moved = WebhookRequest(kind="status", url=url, secret="", headers=signed.headers, body=signed.body,
                               content_type=signed.content_type)
        with pytest.raises(WebhookRefused):
            provider().webhook(moved)


def test_a_webhook_that_is_not_a_form_is_refused_and_an_unknown_kind_is_unknown() -> None:
    signed = hook("status", status_params("delivered"))
    with pytest.raises(WebhookRefused):
        provider().webhook(WebhookRequest(kind="status", url=signed.url, secret="", headers=signed.headers,
                                          body=b'{"MessageSid": "SM1"}', content_type="application/json"))
    with pytest.raises(WebhookUnknown):
        provider().webhook(hook("voice", {"CallSid": "CA1"}))


def test_the_webhook_urls_to_register() -> None:
    assert provider().webhook_urls(PUBLIC + "/") == {"status": f"{PUBLIC}/hooks/twilio/status",
                                                      "inbound": f"{PUBLIC}/hooks/twilio/inbound"}
