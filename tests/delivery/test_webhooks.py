"""The HTTP SMS providers' webhooks through the web server (`POST /hooks/<provider>/<kind>[/<secret>]`): a
correctly signed Twilio status callback moves a message to delivered / undelivered with the provider's error; an
unsigned, tampered or otherwise-addressed one is refused and changes nothing; a receipt or a reply that comes again
is harmless; a receipt that comes before the send's result is recorded still ends with its error (and a 21610 one
with the patient's opt-out); a STOP from any number format opts the patient out once; Messente's secret in the
path; masspost under a path prefix; 404 / 405 where there is no webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.delivery import worker as worker_module
from masspost.delivery.claims import SETTLED_NOTE
from masspost.delivery.gateways.http_sms import provider_from_url
from masspost.delivery.models import DeliveryReceipt, InboundMessage, OutboxMessage
from masspost.delivery.pipeline import WorkerStats
from masspost.delivery.selectors import outbox_status_counts
from masspost.delivery.worker import GatewayConfig, worker_run
from tests.conftest import campaign

pytestmark = pytest.mark.django_db

PUBLIC = "https://masspost.clinic.example"
SID, TOKEN = "AC" + "0" * 30 + "a1b2", "twilio-auth-token-of-the-test"
TWILIO_URL = f"twilio://{SID}:{TOKEN}@api.twilio.com"
MESSENTE_URL = "messente://clinic-user:messente-password@api.messente.com"
FORM = "application/x-www-form-urlencoded"


def twilio_signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    """As Twilio documents it, written here independently of the provider module: base64(HMAC-SHA1(auth token, the
    URL + each parameter's name and value, sorted by name))."""
    data = url + "".join(name + value for name, value in sorted(params.items()))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_post(client: Client, kind: str, params: dict[str, str], *, signed_url: str = "",
                signature: str | None = None, body: dict[str, str] | None = None, query: str = "") -> Any:
    """POST a Twilio webhook, signed for `signed_url` (default: the public URL it is served at) unless `signature`
    is given; `body` sends other parameters than the signed ones (a tampered request); `query` ("?m=5") is called
    as part of the URL."""
    path = f"/hooks/twilio/{kind}{query}"
    headers = {}
    if signature is None:
        signature = twilio_signature(signed_url or PUBLIC + path, params)
    if signature:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(path, data=urlencode(body if body is not None else params), content_type=FORM, **headers)


def status(sid: str, message_status: str, error_code: str = "") -> dict[str, str]:
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": SID, "MessageStatus": message_status,
              "SmsStatus": message_status, "To": "+37251234567", "From": "HammasTLN", "ApiVersion": "2010-04-01"}
    if error_code:
        params["ErrorCode"] = error_code
    return params


def snapshot() -> tuple[Any, ...]:
    """Everything a webhook may change."""
    return (sorted(OutboxMessage.objects.values_list("id", "status", "last_error")),
            DeliveryReceipt.objects.count(), InboundMessage.objects.count(),
            sorted(Patient.objects.values_list("id", "accepts_sms")), ConsentEvent.objects.count())


@pytest.fixture
def twilio(settings: Any) -> None:
    settings.MASSPOST_SMS_URL = TWILIO_URL
    settings.MASSPOST_PUBLIC_URL = PUBLIC


@pytest.fixture
def messente(settings: Any) -> dict[str, str]:
    settings.MASSPOST_SMS_URL = MESSENTE_URL
    settings.MASSPOST_PUBLIC_URL = PUBLIC
    return provider_from_url(MESSENTE_URL).webhook_urls(PUBLIC)


@pytest.fixture
def sent(make_patient: Any) -> list[OutboxMessage]:
    """Three SMS the provider accepted: SM1, SM2, SM3."""
    for _ in range(3):
        make_patient()
    campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator())
    rows = list(OutboxMessage.objects.order_by("id"))
    for n, row in enumerate(rows, start=1):
        OutboxMessage.objects.filter(id=row.id).update(status="sent", remote_id=f"SM{n}")
    return rows


def statuses() -> dict[str, tuple[str, str]]:
    return {r: (s, e) for r, s, e in OutboxMessage.objects.values_list("remote_id", "status", "last_error")}


def test_a_signed_status_callback_moves_the_message_with_the_providers_error(client: Client, twilio: None,
                                                                          sent: list[OutboxMessage]) -> None:
    delivered = twilio_post(client, "status", status("SM1", "delivered"))
    undelivered = twilio_post(client, "status", status("SM2", "undelivered", "30003"))
    on_the_way = twilio_post(client, "status", status("SM3", "sent"))

    assert [r.status_code for r in (delivered, undelivered, on_the_way)] == [200, 200, 200]
    found = statuses()
    assert found["SM1"] == ("delivered", "")
    assert found["SM2"][0] == "undelivered" and found["SM2"][1].startswith("twilio 30003")
    assert found["SM3"] == ("sent", "")  # a state on the way changes nothing
    assert not DeliveryReceipt.objects.exists()  # each found its message: nothing kept


@pytest.mark.parametrize("case", ["unsigned", "wrong token", "tampered", "signed for another URL",
                                  "signed for plain http"])
def test_a_callback_that_fails_validation_is_403_and_changes_nothing(client: Client, twilio: None,
                                                                     sent: list[OutboxMessage], case: str) -> None:
    params = status("SM1", "undelivered", "30003")
    before = snapshot()
    if case == "unsigned":
        response = twilio_post(client, "status", params, signature="")
    elif case == "wrong token":
        response = twilio_post(client, "status", params,
                               signature=twilio_signature(PUBLIC + "/hooks/twilio/status", params, "another-token"))
    elif case == "tampered":  # signed for SM2, sent for SM1
        response = twilio_post(client, "status", status("SM2", "undelivered", "30003"), body=params)
    elif case == "signed for another URL":
        response = twilio_post(client, "status", params, signed_url="https://evil.example/hooks/twilio/status")
    else:
        response = twilio_post(client, "status", params,
                               signed_url=PUBLIC.replace("https:", "http:") + "/hooks/twilio/status")

    assert response.status_code == 403
    assert snapshot() == before


def test_the_same_receipt_twice_changes_nothing_more(client: Client, twilio: None,
                                                      sent: list[OutboxMessage]) -> None:
    assert twilio_post(client, "status", status("SM2", "undelivered", "30005")).status_code == 200
    once = snapshot()

    assert twilio_post(client, "status", status("SM2", "undelivered", "30005")).status_code == 200
    assert twilio_post(client, "status", status("SM2", "failed", "30008")).status_code == 200  # a late, other word

    assert snapshot() == once
    assert statuses()["SM2"][1].startswith("twilio 30005")


def test_a_receipt_saying_the_recipient_opted_out_with_twilio_opts_the_patient_out_once(
        client: Client, twilio: None, sent: list[OutboxMessage]) -> None:
    """A Messaging Service reports 21610 in the status callback, not in the send's answer: the same opt-out as a
    refused send's — the patient's own word, source "provider" — and a retried callback records nothing more."""
    patient = Patient.objects.get(id=sent[1].patient_id)
    assert twilio_post(client, "status", status("SM2", "undelivered", "21610")).status_code == 200
    assert twilio_post(client, "status", status("SM2", "undelivered", "21610")).status_code == 200
    assert twilio_post(client, "status", status("SM3", "undelivered", "30003")).status_code == 200

    patient.refresh_from_db()
    assert patient.accepts_sms is False
    assert list(ConsentEvent.objects.values_list("patient_id", "channel", "accepts", "source")) == [
        (patient.id, "sms", False, "provider")]
    assert statuses()["SM2"][0] == "undelivered" and statuses()["SM2"][1].startswith("twilio 21610")


def test_a_receipt_before_the_result_is_recorded_still_ends_with_its_error(
    client: Client, twilio: None, make_patient: Any, memory_gateway: None
) -> None:
    """The provider's callback overtakes the worker: it is kept, and the worker's record applies it — the status
    and the provider's error. The memory gateway names each message mem-<row id>."""
    for _ in range(4):
        make_patient()
    campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator())
    first, second, *_ = OutboxMessage.objects.order_by("id").values_list("id", flat=True)
    assert twilio_post(client, "status", status(f"mem-{first}", "undelivered", "30006")).status_code == 200
    assert twilio_post(client, "status", status(f"mem-{second}", "delivered")).status_code == 200
    assert DeliveryReceipt.objects.count() == 2  # no message had those ids yet

    stats = worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": "memory:sms"}))

    assert stats.sent == 4
    found = statuses()
    assert found[f"mem-{first}"][0] == "undelivered" and found[f"mem-{first}"][1].startswith("twilio 30006")
    assert found[f"mem-{second}"] == ("delivered", "")
    assert sorted(s for s, _e in found.values()) == ["delivered", "sent", "sent", "undelivered"]


def test_a_21610_receipt_before_the_result_is_recorded_still_opts_the_patient_out_once(
    client: Client, twilio: None, make_patient: Any, memory_gateway: None
) -> None:
    """A Messaging Service's 21610 callback overtakes the worker: no row has its id yet, so the receipt is kept with
    its opt-out, and the worker's record applies both; the sweep after it, finding the receipt again, adds no
    second event."""
    for _ in range(3):
        make_patient()
    campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=Scope.operator())
    first, second, third = OutboxMessage.objects.order_by("id").values_list("id", "patient_id")
    assert twilio_post(client, "status", status(f"mem-{first[0]}", "undelivered", "21610")).status_code == 200
    assert twilio_post(client, "status", status(f"mem-{second[0]}", "undelivered", "30003")).status_code == 200
    assert DeliveryReceipt.objects.filter(opt_out=True).count() == 1 and not ConsentEvent.objects.exists()

    stats = worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": "memory:sms"}))

    assert stats.sent == 3
    found = statuses()
    assert found[f"mem-{first[0]}"][0] == "undelivered" and found[f"mem-{first[0]}"][1].startswith("twilio 21610")
    assert found[f"mem-{second[0]}"][0] == "undelivered"
    events = [(first[1], "sms", False, "provider")]
    assert list(ConsentEvent.objects.values_list("patient_id", "channel", "accepts", "source")) == events
    worker_module._housekeep(WorkerStats(), sweep=True)
    assert list(ConsentEvent.objects.values_list("patient_id", "channel", "accepts", "source")) == events
    assert dict(Patient.objects.values_list("id", "accepts_sms")) == {first[1]: False, second[1]: True,
                                                                      third[1]: True}


@pytest.mark.parametrize("source", ["+37251234567", "37251234567", "51234567", "+372 5123 4567"])
def test_a_stop_reply_from_any_number_format_opts_the_patient_out_once(client: Client, twilio: None,
                                                                       make_patient: Any, source: str) -> None:
    mari = make_patient(phone="5123 4567", phone_e164="+37251234567")
    params = {"MessageSid": "SMreply1", "SmsSid": "SMreply1", "AccountSid": SID, "From": source,
              "To": "+37256000000", "Body": "STOP", "NumMedia": "0"}

    first = twilio_post(client, "inbound", params)
    retried = twilio_post(client, "inbound", params)  # Twilio did not get the first answer in time

    for response in (first, retried):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/xml")
        assert b"<Response></Response>" in response.content
    mari.refresh_from_db()
    assert mari.accepts_sms is False
    assert list(ConsentEvent.objects.values_list("patient_id", "source", "accepts")) == [(mari.id, "sms-stop", False)]
    stored = InboundMessage.objects.get()
    assert (stored.remote_id, stored.source, stored.kind, stored.opted_out) == ("SMreply1", "+37251234567", "stop", 1)


def test_an_unsigned_reply_is_refused(client: Client, twilio: None, make_patient: Any) -> None:
    mari = make_patient(phone="5123 4567", phone_e164="+37251234567")
    params = {"MessageSid": "SMreply2", "From": "+37251234567", "Body": "STOP"}

    assert twilio_post(client, "inbound", params, signature="").status_code == 403

    mari.refresh_from_db()
    assert mari.accepts_sms is True
    assert not InboundMessage.objects.exists() and not ConsentEvent.objects.exists()


def test_messente_reports_and_replies_with_the_right_secret(client: Client, messente: dict[str, str],
                                                             sent: list[OutboxMessage], make_patient: Any) -> None:
    mari = make_patient(phone="5123 4567", phone_e164="+37251234567")
    dlr_path = messente["dlr"].removeprefix(PUBLIC)
    inbound_path = messente["inbound"].removeprefix(PUBLIC)
    assert dlr_path.startswith("/hooks/messente/dlr/") and inbound_path.startswith("/hooks/messente/inbound/")

    delivered = client.post(dlr_path, data=json.dumps({"message_id": "SM1", "status": "DELIVRD", "err": 0}),
                            content_type="application/json")
    failed = client.post(dlr_path, data=json.dumps({"message_id": "SM2", "status": "UNDELIV", "err": 1}),
                         content_type="application/json")
    reply = {"msg_id": "mo-1", "sender": "37251234567", "receiver": "HammasTLN", "text": "Stopp"}
    replied = client.post(inbound_path, data=json.dumps(reply), content_type="application/json")
    again = client.post(inbound_path, data=json.dumps(reply), content_type="application/json")

    assert [r.status_code for r in (delivered, failed, replied, again)] == [200] * 4
    found = statuses()
    assert found["SM1"] == ("delivered", "")
    assert found["SM2"][0] == "undelivered" and found["SM2"][1].startswith("messente")
    mari.refresh_from_db()
    assert mari.accepts_sms is False
    assert ConsentEvent.objects.filter(patient=mari).count() == 1
    assert InboundMessage.objects.get().remote_id == "mo-1"


def test_messente_with_a_wrong_secret_is_403_and_changes_nothing(client: Client, messente: dict[str, str],
                                                                 sent: list[OutboxMessage]) -> None:
    secret = messente["dlr"].rsplit("/", 1)[1]
    before = snapshot()
    body = json.dumps({"message_id": "SM1", "status": "UNDELIV", "err": 1})

    wrong = client.post(f"/hooks/messente/dlr/{'0' * len(secret)}", data=body, content_type="application/json")
    cut = client.post(f"/hooks/messente/dlr/{secret[:-1]}", data=body, content_type="application/json")
    missing = client.post("/hooks/messente/dlr", data=body, content_type="application/json")

    assert [r.status_code for r in (wrong, cut, missing)] == [403, 403, 403]
    assert snapshot() == before


def test_no_webhooks_for_another_provider_or_without_a_public_url(client: Client, settings: Any,
                                                                   sent: list[OutboxMessage]) -> None:
    settings.MASSPOST_SMS_URL, settings.MASSPOST_PUBLIC_URL = TWILIO_URL, PUBLIC
    params = status("SM1", "delivered")
    before = snapshot()

    assert client.post("/hooks/messente/dlr/x", data="{}", content_type="application/json").status_code == 404
    assert client.post("/hooks/nobody/status", data="", content_type=FORM).status_code == 404
    assert twilio_post(client, "no-such-kind", params).status_code == 404
    settings.MASSPOST_PUBLIC_URL = ""
    assert twilio_post(client, "status", params, signed_url=f"{PUBLIC}/hooks/twilio/status").status_code == 404
    settings.MASSPOST_PUBLIC_URL = "ftp://user:password@masspost.clinic.example"  # not usable: as good as none
    assert twilio_post(client, "status", params, signed_url=f"{PUBLIC}/hooks/twilio/status").status_code == 404
    settings.MASSPOST_SMS_URL, settings.MASSPOST_PUBLIC_URL = "smpp://clinic:pw@127.0.0.1:2775", PUBLIC
    assert twilio_post(client, "status", params).status_code == 404

    assert snapshot() == before


def test_only_post(client: Client, twilio: None, sent: list[OutboxMessage]) -> None:
    for path in ("/hooks/twilio/status", "/hooks/twilio/inbound", "/hooks/messente/dlr/abc"):
        assert client.get(path).status_code == 405
        assert client.put(path).status_code == 405


def test_a_body_too_large_is_refused_unread(client: Client, twilio: None, sent: list[OutboxMessage]) -> None:
    before = snapshot()
    response = client.post("/hooks/twilio/status", data="x=" + "a" * (64 * 1024), content_type=FORM)
    assert response.status_code == 413
    assert snapshot() == before


def test_nothing_of_the_body_or_the_secret_is_logged(client: Client, messente: dict[str, str],
                                                     make_patient: Any, caplog: pytest.LogCaptureFixture) -> None:
    make_patient(phone="5123 4567", phone_e164="+37251234567")
    secret = messente["inbound"].rsplit("/", 1)[1]
    reply = {"msg_id": "mo-9", "sender": "+37251234567", "text": "STOP please, Mari Maasikas"}
    with caplog.at_level("DEBUG"), caplog.at_level("DEBUG", logger="masspost"):
        client.post(messente["inbound"].removeprefix(PUBLIC), data=json.dumps(reply), content_type="application/json")
        client.post("/hooks/messente/inbound/" + secret[::-1], data=json.dumps(reply), content_type="application/json")
    logged = caplog.text
    assert "incoming SMS" in logged and "refused" in logged
    for secret_or_data in (secret, secret[::-1], "5123", "Maasikas", "please"):
        assert secret_or_data not in logged


def test_the_workers_sweep_applies_a_kept_receipt_and_its_error_after_a_worker_died(
    client: Client, twilio: None, sent: list[OutboxMessage]
) -> None:
    """A worker that died between recording a message and applying the receipt kept for it (SM1 still `sent`),
    or between applying its status and its error (SM2): another worker's sweep finishes the job."""
    OutboxMessage.objects.filter(remote_id__in=["SM1", "SM2"]).update(status="sending", remote_id="")
    assert twilio_post(client, "status", status("SMx1", "undelivered", "30003")).status_code == 200
    assert twilio_post(client, "status", status("SMx2", "undelivered", "30007")).status_code == 200
    first, second = sent[0].id, sent[1].id
    OutboxMessage.objects.filter(id=first).update(status="sent", remote_id="SMx1")
    OutboxMessage.objects.filter(id=second).update(status="undelivered", remote_id="SMx2")

    worker_module._housekeep(WorkerStats(), sweep=True)

    found = statuses()
    assert found["SMx1"][0] == "undelivered" and found["SMx1"][1].startswith("twilio 30003")
    assert found["SMx2"][0] == "undelivered" and found["SMx2"][1].startswith("twilio 30007")


@pytest.mark.parametrize("left", ["sent", "undelivered"])
def test_the_workers_sweep_records_a_kept_21610_receipts_opt_out_after_a_worker_died(
    client: Client, twilio: None, sent: list[OutboxMessage], left: str
) -> None:
    """A worker that died after recording the message but before applying its kept 21610 receipt (`sent`), or
    after applying the receipt's status but before its opt-out (`undelivered`): the sweep records the opt-out."""
    OutboxMessage.objects.filter(id=sent[0].id).update(status="sending", remote_id="")
    assert twilio_post(client, "status", status("SMx1", "undelivered", "21610")).status_code == 200
    assert not ConsentEvent.objects.exists()
    OutboxMessage.objects.filter(id=sent[0].id).update(status=left, remote_id="SMx1")

    worker_module._housekeep(WorkerStats(), sweep=True)
    worker_module._housekeep(WorkerStats(), sweep=True)  # a second sweep finds the receipt again: nothing more

    assert statuses()["SMx1"][0] == "undelivered"
    assert dict(Patient.objects.values_list("id", "accepts_sms")) == {
        row.patient_id: row.id != sent[0].id for row in sent}
    assert list(ConsentEvent.objects.values_list("patient_id", "source")) == [(sent[0].patient_id, "provider")]


def test_a_signed_callback_reaches_masspost_served_under_a_path_prefix(client: Client, settings: Any,
                                                                      sent: list[OutboxMessage]) -> None:
    """Behind a proxy that mounts masspost at /masspost (SCRIPT_NAME), the public URL has the prefix and Twilio
    signs it once: the URL checked is the public URL and the path within the site."""
    settings.MASSPOST_SMS_URL, settings.MASSPOST_PUBLIC_URL = TWILIO_URL, PUBLIC + "/masspost"
    params = status("SM2", "undelivered", "30003")
    signature = twilio_signature(f"{PUBLIC}/masspost/hooks/twilio/status", params)

    response = client.post("/hooks/twilio/status", data=urlencode(params), content_type=FORM,
                           SCRIPT_NAME="/masspost", HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 200
    assert statuses()["SM2"][0] == "undelivered"


# -- a receipt that settles a message left unknown (its callback URL names it: ?m=<outbox id>) --------------------

LOST = "twilio: no answer within the timeout: the provider may have taken the message; not re-sent by itself"


def left_unknown(row: OutboxMessage, **changes: Any) -> OutboxMessage:
    """`row` as the worker leaves a message whose answer never came: unknown, no remote id, the reason kept."""
    fields = {"status": "unknown", "remote_id": "", "last_error": LOST, **changes}
    OutboxMessage.objects.filter(id=row.id).update(**fields)
    row.refresh_from_db()
    return row


def outcome(row: OutboxMessage) -> tuple[str, str, str]:
    row.refresh_from_db()
    return row.status, row.remote_id, row.last_error


@pytest.mark.parametrize(("said", "ends"), [("delivered", "delivered"), ("undelivered", "undelivered"),
                                            ("sent", "sent")])
def test_a_signed_receipt_naming_an_unknown_message_settles_it(client: Client, twilio: None,
                                                               sent: list[OutboxMessage], said: str, ends: str) -> None:
    """The send's answer was lost, but the provider's signed receipt names the row (`?m=`): the provider took it.
    The row gets the receipt's id and moves on as any receipt moves it; it is not `unknown` any more."""
    row = left_unknown(sent[0])
    query = f"?m={row.id}"
    params = status("SMtaken", said, "30003" if said == "undelivered" else "")

    response = twilio_post(client, "status", params, signed_url=f"{PUBLIC}/hooks/twilio/status{query}", query=query)

    assert response.status_code == 200
    found, remote_id, error = outcome(row)
    assert (found, remote_id) == (ends, "SMtaken")
    if ends == "undelivered":
        assert error.startswith("twilio 30003"), error  # the provider's error, as for any undelivered message
    else:
        assert error == f"{SETTLED_NOTE} (unknown before: {LOST})"
    counts = outbox_status_counts(campaign_id=row.campaign_id)
    assert (counts["unknown"], counts[ends]) == (0, 1 + (2 if ends == "sent" else 0))
    assert not DeliveryReceipt.objects.exists()  # it found its message: nothing kept
    again = snapshot()
    assert twilio_post(client, "status", params, signed_url=f"{PUBLIC}/hooks/twilio/status{query}",
                       query=query).status_code == 200  # Twilio retries: nothing more changes
    assert snapshot() == again


@pytest.mark.parametrize("case", ["unsigned", "signed for another message", "signed without the id",
                                  "wrong token", "tampered"])
def test_a_receipt_naming_an_unknown_message_that_fails_validation_changes_nothing(
        client: Client, twilio: None, sent: list[OutboxMessage], case: str) -> None:
    row = left_unknown(sent[0])
    query = f"?m={row.id}"
    params = status("SMtaken", "delivered")
    url = f"{PUBLIC}/hooks/twilio/status"
    before = snapshot()
    if case == "unsigned":
        response = twilio_post(client, "status", params, signature="", query=query)
    elif case == "signed for another message":
        response = twilio_post(client, "status", params, signed_url=f"{url}?m={sent[1].id}", query=query)
    elif case == "signed without the id":
        response = twilio_post(client, "status", params, signed_url=url, query=query)
    elif case == "wrong token":
        response = twilio_post(client, "status", params, query=query,
                               signature=twilio_signature(url + query, params, "another-token"))
    else:  # signed for a message on the way, sent as delivered
        response = twilio_post(client, "status", status("SMtaken", "sent"), body=params, signed_url=url + query,
                               query=query)

    assert response.status_code == 403
    assert snapshot() == before
    assert outcome(row) == ("unknown", "", LOST)


@pytest.mark.parametrize("state", ["sent", "failed", "sending", "queued", "delivered", "email", "has a remote id"])
def test_a_receipt_naming_a_message_that_is_not_an_unknown_sms_changes_nothing_beyond_the_usual(
        client: Client, twilio: None, sent: list[OutboxMessage], state: str) -> None:
    """Only an SMS row still `unknown` with no remote id is settled. A `sending` row is its worker's: the receipt
    is kept and applied the existing way when the worker records it. Any other is what a receipt for an id no row
    has would find: nothing (the receipt is kept, as one for a message not recorded yet)."""
    row = sent[0]
    if state == "email":
        left_unknown(row, channel="email")
    elif state == "has a remote id":
        left_unknown(row, remote_id="SMearlier")
    elif state != "sent":
        OutboxMessage.objects.filter(id=row.id).update(status=state, remote_id="", last_error="")
    before = outcome(row)
    query = f"?m={row.id}"

    response = twilio_post(client, "status", status("SMtaken", "delivered"),
                           signed_url=f"{PUBLIC}/hooks/twilio/status{query}", query=query)

    assert response.status_code == 200
    assert outcome(row) == before
    assert list(DeliveryReceipt.objects.values_list("remote_id", "status")) == [("SMtaken", "delivered")]


def test_a_receipt_naming_an_unknown_message_with_another_messages_id_leaves_it_unknown(
        client: Client, twilio: None, sent: list[OutboxMessage]) -> None:
    """A remote id is one message's: a receipt whose id another row already has moves that row as usual, and the
    row its URL names stays unknown (two rows never share an id)."""
    row = left_unknown(sent[0])
    query = f"?m={row.id}"

    response = twilio_post(client, "status", status("SM2", "delivered"),
                           signed_url=f"{PUBLIC}/hooks/twilio/status{query}", query=query)

    assert response.status_code == 200
    assert outcome(row) == ("unknown", "", LOST)
    assert statuses()["SM2"] == ("delivered", "")


def test_a_messente_report_with_the_secret_settles_the_unknown_message_its_url_names(
        client: Client, messente: dict[str, str], sent: list[OutboxMessage]) -> None:
    row = left_unknown(sent[0], last_error="messente: the provider answered 502")
    other = left_unknown(sent[1])
    dlr_path = messente["dlr"].removeprefix(PUBLIC)
    secret = dlr_path.rsplit("/", 1)[1]
    report = json.dumps({"message_id": "msg-taken", "status": "DELIVRD", "err": 0})

    wrong = client.post(f"/hooks/messente/dlr/{'0' * len(secret)}?m={other.id}", data=report,
                        content_type="application/json")
    assert wrong.status_code == 403
    assert outcome(other) == ("unknown", "", LOST)
    right = client.post(f"{dlr_path}?m={row.id}", data=report, content_type="application/json")

    assert right.status_code == 200
    assert outcome(row) == ("delivered", "msg-taken",
                            f"{SETTLED_NOTE} (unknown before: messente: the provider answered 502)")
    assert outcome(other) == ("unknown", "", LOST)
    # Another report naming a message that was sent: the usual, nothing more.
    sent_row = sent[2]
    before = outcome(sent_row)
    assert client.post(f"{dlr_path}?m={sent_row.id}", data=json.dumps({"message_id": "msg-x", "status": "DELIVRD"}),
                       content_type="application/json").status_code == 200
    assert outcome(sent_row) == before
    assert outbox_status_counts(campaign_id=row.campaign_id)["unknown"] == 1
