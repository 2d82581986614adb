"""The SMTP gateway against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from email.utils import getaddresses, parsedate_to_datetime

import pytest

from masspost.delivery.gateways.base import Channel, Outcome, OutgoingMessage
from masspost.delivery.gateways.smtp import SMTPGateway, _dot_stuffed, from_url
from masspost.errors import GatewayConfigError
from tests.peers.net import LOOPBACK, TestCertificates
from tests.peers.smtp_server import SMTPPeer


def make_message(**overrides: object) -> OutgoingMessage:
    values: dict[str, object] = {
        "message_id": 41,
        "campaign_id": 7,
        "patient_ref": "P-0001",
        "channel": Channel.EMAIL,
        "to": "mari.maasikas@example.ee",
        "language": "et",
        "text": "Tere, Mari!\nTeie järgmine visiit: 12.01 — õhtul. Ждём вас.\n",
        "subject": "Meeldetuletus: hambaarst ÕÄÖÜ",
        "sender": "info@kliinik.ee",
        "sender_name": "Hambakliinik Õun",
    }
    values.update(overrides)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


def plain_url(server: SMTPPeer, query: str = "") -> str:
    return f"smtp://{server.host}:{server.port}" + (f"?{query}" if query else "")


@pytest.fixture
def gateway(smtp_server: SMTPPeer) -> Iterator[SMTPGateway]:
    gateway = from_url(plain_url(smtp_server, "timeout=5"))
    gateway.open()
    yield gateway
    gateway.close()


def test_delivers_utf8_email_with_correct_headers(gateway: SMTPGateway, smtp_server: SMTPPeer) -> None:
    message = make_message()

    result = gateway.send(message)

    assert result.outcome is Outcome.ACCEPTED, result.error
    [mail] = smtp_server.wait_for_messages(1)
    assert mail.mail_from == "info@kliinik.ee"
    assert mail.rcpt_tos == ("mari.maasikas@example.ee",)
    email = mail.message
    assert getaddresses([str(email["From"])]) == [("Hambakliinik Õun", "info@kliinik.ee")]
    assert getaddresses([str(email["Reply-To"])]) == [("Hambakliinik Õun", "info@kliinik.ee")]
    assert str(email["To"]) == "mari.maasikas@example.ee"
    assert str(email["Subject"]) == "Meeldetuletus: hambaarst ÕÄÖÜ"
    assert parsedate_to_datetime(str(email["Date"])).tzinfo is not None
    assert str(email["Message-ID"]).endswith("@kliinik.ee>")
    assert result.remote_id == str(email["Message-ID"])
    assert email["MIME-Version"] == "1.0"
    assert email.get_content_type() == "text/plain"
    assert email.get_content_charset() == "utf-8"
    assert email.get_content().replace("\r\n", "\n") == message.text  # CRLF on the wire
    assert "List-Unsubscribe" not in email
    assert mail.raw.isascii()  # RFC 2047 headers and a QP/base64 body: no 8BITMIME/SMTPUTF8 needed


def test_reply_to_and_list_unsubscribe_hook(smtp_server: SMTPPeer) -> None:
    seen: list[int] = []

    def unsubscribe(message: OutgoingMessage) -> str | None:
        seen.append(message.message_id)
        return "<https://kliinik.ee/u/abc>, <mailto:unsub@kliinik.ee?subject=abc>"

    gateway = from_url(plain_url(smtp_server), list_unsubscribe=unsubscribe)
    gateway.open()
    try:
        result = gateway.send(make_message(reply_to="vastus@kliinik.ee"))
    finally:
        gateway.close()

    assert result.outcome is Outcome.ACCEPTED, result.error
    [mail] = smtp_server.wait_for_messages(1)
    assert getaddresses([str(mail.message["Reply-To"])]) == [("Hambakliinik Õun", "vastus@kliinik.ee")]
    assert str(mail.message["List-Unsubscribe"]).strip() == (  # folded after the colon: legal
        "<https://kliinik.ee/u/abc>, <mailto:unsub@kliinik.ee?subject=abc>"
    )
    assert seen == [41]


def test_html_body_gets_a_text_alternative(gateway: SMTPGateway, smtp_server: SMTPPeer) -> None:
    html = "<html><body><p>Tere, <b>Mari</b>!</p><p>Visiit &amp; kontroll</p><style>p{}</style></body></html>"

    result = gateway.send(make_message(text=html))

    assert result.outcome is Outcome.ACCEPTED, result.error
    [mail] = smtp_server.wait_for_messages(1)
    assert mail.message.get_content_type() == "multipart/alternative"
    plain, rich = mail.message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().replace("\r\n", "\n") == "Tere, Mari!\n\nVisiit & kontroll\n"  # type: ignore[attr-defined]
    assert rich.get_content_type() == "text/html"
    assert rich.get_content().rstrip() == html  # type: ignore[attr-defined]


def test_one_connection_is_reused_for_many_messages(gateway: SMTPGateway, smtp_server: SMTPPeer) -> None:
    results = [gateway.send(make_message(message_id=n, to=f"p{n}@example.ee")) for n in range(5)]

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 5
    received = smtp_server.wait_for_messages(5)
    assert smtp_server.connection_count == 1
    assert {mail.connection for mail in received} == {0}
    assert len({r.remote_id for r in results}) == 5


def test_starttls_and_auth(smtp_starttls_server: SMTPPeer, certificates: TestCertificates) -> None:
    server = smtp_starttls_server
    url = f"smtp://clinic:s3cret%20pass@{server.host}:{server.port}?starttls=1&cafile={certificates.ca_file}"
    gateway = from_url(url)
    gateway.open()
    try:
        result = gateway.send(make_message())
    finally:
        gateway.close()

    assert result.outcome is Outcome.ACCEPTED, result.error
    [mail] = server.wait_for_messages(1)
    assert mail.tls is True
    assert mail.login == "clinic"
    assert server.auth_attempts[-1][1] is True


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # aiosmtpd agrees with us
def test_auth_over_a_plain_connection_only_when_the_url_asks_for_it() -> None:
    server = SMTPPeer.start(users={"clinic": "s3cret pass"}, auth_require_tls=False)  # a relay on this machine
    try:
        with pytest.raises(ValueError, match="clear text"):
            from_url(f"smtp://clinic:s3cret%20pass@{server.host}:{server.port}")
        assert server.connection_count == 0  # refused before anything went out

        gateway = from_url(f"smtp://clinic:s3cret%20pass@{server.host}:{server.port}?auth_without_tls=1")
        gateway.open()
        try:
            result = gateway.send(make_message())
        finally:
            gateway.close()
        assert result.outcome is Outcome.ACCEPTED, result.error
        [mail] = server.wait_for_messages(1)
        assert (mail.tls, mail.login) == (False, "clinic")
    finally:
        server.stop()


def test_wrong_password_is_a_configuration_error_at_open_and_at_send(
    smtp_starttls_server: SMTPPeer, certificates: TestCertificates
) -> None:
    # Every message would fail alike until the password is fixed: not a retry per message until its deadline.
    server = smtp_starttls_server
    gateway = from_url(f"smtp://clinic:wrong@{server.host}:{server.port}?starttls=1&cafile={certificates.ca_file}")
    with pytest.raises(GatewayConfigError) as raised:
        gateway.open()
    result = gateway.send(make_message())
    gateway.close()

    assert "AUTH rejected" in str(raised.value) and "535" in str(raised.value)
    assert f"{server.host}:{server.port}" in str(raised.value) and "wrong" not in str(raised.value)
    assert result.outcome is Outcome.MISCONFIGURED
    assert "AUTH rejected" in result.error and "535" in result.error
    assert server.received == []
    assert len(server.auth_attempts) <= 2  # one login (PLAIN, then LOGIN): `send` does not try the password again


def test_a_password_changed_under_a_running_gateway_is_a_configuration_error(
    smtp_starttls_server: SMTPPeer, certificates: TestCertificates
) -> None:
    server = smtp_starttls_server
    gateway = from_url(f"smtp://clinic:s3cret%20pass@{server.host}:{server.port}?starttls=1"
                       f"&cafile={certificates.ca_file}")
    gateway.open()
    try:
        assert gateway.send(make_message(message_id=1)).outcome is Outcome.ACCEPTED
        server.change_password("clinic", "rotated")
        server.drop_connections()  # the reconnect has to AUTH again

        result = gateway.send(make_message(message_id=2))
    finally:
        gateway.close()

    assert result.outcome is Outcome.MISCONFIGURED, result.error
    assert len(server.wait_for_messages(1)) == 1


def test_a_temporary_auth_failure_stays_transient() -> None:
    class Temporary(smtplib.SMTPAuthenticationError):
        pass

    gateway = SMTPGateway(host="mail.example.ee", port=587)
    reason = gateway._configuration_error(Temporary(454, b"4.7.0 Temporary authentication failure"))
    assert reason is None  # a 4xx to AUTH: try again later, as with any 4xx


def test_untrusted_certificate_is_a_configuration_error(smtp_starttls_server: SMTPPeer) -> None:
    server = smtp_starttls_server  # its certificate is signed by the test CA, which this URL does not name
    gateway = from_url(f"smtp://clinic:s3cret%20pass@{server.host}:{server.port}?starttls=1")
    with pytest.raises(GatewayConfigError, match="certificate") as raised:
        gateway.open()
    result = gateway.send(make_message())
    gateway.close()

    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value) and "cafile=" in str(raised.value)
    assert result.outcome is Outcome.MISCONFIGURED
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert server.received == [] and server.auth_attempts == []  # the password never went out


def test_implicit_tls_with_an_untrusted_certificate_is_a_configuration_error(smtps_server: SMTPPeer) -> None:
    gateway = from_url(f"smtps://{smtps_server.host}:{smtps_server.port}")
    with pytest.raises(GatewayConfigError, match="CERTIFICATE_VERIFY_FAILED"):
        gateway.open()
    assert gateway.send(make_message()).outcome is Outcome.MISCONFIGURED
    gateway.close()


def test_a_server_that_does_not_offer_starttls_is_a_configuration_error(smtp_server: SMTPPeer) -> None:
    gateway = from_url(plain_url(smtp_server, "starttls=1&timeout=5"))
    with pytest.raises(GatewayConfigError, match="STARTTLS"):
        gateway.open()
    gateway.close()
    assert smtp_server.received == []


def test_implicit_tls(smtps_server: SMTPPeer, certificates: TestCertificates) -> None:
    gateway = from_url(f"smtps://{smtps_server.host}:{smtps_server.port}?cafile={certificates.ca_file}")
    gateway.open()
    try:
        result = gateway.send(make_message())
    finally:
        gateway.close()

    assert result.outcome is Outcome.ACCEPTED, result.error
    [mail] = smtps_server.wait_for_messages(1)
    assert mail.tls is True


@pytest.mark.parametrize(
    ("code", "stage", "outcome"),
    [
        (421, "DATA", Outcome.TRANSIENT),
        (450, "RCPT", Outcome.TRANSIENT),
        (451, "DATA", Outcome.TRANSIENT),
        (452, "RCPT", Outcome.TRANSIENT),
        (451, "MAIL", Outcome.TRANSIENT),
        (550, "RCPT", Outcome.PERMANENT),
        (552, "DATA", Outcome.PERMANENT),
        (554, "DATA", Outcome.PERMANENT),
        (550, "MAIL", Outcome.PERMANENT),
    ],
)
def test_replies_are_classified_and_the_next_message_still_goes(
    gateway: SMTPGateway, smtp_server: SMTPPeer, code: int, stage: str, outcome: Outcome
) -> None:
    smtp_server.fail_next(code, stage=stage)

    failed = gateway.send(make_message(message_id=1))
    following = gateway.send(make_message(message_id=2))

    assert failed.outcome is outcome
    assert failed.error.startswith(f"SMTP {code} at {stage}:")
    assert "mari.maasikas" not in failed.error
    assert following.outcome is Outcome.ACCEPTED, following.error
    assert len(smtp_server.wait_for_messages(1)) == 1


def test_refused_recipient_is_permanent_and_the_address_is_masked(gateway: SMTPGateway, smtp_server: SMTPPeer) -> None:
    smtp_server.fail_recipient("mari.maasikas@example.ee", 550)

    result = gateway.send(make_message())

    assert result.outcome is Outcome.PERMANENT
    assert result.error.startswith("SMTP 550 at RCPT: <[address]>:")
    assert "mari" not in result.error and "example.ee" not in result.error


def test_idle_connection_dropped_by_server_is_reopened_transparently(
    gateway: SMTPGateway, smtp_server: SMTPPeer
) -> None:
    assert gateway.send(make_message(message_id=1)).outcome is Outcome.ACCEPTED
    smtp_server.drop_connections()

    result = gateway.send(make_message(message_id=2))

    assert result.outcome is Outcome.ACCEPTED, result.error
    assert len(smtp_server.wait_for_messages(2)) == 2
    assert smtp_server.connection_count == 2


def test_connection_lost_after_the_message_was_written_is_unknown_never_retried(
    gateway: SMTPGateway, smtp_server: SMTPPeer
) -> None:
    # The server had the whole message and may have kept it (this one did): sent again, it could arrive twice.
    smtp_server.drop_after_data(1)

    lost = gateway.send(make_message(message_id=1))
    after = gateway.send(make_message(message_id=2))

    assert lost.outcome is Outcome.UNKNOWN
    assert lost.error.startswith("SMTP connection lost after the message was written, before the server's answer")
    assert after.outcome is Outcome.ACCEPTED, after.error
    assert len(smtp_server.wait_for_messages(2)) == 2


def test_data_is_dot_stuffed_and_ends_with_a_lone_dot() -> None:
    # What smtplib's `data` did, now that the gateway writes DATA in steps (RFC 5321 4.5.2).
    assert _dot_stuffed(b"a\r\n.b\r\n..c\r\n") == b"a\r\n..b\r\n...c\r\n.\r\n"
    assert _dot_stuffed(b".\r\nend") == b"..\r\nend\r\n.\r\n"


def test_dropped_connection_is_transient_then_the_next_send_reconnects(
    gateway: SMTPGateway, smtp_server: SMTPPeer
) -> None:
    assert gateway.send(make_message(message_id=1)).outcome is Outcome.ACCEPTED
    smtp_server.drop_next(2)  # the send and its one transparent retry are both cut off

    dropped = gateway.send(make_message(message_id=2))
    after = gateway.send(make_message(message_id=3))

    assert dropped.outcome is Outcome.TRANSIENT
    assert "SMTP connection" in dropped.error
    assert after.outcome is Outcome.ACCEPTED, after.error
    assert [m.message["Subject"] for m in smtp_server.wait_for_messages(2)] == [make_message().subject] * 2
    assert smtp_server.connection_count == 3


def test_connection_refused_is_transient_and_open_does_not_raise() -> None:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        gateway = from_url(f"smtp://{LOOPBACK}:{port}?timeout=2")
        gateway.open()
        result = gateway.send(make_message())
    gateway.close()

    assert result.outcome is Outcome.TRANSIENT
    assert "ConnectionRefusedError" in result.error


def test_silent_server_times_out_as_transient() -> None:
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen()  # accepts into the backlog but never greets
        gateway = from_url(f"smtp://{LOOPBACK}:{listener.getsockname()[1]}?timeout=0.3")
        result = gateway.send(make_message())
    gateway.close()

    assert result.outcome is Outcome.TRANSIENT
    assert "timed out" in result.error


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Tere\r\nBcc: victim@example.com"},
        {"subject": "Tere\nX-Injected: 1"},
        {"sender_name": "Kliinik\r\nBcc: victim@example.com"},
        {"to": "mari@example.ee\r\nBcc: victim@example.com"},
        {"reply_to": "a@kliinik.ee\nBcc: victim@example.com"},
        {"to": "mari@example.ee, victim@example.com"},
        {"to": "not-an-address"},
    ],
)
def test_header_injection_is_impossible(gateway: SMTPGateway, smtp_server: SMTPPeer, overrides: dict[str, str]) -> None:
    result = gateway.send(make_message(**overrides))
    following = gateway.send(make_message(message_id=99))

    assert result.outcome is Outcome.PERMANENT
    assert result.error.startswith("message 41: ")
    assert "victim" not in result.error
    assert following.outcome is Outcome.ACCEPTED
    [mail] = smtp_server.wait_for_messages(1)
    assert mail.rcpt_tos == ("mari.maasikas@example.ee",)


def test_display_name_with_specials_is_quoted_not_split(gateway: SMTPGateway, smtp_server: SMTPPeer) -> None:
    result = gateway.send(make_message(sender_name='Kliinik "Õun", Tallinn <x@evil.ee>'))

    assert result.outcome is Outcome.ACCEPTED, result.error
    [mail] = smtp_server.wait_for_messages(1)
    assert getaddresses([str(mail.message["From"])]) == [('Kliinik "Õun", Tallinn <x@evil.ee>', "info@kliinik.ee")]


def test_internationalised_domain_goes_out_in_idna_form(gateway: SMTPGateway, smtp_server: SMTPPeer) -> None:
    result = gateway.send(make_message(to="mari@näide.ee"))

    assert result.outcome is Outcome.ACCEPTED, result.error
    [mail] = smtp_server.wait_for_messages(1)
    assert mail.rcpt_tos == ("mari@xn--nide-loa.ee",)
    assert str(mail.message["To"]) == "mari@xn--nide-loa.ee"
    assert mail.raw.isascii()


def test_non_ascii_local_part_is_refused_plainly(gateway: SMTPGateway) -> None:
    result = gateway.send(make_message(to="mänd@example.ee"))

    assert result.outcome is Outcome.PERMANENT
    assert result.error == "message 41: recipient has a non-ASCII local part (SMTPUTF8 is not supported)"


def test_url_forms() -> None:
    gateway = from_url("smtps://user%40x:p%2Fw@mail.example.ee?timeout=12.5&helo=clinic.ee")
    assert (gateway.host, gateway.port, gateway.implicit_tls, gateway.starttls) == (
        "mail.example.ee",
        465,
        True,
        False,
    )
    assert (gateway.username, gateway.password, gateway.timeout, gateway.helo) == (
        "user@x",
        "p/w",
        12.5,
        "clinic.ee",
    )
    plain = from_url("smtp://mail.example.ee:587?starttls=1")
    assert (plain.port, plain.starttls, plain.username) == (587, True, "")
    with pytest.raises(ValueError, match="unknown SMTP URL option"):
        from_url("smtp://mail.example.ee?startls=1")
    with pytest.raises(ValueError):
        from_url("smtps://mail.example.ee?starttls=1")
