"""`masspost gateway check` against real peers on loopback: an SMTP server with AUTH behind STARTTLS, an SMSC
that binds and one that refuses the password, Twilio's and Messente's APIs (tests/peers). Right credentials
exit 0 and say "ok"; wrong ones exit non-zero with one line naming the setting to fix; nothing is ever sent, and
no password reaches the output. Through the real command line (a subprocess), as an operator runs it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest

from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.smpp_pdu import ESME_RX_T_APPN
from masspost.delivery.gateways.smpp_receipts import deliver, deliver_many
from masspost.delivery.setup import PUBLIC_URL_NEEDED, WEBHOOKS_LATER, _RefusingHooks, gateway_check
from tests.peers.messente_api import PASSWORD as MESSENTE_PASSWORD
from tests.peers.messente_api import USERNAME as MESSENTE_USER
from tests.peers.messente_api import MessentePeer
from tests.peers.net import LOOPBACK, TestCertificates, free_port, make_certificates
from tests.peers.refusing_smsc import BindRefusingSMSC
from tests.peers.smsc import SMSCPeer
from tests.peers.smtp_server import SMTPPeer
from tests.peers.twilio_api import ACCOUNT_SID, AUTH_TOKEN, TwilioPeer

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "clinic", "Pw-7f3kQ secret"  # a space: percent-encoded in the URL
WRONG = "Wr0ng-9zXq"
SECRETS = (PASSWORD, quote(PASSWORD), WRONG, AUTH_TOKEN, MESSENTE_PASSWORD)
UNSET = ("DATABASE_URL", "MASSPOST_SMS_URL", "MASSPOST_EMAIL_URL", "MASSPOST_PUBLIC_URL", "MASSPOST_LOG_LEVEL")


def check(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`masspost gateway check ARGS` with no gateway or public URL from the caller's environment."""
    environment = {k: v for k, v in os.environ.items() if k not in UNSET}
    environment.update(MASSPOST_DATA_DIR=str(data_dir), **(env or {}))
    result = subprocess.run([sys.executable, "-m", "masspost", "gateway", "check", *args], env=environment, cwd=ROOT,
                            capture_output=True, stdin=subprocess.DEVNULL, text=True, timeout=60)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    return result


def failed_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def line_of(result: subprocess.CompletedProcess[str], channel: str) -> str:
    """The first output line about `channel` ("SMS" or "e-mail")."""
    return next(line for line in result.stdout.splitlines() if line.startswith(f"{channel} gateway"))


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(certificates: TestCertificates) -> Iterator[SMTPPeer]:
    server = SMTPPeer.start(tls=certificates, starttls=True, users={USER: PASSWORD})
    yield server
    server.stop()


@pytest.fixture
def smsc() -> Iterator[SMSCPeer]:
    peer = SMSCPeer.start()
    yield peer
    peer.stop()


def smtp_url(server: SMTPPeer, certificates: TestCertificates, password: str = PASSWORD) -> str:
    return (f"smtp://{USER}:{quote(password)}@{server.host}:{server.port}"
            f"?starttls=1&cafile={certificates.ca_file}&timeout=5")


def smpp_url(host: str, port: int, password: str = PASSWORD) -> str:
    return f"smpp://{USER}:{quote(password)}@{host}:{port}?timeout=5"


def closed_port() -> int:
    return free_port()  # nothing listens on it: the connection is refused


# --- SMTP ----------------------------------------------------------------------------------------------------

def test_smtp_with_the_right_password_is_ok_and_sends_nothing(tmp_path: Path, smtp: SMTPPeer,
                                                              certificates: TestCertificates) -> None:
    result = check(tmp_path, "--email-url", smtp_url(smtp, certificates))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    line = line_of(result, "e-mail")
    assert line.startswith("e-mail gateway (smtp): ok: ") and "logged in" in line and "TLS" in line
    assert USER not in result.stdout  # a user name is a credential too
    assert [ok for _mechanism, ok in smtp.auth_attempts] == [True]
    assert smtp.received == []


def test_smtp_with_a_wrong_password_is_refused_in_one_line(tmp_path: Path, smtp: SMTPPeer,
                                                           certificates: TestCertificates) -> None:
    result = check(tmp_path, "--email-url", smtp_url(smtp, certificates, password=WRONG))
    assert failed_line(result) == "CommandError: the e-mail gateway refused: fix MASSPOST_EMAIL_URL"
    line = line_of(result, "e-mail")
    assert line.startswith("e-mail gateway (smtp): refused: ") and "AUTH rejected" in line
    assert "check the user name and password" in line
    # One login (smtplib tries each mechanism the server offers in it), not retried.
    assert smtp.auth_attempts and not any(ok for _mechanism, ok in smtp.auth_attempts)
    assert len({mechanism for mechanism, _ok in smtp.auth_attempts}) == len(smtp.auth_attempts)
    assert smtp.received == []


def test_an_smtp_certificate_not_trusted_is_refused_before_the_password_is_sent(tmp_path: Path,
                                                                                  smtp: SMTPPeer) -> None:
    url = f"smtp://{USER}:{quote(PASSWORD)}@{smtp.host}:{smtp.port}?starttls=1&timeout=5"  # no cafile=
    result = check(tmp_path, "--email-url", url)
    assert failed_line(result) == "CommandError: the e-mail gateway refused: fix MASSPOST_EMAIL_URL"
    assert "TLS certificate is not trusted" in line_of(result, "e-mail")
    assert smtp.auth_attempts == []


def test_an_smtp_server_not_there_is_unreachable(tmp_path: Path, certificates: TestCertificates) -> None:
    url = f"smtp://{USER}:{quote(PASSWORD)}@{LOOPBACK}:{closed_port()}?starttls=1&timeout=5"
    result = check(tmp_path, "--email-url", url)
    assert failed_line(result) == "CommandError: the e-mail gateway is unreachable: try again once it can be reached"
    line = line_of(result, "e-mail")
    assert line.startswith("e-mail gateway (smtp): unreachable: ") and "ConnectionRefusedError" in line
    # Said once, by the check: the gateway's own warning is not printed besides.
    assert "not reachable" not in result.stderr


def test_an_smtp_server_not_there_is_unreachable_whatever_the_log_level(tmp_path: Path) -> None:
    url = f"smtp://{LOOPBACK}:{closed_port()}?timeout=5"
    result = check(tmp_path, "--email-url", url, env={"MASSPOST_LOG_LEVEL": "CRITICAL"})
    assert result.returncode == 1
    assert line_of(result, "e-mail").startswith("e-mail gateway (smtp): unreachable: ")


# --- SMPP ----------------------------------------------------------------------------------------------------

def test_smpp_that_binds_is_ok_and_sends_nothing(tmp_path: Path, smsc: SMSCPeer) -> None:
    result = check(tmp_path, "--sms-url", smpp_url(smsc.host, smsc.port))
    assert result.returncode == 0, result.stderr
    line = line_of(result, "SMS")
    assert line == f"SMS gateway (smpp): ok: SMPP {smsc.host}:{smsc.port}: bound as transceiver, then unbound"
    assert smsc.binds == [USER]
    assert smsc.submits == []
    assert "webhooks" not in result.stdout  # the SMSC sends receipts on the bind


def test_smpp_with_a_wrong_password_is_refused_in_one_line(tmp_path: Path) -> None:
    refusing = BindRefusingSMSC.start_refusing()
    try:
        result = check(tmp_path, "--sms-url", smpp_url(refusing.host, refusing.port, password=WRONG))
    finally:
        refusing.stop()
    assert failed_line(result) == "CommandError: the SMS gateway refused: fix MASSPOST_SMS_URL"
    line = line_of(result, "SMS")
    assert line.startswith("SMS gateway (smpp): refused: ") and "ESME_RINVPASWD" in line
    assert refusing.binds == 1  # once: never again with credentials the SMSC refused


def test_an_smsc_not_there_is_unreachable(tmp_path: Path) -> None:
    result = check(tmp_path, "--sms-url", smpp_url(LOOPBACK, closed_port()))
    assert result.returncode == 1
    assert line_of(result, "SMS").startswith("SMS gateway (smpp): unreachable: ")


def test_receipts_and_replies_offered_to_the_check_are_left_with_the_smsc() -> None:
    """An SMSC pushes what it kept for the account as soon as a bind comes: the check's bind answers each with
    ESME_RX_T_APPN, so that the SMSC delivers it again to a worker, which stores it."""
    hooks = _RefusingHooks()
    gateway: Any = gateway_from_url(smpp_url(LOOPBACK, 2775), **hooks.as_kwargs())
    common = {"source_addr": b"37255512345", "source_addr_ton": 1, "data_coding": 0, "message_state": None,
              "receipted_message_id": None}
    receipt = SimpleNamespace(sequence=6, esm_class=0x04, short_message=b"id:42 stat:DELIVRD err:000", **common)
    reply = SimpleNamespace(sequence=7, esm_class=0, short_message=b"STOP", **common)
    assert deliver_many([receipt, reply], gateway) == [(6, ESME_RX_T_APPN), (7, ESME_RX_T_APPN)]
    gateway.on_delivery_receipts = None  # the one-by-one hook
    assert deliver(receipt, gateway) == ESME_RX_T_APPN
    assert hooks.refused == 3


# --- both, local gateways, URLs ------------------------------------------------------------------------------

def test_both_gateways_at_once_in_json(tmp_path: Path, smtp: SMTPPeer, smsc: SMSCPeer,
                                       certificates: TestCertificates) -> None:
    result = check(tmp_path, "--json", "--sms-url", smpp_url(smsc.host, smsc.port),
                   "--email-url", smtp_url(smtp, certificates, password=WRONG))
    assert failed_line(result) == "CommandError: the e-mail gateway refused: fix MASSPOST_EMAIL_URL"
    answer = json.loads(result.stdout)
    assert answer["ok"] is False
    sms, email = answer["gateways"]
    assert (sms["channel"], sms["scheme"], sms["status"], sms["webhooks"]) == ("sms", "smpp", "ok", {})
    assert (email["channel"], email["scheme"], email["status"]) == ("email", "smtp", "refused")
    assert "AUTH rejected" in email["detail"]


def test_local_gateways_have_nothing_to_check_and_write_nothing(tmp_path: Path) -> None:
    result = check(tmp_path, "--sms-url", "console:")
    assert result.returncode == 0, result.stderr
    assert line_of(result, "SMS") == "SMS gateway (console): nothing to check (writes locally)"
    outbox = tmp_path / "outbox-email.jsonl"  # the default e-mail gateway
    assert line_of(result, "e-mail") == f"e-mail gateway (file): nothing to check (writes locally, to {outbox})"
    assert not outbox.exists()


def test_a_url_that_cannot_be_used_is_refused_without_echoing_it(tmp_path: Path) -> None:
    # An unencoded '#' in the password would cut the URL short: refused, naming no piece of the password.
    result = check(tmp_path, "--email-url", f"smtp://{USER}:{WRONG}#x@{LOOPBACK}:25?starttls=1")
    assert failed_line(result) == "CommandError: the e-mail gateway refused: fix MASSPOST_EMAIL_URL"
    line = line_of(result, "e-mail")
    assert line.startswith("e-mail gateway (smtp): refused: the URL cannot be used: ") and "%23" in line
    assert WRONG[:4] not in result.stdout


def test_the_configured_urls_are_checked_by_default(tmp_path: Path, smsc: SMSCPeer) -> None:
    result = check(tmp_path, env={"MASSPOST_SMS_URL": smpp_url(smsc.host, smsc.port), "MASSPOST_EMAIL_URL": "console:"})
    assert result.returncode == 0, result.stderr
    assert line_of(result, "SMS").startswith("SMS gateway (smpp): ok: ")
    assert smsc.binds == [USER]


def test_gateway_without_an_action_says_which_in_one_line(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in UNSET}
    environment["MASSPOST_DATA_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "masspost", "gateway"], env=environment, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("masspost gateway: the following arguments are required: {check,dkim} "
                                     "(see masspost gateway --help)")


# --- Twilio --------------------------------------------------------------------------------------------------

PUBLIC = "https://masspost.clinic.example"


@pytest.fixture
def twilio() -> Iterator[TwilioPeer]:
    with TwilioPeer() as peer:
        yield peer


def test_twilio_with_the_right_token_is_ok_and_prints_the_webhooks(tmp_path: Path, twilio: TwilioPeer) -> None:
    result = check(tmp_path, "--sms-url", twilio.url, env={"MASSPOST_PUBLIC_URL": PUBLIC + "/"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:4] == [
        f"SMS gateway (twilio+http): ok: Twilio account AC…{ACCOUNT_SID[-4:]} active",
        "  register these webhooks with the provider:",
        f"    status   {PUBLIC}/hooks/twilio/status",
        f"    inbound  {PUBLIC}/hooks/twilio/inbound",
    ]
    assert ACCOUNT_SID not in result.stdout  # shortened: the SID is the URL's user name
    assert [(r.method, r.path) for r in twilio.requests] == [("GET", f"/2010-04-01/Accounts/{ACCOUNT_SID}.json")]
    assert twilio.messages == [] and twilio.violations == []


def test_twilio_without_a_public_url_says_receipts_and_replies_need_it(tmp_path: Path, twilio: TwilioPeer) -> None:
    result = check(tmp_path, "--sms-url", twilio.url)
    assert result.returncode == 0, result.stderr  # the credentials are fine; the webhooks are the operator's next step
    assert result.stdout.splitlines()[1] == f"  {PUBLIC_URL_NEEDED}"
    assert "/hooks/" not in result.stdout
    answer = json.loads(check(tmp_path, "--json", "--sms-url", twilio.url).stdout)
    assert answer["gateways"][0]["webhooks"] == {} and answer["gateways"][0]["note"] == PUBLIC_URL_NEEDED


def test_twilio_with_a_wrong_token_is_refused_in_one_line(tmp_path: Path, twilio: TwilioPeer) -> None:
    url = twilio.url.replace(AUTH_TOKEN, WRONG)
    result = check(tmp_path, "--sms-url", url, env={"MASSPOST_PUBLIC_URL": PUBLIC})
    assert failed_line(result) == "CommandError: the SMS gateway refused: fix MASSPOST_SMS_URL"
    line = line_of(result, "SMS")
    assert line.startswith("SMS gateway (twilio+http): refused: twilio 20003") and "Auth Token" in line
    assert result.stdout.splitlines()[1] == f"  {WEBHOOKS_LATER}"
    assert AUTH_TOKEN not in result.stdout + result.stderr
    assert twilio.messages == []


def test_a_suspended_twilio_account_is_refused(tmp_path: Path) -> None:
    with TwilioPeer(account_status="suspended") as twilio:
        result = check(tmp_path, "--sms-url", twilio.url, env={"MASSPOST_PUBLIC_URL": PUBLIC})
        assert twilio.messages == []
    assert failed_line(result) == "CommandError: the SMS gateway refused: fix MASSPOST_SMS_URL"
    assert line_of(result, "SMS") == (f"SMS gateway (twilio+http): refused: Twilio account AC…{ACCOUNT_SID[-4:]} is "
                                      "suspended: it cannot send until Twilio reactivates it")
    assert AUTH_TOKEN not in result.stdout + result.stderr


def test_twilio_not_there_is_unreachable(tmp_path: Path) -> None:
    url = f"twilio+http://{ACCOUNT_SID}:{AUTH_TOKEN}@{LOOPBACK}:{closed_port()}?timeout=5"
    result = check(tmp_path, "--sms-url", url, env={"MASSPOST_PUBLIC_URL": PUBLIC})
    assert failed_line(result) == "CommandError: the SMS gateway is unreachable: try again once it can be reached"
    assert line_of(result, "SMS").startswith("SMS gateway (twilio+http): unreachable: twilio: account not checked")
    # The URLs do not depend on whether Twilio was reached, but they are shown with the check that passes.
    assert result.stdout.splitlines()[1] == f"  {WEBHOOKS_LATER}"
    assert AUTH_TOKEN not in result.stdout + result.stderr


def test_plain_http_to_a_provider_elsewhere_is_refused_without_the_url(tmp_path: Path) -> None:
    result = check(tmp_path, "--sms-url", f"twilio+http://{ACCOUNT_SID}:{AUTH_TOKEN}@api.twilio.com")
    assert failed_line(result) == "CommandError: the SMS gateway refused: fix MASSPOST_SMS_URL"
    assert "only for a host on this machine" in line_of(result, "SMS")
    assert AUTH_TOKEN not in result.stdout + result.stderr and ACCOUNT_SID not in result.stdout


# --- Messente ------------------------------------------------------------------------------------------------

def messente_secret(username: str, password: str) -> str:
    """The contract's secret, computed here on its own: hex HMAC-SHA256(password, "masspost-webhooks:" + user)."""
    return hmac.new(password.encode(), f"masspost-webhooks:{username}".encode(), hashlib.sha256).hexdigest()[:32]


def test_messente_with_the_right_password_is_ok_and_prints_the_webhooks_with_their_secret(tmp_path: Path) -> None:
    with MessentePeer() as messente:
        result = check(tmp_path, "--sms-url", messente.url, env={"MASSPOST_PUBLIC_URL": PUBLIC})
        assert messente.messages == [] and messente.violations == []
        assert all(request.method == "GET" for request in messente.requests)
    assert result.returncode == 0, result.stderr
    secret = messente_secret(MESSENTE_USER, MESSENTE_PASSWORD)
    assert result.stdout.splitlines()[:4] == [
        "SMS gateway (messente+http): ok: Messente API credentials accepted",
        "  register these webhooks with the provider:",
        f"    dlr      {PUBLIC}/hooks/messente/dlr/{secret}",
        f"    inbound  {PUBLIC}/hooks/messente/inbound/{secret}",
    ]
    assert MESSENTE_USER not in result.stdout


def test_messente_with_a_wrong_password_is_refused_without_a_secret(tmp_path: Path) -> None:
    with MessentePeer() as messente:
        wrong = messente.url.replace(MESSENTE_PASSWORD, WRONG)
        result = check(tmp_path, "--sms-url", wrong, env={"MASSPOST_PUBLIC_URL": PUBLIC})
        assert messente.messages == []
    assert failed_line(result) == "CommandError: the SMS gateway refused: fix MASSPOST_SMS_URL"
    line = line_of(result, "SMS")
    assert line.startswith("SMS gateway (messente+http): refused: messente HTTP 401")
    assert "/hooks/" not in result.stdout  # a secret made from a wrong password would be of no use
    assert messente_secret(MESSENTE_USER, WRONG) not in result.stdout


@pytest.mark.parametrize("public", ["masspost.clinic.example", "http://masspost.clinic.example"])
def test_a_public_url_that_cannot_be_used_is_refused_as_the_worker_refuses_it(tmp_path: Path, twilio: TwilioPeer,
                                                                              public: str) -> None:
    """Plain http:// is only for a public URL on this machine: across a network, Messente's secret would be read
    and Twilio's signed calls replayed."""
    result = check(tmp_path, "--sms-url", twilio.url, env={"MASSPOST_PUBLIC_URL": public})
    assert failed_line(result) == "CommandError: the SMS gateway refused: fix MASSPOST_PUBLIC_URL"
    assert line_of(result, "SMS").startswith("SMS gateway (twilio+http): refused: MASSPOST_PUBLIC_URL must be ")
    assert "clinic.example" not in result.stdout + result.stderr
    assert twilio.requests == []


def test_a_bad_public_url_is_no_concern_of_an_sms_gateway_that_does_not_use_it(tmp_path: Path,
                                                                               smsc: SMSCPeer) -> None:
    result = check(tmp_path, "--sms-url", smpp_url(smsc.host, smsc.port), "--email-url", "console:",
                   env={"MASSPOST_PUBLIC_URL": "http://masspost.clinic.example"})
    assert result.returncode == 0, result.stderr
    assert line_of(result, "SMS").startswith("SMS gateway (smpp): ok: ")
    assert "MASSPOST_PUBLIC_URL" not in line_of(result, "SMS") + result.stderr
    # …though the unsubscribe links, which do use it, say why there are none (never quoting the value).
    assert "unsubscribe links: none" in result.stdout and "clinic.example" not in result.stdout


def test_a_public_url_that_cannot_be_used_does_not_stop_smpp(tmp_path: Path, smsc: SMSCPeer) -> None:
    result = check(tmp_path, "--sms-url", smpp_url(smsc.host, smsc.port),
                   env={"MASSPOST_PUBLIC_URL": "http://masspost.clinic.example"})  # plain HTTP off this machine
    assert result.returncode == 0, result.stderr
    assert line_of(result, "SMS").startswith("SMS gateway (smpp): ok: ")


# --- What marketing messages carry to opt out (delivery.optout): part of each gateway's result, never a refusal ---

OWN_KEY = "test-secret-key-of-this-installation-not-the-development-one"


@pytest.mark.django_db
def test_the_check_says_where_the_unsubscribe_links_and_the_mailto_go(settings: Any) -> None:
    settings.SECRET_KEY = OWN_KEY
    settings.MASSPOST_PUBLIC_URL, settings.MASSPOST_UNSUBSCRIBE_MAILTO = PUBLIC, "unsubscribe@hammas.example"
    sms, mail = gateway_check(sms_url="console:", email_url="console:")
    assert sms.optout == (f"unsubscribe links: {PUBLIC}/u/<key>",)
    assert mail.optout == (f"unsubscribe links: {PUBLIC}/u/<key>",
                           "List-Unsubscribe mailto: unsubscribe@hammas.example")
    assert sms.fine and mail.fine


@pytest.mark.django_db
@pytest.mark.parametrize(("secret", "public", "mailto", "links", "why_no_mailto"), [
    (OWN_KEY, "", "", "MASSPOST_PUBLIC_URL is not set", "MASSPOST_UNSUBSCRIBE_MAILTO is not set"),
    (OWN_KEY, "http://masspost.clinic.example", "Hammas <unsubscribe@hammas.example>",
     "MASSPOST_PUBLIC_URL is not https://host[:port][/path] (http:// only for 127.0.0.0/8, ::1 or localhost; no "
     "user name, password, query or fragment)",
     "MASSPOST_UNSUBSCRIBE_MAILTO is not one plain e-mail address (name@domain, no ?, # or %): ignored"),
    (None, "https://masspost.clinic.example", "unsubscribe@hammas.example?bcc=all@example.com",
     "MASSPOST_SECRET_KEY is the development key (public: anyone could forge the links)",
     "MASSPOST_UNSUBSCRIBE_MAILTO is not one plain e-mail address (name@domain, no ?, # or %): ignored"),
])
def test_the_check_says_why_there_are_no_links_or_mailto(settings: Any, secret: str | None, public: str,
                                                         mailto: str, links: str, why_no_mailto: str) -> None:
    settings.SECRET_KEY = secret or settings.DEV_SECRET_KEY
    settings.MASSPOST_PUBLIC_URL, settings.MASSPOST_UNSUBSCRIBE_MAILTO = public, mailto
    sms, mail = gateway_check(sms_url="console:", email_url="console:")
    assert sms.optout == (f"unsubscribe links: none ({links}): a marketing SMS carries the stop word",)
    assert mail.optout == (f"unsubscribe links: none ({links}): a marketing e-mail asks for a reply",
                           f"List-Unsubscribe mailto: none ({why_no_mailto})")
    assert sms.fine and mail.fine  # the messages fall back: nothing to refuse
    assert "clinic.example" not in " ".join(sms.optout + mail.optout)  # a bad value is never quoted
