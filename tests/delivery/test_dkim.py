"""DKIM: e-mails sent through the SMTP gateway to a real SMTP server (aiosmtpd on loopback) carry a signature that
dkimpy verifies against the TXT record masspost tells the operator to publish — with the installation's key and
with a clinic's own — over the headers a receiver relies on; a key that cannot be used stops the channel naming
its setting, and without a key nothing is signed.

Test keys are made at test time (with `cryptography`, which the test dependencies bring): no key is committed."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command

from masspost.clinic.models import Clinic
from masspost.delivery.dkim import DkimSigner, dns_records, email_signer, installation_key, key_from_pem
from masspost.delivery.gateways.base import Channel, Outcome, OutgoingMessage
from masspost.delivery.gateways.smtp import SMTPGateway, from_url
from masspost.delivery.setup import gateway_check
from masspost.errors import GatewayConfigError
from tests.peers.smtp_server import SMTPPeer

UNSUBSCRIBE = "<https://masspost.example/u/Ab3dE5gH7jK9>, <mailto:unsubscribe@hammas.example?subject=unsubscribe>"


def make_pem(*, pkcs8: bool = True, bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    form = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()).decode("ascii")


@pytest.fixture(scope="module")
def pems() -> dict[str, str]:
    return {"installation": make_pem(), "clinic": make_pem(pkcs8=False)}


@pytest.fixture
def key_file(tmp_path: Path, pems: dict[str, str], settings: Any) -> Path:
    """The installation's key, configured as an operator does."""
    path = tmp_path / "dkim.pem"
    path.write_text(pems["installation"])
    settings.MASSPOST_DKIM_SELECTOR = "mp2026"
    settings.MASSPOST_DKIM_KEY_FILE = str(path)
    return path


@pytest.fixture
def no_installation_key(settings: Any) -> None:
    settings.MASSPOST_DKIM_SELECTOR = ""
    settings.MASSPOST_DKIM_KEY_FILE = ""


def email(clinic: Clinic | None = None, **overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "message_id": 41, "campaign_id": 7, "patient_ref": "P-0001", "channel": Channel.EMAIL,
        "to": "mari.maasikas@example.ee", "language": "et", "text": "Tere, Mari!\nTeie visiit: 12.01 — õhtul.\n",
        "subject": "Meeldetuletus: hambaarst ÕÄÖÜ", "sender": clinic.email if clinic else "info@kliinik.ee",
        "sender_name": clinic.name if clinic else "Hambakliinik Õun", "clinic_id": clinic.pk if clinic else None,
    }
    values.update(overrides)
    return OutgoingMessage(**values)


@pytest.fixture
def send(smtp_server: SMTPPeer) -> Iterator[Callable[..., bytes]]:
    """Send messages through an SMTP gateway with the signer the worker would build now; the raw e-mails the
    server received."""
    opened: list[SMTPGateway] = []

    def go(*messages: OutgoingMessage, signer: DkimSigner | None | str = "worker") -> list[bytes]:
        url = f"smtp://{smtp_server.host}:{smtp_server.port}?timeout=5"
        gateway = from_url(url, dkim=email_signer(url) if signer == "worker" else signer)  # type: ignore[arg-type]
        opened.append(gateway)
        gateway.open()
        before = len(smtp_server.received)
        for message in messages:
            result = gateway.send(message)
            assert result.outcome is Outcome.ACCEPTED, result.error
        return [mail.raw for mail in smtp_server.wait_for_messages(before + len(messages))[before:]]

    yield go  # type: ignore[misc]
    for gateway in opened:
        gateway.close()


def published() -> Callable[..., bytes | None]:
    """dkimpy's DNS look-up answered from the records `dns_records` tells the operator to publish."""
    zone = {record.name: record.value.encode("ascii") for record in dns_records()}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return zone.get(name.decode("ascii").rstrip("."))

    return lookup


def signature_tags(raw: bytes) -> dict[str, str]:
    header = re.search(rb"^DKIM-Signature:(.*?)\r\n(?![ \t])", raw, re.MULTILINE | re.DOTALL)
    assert header is not None, "no DKIM-Signature header"
    text = re.sub(r"\s+", "", header.group(1).decode("ascii"))
    return dict(tag.split("=", 1) for tag in text.split(";") if tag)


def signed_headers(raw: bytes) -> set[str]:
    return set(signature_tags(raw)["h"].lower().split(":"))


@pytest.mark.django_db
def test_the_installations_key_signs_and_the_published_record_verifies(
    send: Callable[..., list[bytes]], key_file: Path, clinic: Clinic
) -> None:
    [raw] = send(email(clinic))

    tags = signature_tags(raw)
    assert (tags["d"], tags["s"], tags["a"], tags["c"]) == ("hammas.example", "mp2026", "rsa-sha256",
                                                           "relaxed/relaxed")
    assert {"from", "to", "subject", "date", "message-id"} <= signed_headers(raw)
    assert dkim.verify(raw, dnsfunc=published())
    [record] = dns_records()
    assert record.line().startswith('mp2026._domainkey.hammas.example TXT "v=DKIM1; k=rsa; p=MII')


@pytest.mark.django_db
def test_a_clinics_own_key_overrides_the_installations(
    send: Callable[..., list[bytes]], key_file: Path, clinic: Clinic, other_clinic: Clinic, pems: dict[str, str]
) -> None:
    other_clinic.email = "info@tartu-hammas.example"
    other_clinic.dkim_selector, other_clinic.dkim_key = "tartu.2026", pems["clinic"]
    other_clinic.save()

    own, shared = send(email(other_clinic), email(clinic))

    assert (signature_tags(own)["s"], signature_tags(own)["d"]) == ("tartu.2026", "tartu-hammas.example")
    assert (signature_tags(shared)["s"], signature_tags(shared)["d"]) == ("mp2026", "hammas.example")
    assert dkim.verify(own, dnsfunc=published())
    assert dkim.verify(shared, dnsfunc=published())
    # Signed with the clinic's key, not the installation's: the installation's record does not verify it.
    installation = next(r for r in dns_records() if not r.clinic).value.encode("ascii")
    assert not dkim.verify(own, dnsfunc=lambda name, timeout=5: installation)


@pytest.mark.django_db
def test_list_unsubscribe_headers_are_signed_when_present(
    send: Callable[..., list[bytes]], key_file: Path, clinic: Clinic
) -> None:
    [raw] = send(email(clinic, marketing=True, list_unsubscribe=UNSUBSCRIBE))

    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert signed_headers(raw) == {"from", "to", "subject", "date", "message-id", "list-unsubscribe",
                                   "list-unsubscribe-post"}
    assert dkim.verify(raw, dnsfunc=published())
    # Swapping the unsubscribe link breaks the signature: a receiver can trust the one it shows.
    assert not dkim.verify(raw.replace(b"masspost.example/u/", b"evil.example/u/"), dnsfunc=published())


@pytest.mark.django_db
def test_a_subject_changed_after_signing_fails_verification(
    send: Callable[..., list[bytes]], key_file: Path, clinic: Clinic
) -> None:
    [raw] = send(email(clinic, subject="Meeldetuletus"))
    assert dkim.verify(raw, dnsfunc=published())

    tampered = raw.replace(b"\r\nSubject: Meeldetuletus\r\n", b"\r\nSubject: Meeldetuletus!\r\n")

    assert tampered != raw
    assert not dkim.verify(tampered, dnsfunc=published())


@pytest.mark.django_db
def test_without_a_key_nothing_is_signed(
    send: Callable[..., list[bytes]], no_installation_key: None, clinic: Clinic
) -> None:
    url = "smtp://127.0.0.1:25"
    assert email_signer(url) is None

    [raw] = send(email(clinic))

    assert b"DKIM-Signature" not in raw
    assert dns_records() == []


@pytest.mark.django_db
def test_only_a_clinic_with_its_own_key_signs_when_the_installation_has_none(
    send: Callable[..., list[bytes]], no_installation_key: None, clinic: Clinic, other_clinic: Clinic,
    pems: dict[str, str]
) -> None:
    other_clinic.dkim_selector, other_clinic.dkim_key = "sel1", pems["clinic"]
    other_clinic.save()

    own, unsigned = send(email(other_clinic), email(clinic))

    assert dkim.verify(own, dnsfunc=published())
    assert b"DKIM-Signature" not in unsigned


@pytest.mark.parametrize(("content", "why"), [
    ("not a key at all\n", "not a PEM RSA private key"),
    ("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n", "not a PEM RSA private key"),
    (None, "cannot be read"),
])
def test_a_bad_key_file_is_a_configuration_error_naming_the_setting(
    tmp_path: Path, settings: Any, content: str | None, why: str
) -> None:
    path = tmp_path / "dkim.pem"
    if content is not None:
        path.write_text(content)
    settings.MASSPOST_DKIM_SELECTOR, settings.MASSPOST_DKIM_KEY_FILE = "mp2026", str(path)

    with pytest.raises(GatewayConfigError, match="MASSPOST_DKIM_KEY_FILE") as raised:
        installation_key()

    assert why in str(raised.value)
    if content is not None:
        assert content.strip().splitlines()[-1] not in str(raised.value)  # the key's text is never echoed


def test_one_dkim_setting_without_the_other_is_a_configuration_error(settings: Any, key_file: Path) -> None:
    settings.MASSPOST_DKIM_SELECTOR = ""
    with pytest.raises(GatewayConfigError, match="MASSPOST_DKIM_KEY_FILE is set but MASSPOST_DKIM_SELECTOR"):
        installation_key()
    settings.MASSPOST_DKIM_SELECTOR, settings.MASSPOST_DKIM_KEY_FILE = "mp2026", ""
    with pytest.raises(GatewayConfigError, match="MASSPOST_DKIM_SELECTOR is set but MASSPOST_DKIM_KEY_FILE"):
        installation_key()


def test_a_small_or_encrypted_key_is_refused_without_echoing_it() -> None:
    if shutil.which("openssl"):  # `cryptography` makes no key under 1024 bits
        small = subprocess.run(["openssl", "genrsa", "768"], capture_output=True, text=True, check=True).stdout
        with pytest.raises(ValueError, match="768 bits"):
            key_from_pem("s", small)
    encrypted = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")).decode("ascii")
    with pytest.raises(ValueError, match="encrypted") as raised:
        key_from_pem("s", encrypted)
    assert encrypted.splitlines()[1] not in str(raised.value)


@pytest.mark.django_db
def test_the_worker_stops_the_email_channel_for_a_key_file_it_cannot_read(tmp_path: Path, settings: Any) -> None:
    settings.MASSPOST_DKIM_SELECTOR, settings.MASSPOST_DKIM_KEY_FILE = "mp2026", str(tmp_path / "missing.pem")

    with pytest.raises(GatewayConfigError, match="MASSPOST_DKIM_KEY_FILE"):
        email_signer("smtp://127.0.0.1:25")
    assert email_signer("file:///tmp/outbox.jsonl") is None  # a gateway that does not send e-mails signs nothing

    [_sms, mail] = gateway_check(sms_url="console:", email_url="smtp://127.0.0.1:1")
    assert (mail.status, mail.setting) == ("refused", "MASSPOST_DKIM_KEY_FILE")


@pytest.mark.django_db
def test_gateway_dkim_prints_a_txt_record_that_verifies(
    send: Callable[..., list[bytes]], key_file: Path, clinic: Clinic, other_clinic: Clinic, pems: dict[str, str]
) -> None:
    other_clinic.dkim_selector, other_clinic.dkim_key = "sel1", pems["clinic"]
    other_clinic.save()
    own, shared = send(email(other_clinic), email(clinic))

    out = io.StringIO()
    call_command("gateway", "dkim", stdout=out)
    lines = out.getvalue().splitlines()
    only = io.StringIO()
    call_command("gateway", "dkim", "--clinic", "TRT", stdout=only)

    assert only.getvalue().splitlines() == ['sel1._domainkey.hammas.example TXT "'
                                            + key_from_pem("sel1", pems["clinic"]).txt_value() + '"']
    zone = {}
    for line in lines:
        name, kind, value = re.fullmatch(r'(\S+) (TXT) "(.*)"', line).groups()  # type: ignore[union-attr]
        zone[name] = value.encode("ascii")
    assert set(zone) == {"mp2026._domainkey.hammas.example", "sel1._domainkey.hammas.example"}
    for raw in (own, shared):
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: zone.get(name.decode().rstrip(".")))
    assert "PRIVATE" not in out.getvalue()


def test_openssls_rsa_step_signs_exactly_as_dkimpys_own(pems: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With `cryptography` installed the RSA step is OpenSSL's (dkimpy's pure Python took 7–9 ms an e-mail): the
    same signature, byte for byte, as dkimpy's own."""
    monkeypatch.setattr(dkim.time, "time", lambda: 1_796_000_000)  # the t= tag: the same for both
    key = key_from_pem("mp2026", pems["installation"])
    assert key.native is not None
    message = (b"From: info@kliinik.ee\r\nTo: mari@example.ee\r\nSubject: Tere\r\n"
               b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@kliinik.ee>\r\n\r\nTere!\r\n")

    fast = DkimSigner(default=key).sign(message, clinic_id=None, from_domain="kliinik.ee")
    pure = DkimSigner(default=dataclasses.replace(key, native=None)).sign(message, clinic_id=None,
                                                                          from_domain="kliinik.ee")

    assert fast == pure
    assert dkim.verify(fast, dnsfunc=lambda name, timeout=5: key.txt_value().encode("ascii"))


@pytest.mark.django_db
def test_the_worker_signs_each_clinics_emails_with_its_key(
    smtp_server: SMTPPeer, key_file: Path, clinic: Clinic, other_clinic: Clinic, make_patient: Any,
    pems: dict[str, str]
) -> None:
    """A campaign to two clinics' patients through `worker_run` and the SMTP peer: the clinic with its own key
    signs with it, the other with the installation's; both verify against the records `gateway dkim` prints."""
    from masspost.campaigns.services import campaign_send
    from masspost.campaigns.spec import CampaignSpec
    from masspost.clinic.scope import Scope
    from masspost.delivery.worker import GatewayConfig, worker_run
    from tests.conftest import campaign

    other_clinic.email, other_clinic.dkim_selector, other_clinic.dkim_key = "info@tartu.example", "t1", pems["clinic"]
    other_clinic.save()
    make_patient()
    make_patient(clinic=other_clinic)
    content = {lang: {"email_subject": "Meeldetuletus", "email_body": "Tere {first_name}!"}
               for lang in ("et", "ru", "en")}
    campaign_send(spec=CampaignSpec.from_dict(campaign(channel="email", content=content)), scope=Scope.operator())

    url = f"smtp://{smtp_server.host}:{smtp_server.port}?timeout=5"
    stats = worker_run(until_idle=True, gateways=GatewayConfig(urls={"email": url}))

    assert stats.sent == 2
    mails = smtp_server.wait_for_messages(2)
    signed_by = {(signature_tags(m.raw)["s"], signature_tags(m.raw)["d"]) for m in mails}
    assert signed_by == {("mp2026", "hammas.example"), ("t1", "tartu.example")}
    assert all(dkim.verify(m.raw, dnsfunc=published()) for m in mails)
