"""What the worker does with an HTTP provider's words beyond accepted / failed: a refusal because the recipient
opted out with the provider (Twilio 21610) records the patient's SMS opt-out — source "provider", once — so the next
preview leaves them out, their queued SMS are suppressed, and an import does not switch it back on; a provider's
Retry-After rests the channel at least that long; the worker hands an HTTP provider's gateway MASSPOST_PUBLIC_URL,
and a bad one stops that SMS channel — never another SMS gateway's, which does not use it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.importer import import_file
from masspost.clinic.models import PATIENT_OWN_SOURCES, Clinic, ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.delivery import worker as worker_module
from masspost.delivery.gateways.base import SendResult
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import OutboxMessage
from masspost.delivery.pipeline import CHANNEL_BACKOFF_MAX, ChannelState
from masspost.delivery.ratelimit import RateLimiter
from masspost.delivery.webhooks import public_url
from masspost.delivery.worker import GatewayConfig, worker_run
from masspost.errors import GatewayConfigError
from masspost.web.consent_words import PATIENT_OPT_OUT, SOURCES
from tests.clinic.importing import patient_row, patients_file
from tests.conftest import campaign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("memory_gateway")]
OPERATOR = Scope.operator()
MEMORY = GatewayConfig(urls={"sms": "memory:sms"})
UNSUBSCRIBED = SendResult.permanent("twilio 21610: Attempt to send to unsubscribed recipient", opt_out=True)


def send(name: str = "Recall") -> int:
    return campaign_send(spec=CampaignSpec.from_dict(campaign(name=name)), scope=OPERATOR).campaign_id


def sms_opted_out_in_preview() -> int:
    preview = campaign_preview(spec=CampaignSpec.from_dict(campaign(name="Next")), scope=OPERATOR).to_dict()
    return int(preview["excluded"]["sms"]["opted_out"])


def test_a_provider_opt_out_is_the_patients_own_and_the_next_preview_leaves_them_out(make_patient: Any) -> None:
    mari, _jaan = make_patient(), make_patient()
    send()
    MemoryGateway.script("sms", UNSUBSCRIBED)  # the first message (Mari's) is refused with 21610

    stats = worker_run(until_idle=True, gateways=MEMORY)

    assert (stats.sent, stats.failed) == (1, 1)
    failed = OutboxMessage.objects.get(patient=mari)
    assert (failed.status, failed.last_error) == ("failed", UNSUBSCRIBED.error)
    mari.refresh_from_db()
    assert mari.accepts_sms is False
    assert list(ConsentEvent.objects.values_list("patient_id", "channel", "accepts", "source")) == [
        (mari.id, "sms", False, "provider")]
    assert sms_opted_out_in_preview() == 1


def test_the_opt_out_is_recorded_once_however_many_messages_the_provider_refuses(make_patient: Any) -> None:
    mari = make_patient()
    send("One"), send("Two")  # two messages to Mari, both queued before the first is refused
    MemoryGateway.script("sms", UNSUBSCRIBED, UNSUBSCRIBED)

    assert worker_run(until_idle=True, gateways=MEMORY).failed == 2

    assert ConsentEvent.objects.filter(patient=mari, source="provider").count() == 1


def test_a_provider_opt_out_suppresses_the_patients_other_queued_sms(make_patient: Any) -> None:
    """One message at a time (a group of one): the refusal of the first records the opt-out, and Mari's next
    messages are suppressed — never handed to the provider to be refused again; Jaan's go."""
    mari, jaan = make_patient(), make_patient()
    for name in ("One", "Two", "Three"):
        send(name)
    MemoryGateway.script("sms", UNSUBSCRIBED)  # the first message claimed (Mari's, of "One") is refused

    stats = worker_run(until_idle=True, gateways=GatewayConfig(urls={"sms": "memory:sms"}, group=1))

    assert (stats.sent, stats.failed) == (3, 1)
    rows = sorted(OutboxMessage.objects.filter(patient=mari).values_list("id", "status", "last_error"))
    assert [(status, error) for _, status, error in rows] == [
        ("failed", UNSUBSCRIBED.error), ("suppressed", "provider"), ("suppressed", "provider")]
    assert set(OutboxMessage.objects.filter(patient=jaan).values_list("status", flat=True)) == {"sent"}
    assert [m.patient_ref for m in MemoryGateway.outboxes["sms"]] == [jaan.external_id] * 3  # Mari's: refused
    assert list(ConsentEvent.objects.values_list("patient_id", "channel", "purpose", "accepts", "source")) == [
        (mari.id, "sms", "service", False, "provider")]


def test_a_plain_permanent_error_changes_no_consent(make_patient: Any) -> None:
    mari = make_patient()
    send()
    MemoryGateway.script("sms", SendResult.permanent("twilio 21211: Invalid 'To' Phone Number"))

    assert worker_run(until_idle=True, gateways=MEMORY).failed == 1

    mari.refresh_from_db()
    assert mari.accepts_sms is True and not ConsentEvent.objects.exists()


def test_an_import_never_switches_a_provider_opt_out_back_on(tmp_path: Path, clinic: Clinic) -> None:
    def import_patient(name: str) -> None:
        report = import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1")], name))
        assert report.written and report.errors == []

    import_patient("first.csv")
    send()
    MemoryGateway.script("sms", UNSUBSCRIBED)
    worker_run(until_idle=True, gateways=MEMORY)
    import_patient("again.csv")  # the clinic's system still says accepts_sms=true

    assert Patient.objects.get(external_id="P1").accepts_sms is False
    assert "provider" in PATIENT_OWN_SOURCES


def test_the_source_has_words_in_every_language() -> None:
    english = (str(SOURCES["provider"]), str(PATIENT_OPT_OUT["provider"]))
    for lang in ("et", "ru"):
        with translation.override(lang):
            words = (str(SOURCES["provider"]), str(PATIENT_OPT_OUT["provider"]) % {"date": "7.12.2026"})
        assert words[0] != english[0] and "7.12.2026" in words[1]
    assert set(PATIENT_OPT_OUT) == set(PATIENT_OWN_SOURCES)  # every own opt-out has its sentence


def channel() -> ChannelState:
    return ChannelState(name="sms", gateway=MemoryGateway("sms"), limiter=RateLimiter(name="t", per_second=0),
                        window=10)


def rest_of(state: ChannelState) -> float:
    return state.resume_at - time.monotonic()


def test_a_providers_retry_after_rests_the_channel_at_least_that_long() -> None:
    asked = channel()
    asked.adjust([SendResult.accepted("a"), SendResult.transient("twilio HTTP 429", retry_after=120.0)])
    plain = channel()
    plain.adjust([SendResult.transient("twilio HTTP 503")])
    shorter = channel()
    shorter.backoff = CHANNEL_BACKOFF_MAX
    shorter.adjust([SendResult.transient("twilio HTTP 429", retry_after=0.5)])
    absurd = channel()
    absurd.adjust([SendResult.transient("twilio HTTP 429", retry_after=10.0 ** 9)])

    assert 119.0 < rest_of(asked) <= 120.5 and asked.group == 1 and asked.resting()
    assert rest_of(plain) <= 1.3  # the channel's own back-off: 1 s, ±20 %
    assert rest_of(shorter) >= 0.8 * CHANNEL_BACKOFF_MAX  # a shorter Retry-After never shortens the back-off
    assert 3590 < rest_of(absurd) <= 3600.5  # at most an hour


TWILIO = GatewayConfig(urls={"sms": "twilio://AC" + "0" * 32 + ":test-token@api.twilio.com"})


@pytest.mark.parametrize("gateways", [TWILIO, MEMORY], ids=["twilio", "memory"])
def test_the_worker_gives_only_an_http_providers_gateway_the_public_url(
        settings: Any, monkeypatch: pytest.MonkeyPatch, make_patient: Any, gateways: GatewayConfig) -> None:
    make_patient()
    send()
    given: dict[str, str] = {}
    real = worker_module.gateway_from_url

    def spy(url: str, **hooks: Any) -> Any:
        given[url] = hooks.get("public_url", "missing")
        return real("memory:sms", **hooks)  # the provider's messages go to memory: nothing leaves the machine

    monkeypatch.setattr(worker_module, "gateway_from_url", spy)
    settings.MASSPOST_PUBLIC_URL = "https://masspost.clinic.example"

    worker_run(until_idle=True, gateways=gateways)

    url = gateways.urls["sms"]
    assert given == {url: "https://masspost.clinic.example" if url.startswith("twilio") else ""}
    assert len(MemoryGateway.outboxes["sms"]) == 1


BAD_PUBLIC_URLS = ["masspost.clinic.example", "ftp://masspost.clinic.example",
                   "https://user:secret-pw@masspost.clinic.example", "https://masspost.example/?a=1", "https://",
                   "http://masspost.clinic.example", "http://127.0.0.1.evil.example", "http://localhost./hooks"]


@pytest.mark.parametrize("value", BAD_PUBLIC_URLS)
def test_a_public_url_that_is_not_one_stops_an_http_providers_sms_channel(settings: Any, make_patient: Any,
                                                                           value: str) -> None:
    make_patient()
    send()
    settings.MASSPOST_PUBLIC_URL = value

    with pytest.raises(GatewayConfigError, match="MASSPOST_PUBLIC_URL") as raised:
        worker_run(until_idle=True, gateways=TWILIO)

    assert "secret-pw" not in str(raised.value) and "clinic.example" not in str(raised.value)
    assert "evil" not in str(raised.value)
    assert OutboxMessage.objects.get().status == "queued"  # nothing claimed


@pytest.mark.parametrize("value", ["masspost.clinic.example", "https://user:secret-pw@masspost.clinic.example",
                                   "http://masspost.clinic.example"])
def test_a_bad_public_url_never_stops_an_sms_gateway_that_does_not_use_it(settings: Any, make_patient: Any,
                                                                           value: str) -> None:
    make_patient()
    send()
    settings.MASSPOST_PUBLIC_URL = value

    stats = worker_run(until_idle=True, gateways=MEMORY)

    assert stats.sent == 1 and not stats.stopped
    assert OutboxMessage.objects.get().status == "sent"


@pytest.mark.parametrize(("value", "used"), [
    ("", ""), ("https://masspost.clinic.example/", "https://masspost.clinic.example"),
    ("http://127.0.0.1:8000/masspost", "http://127.0.0.1:8000/masspost"),
    ("http://127.3.4.5", "http://127.3.4.5"), ("http://[::1]:8000", "http://[::1]:8000"),
    ("http://LocalHost:8000/", "http://LocalHost:8000")])
def test_the_public_url_as_used(settings: Any, value: str, used: str) -> None:
    settings.MASSPOST_PUBLIC_URL = value
    assert public_url() == used
