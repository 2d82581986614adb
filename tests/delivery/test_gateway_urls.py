"""Gateway URLs: credentials never echoed, AUTH only over TLS unless the URL says otherwise."""

from __future__ import annotations

import pytest

from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.smtp import from_url as smtp_from_url
from masspost.errors import MasspostError

USER, PASSWORD = "kliinik-user", "Hunter2"


@pytest.mark.parametrize("url", [
    f"smtp://{USER}:{PASSWORD}#Xyz@mail.example.ee:587?starttls=1",  # '#' unencoded: urllib makes it a fragment
    f"smtp://{USER}:{PASSWORD}/Xyz@mail.example.ee:587?starttls=1",  # '/' unencoded: the rest is the path
    f"smtp://{USER}:{PASSWORD}?Xyz@mail.example.ee:587",  # '?' unencoded: the rest is the query
    f"smtp://{USER}:12?{PASSWORD}@mail.example.ee",  # would even parse: host kliinik-user, port 12
    f"smpp://{USER}:{PASSWORD}#Xyz@smsc.example.ee:2775",
    f"smpp://{USER}:{PASSWORD}/Xyz@smsc.example.ee",
    f"//{USER}:{PASSWORD}@mail.example.ee:587",  # no scheme
    f"{USER}:{PASSWORD}@mail.example.ee:587",  # no scheme, no slashes: urllib takes the user name for one
    f"smtps://{USER}:{PASSWORD}@mail.example.ee:notaport",
    f"smtp://{USER}:{PASSWORD}@mail.example.ee:587?starttls=1&timeout=soon",
    f"smpp://{USER}:{PASSWORD}@smsc.example.ee?window=many",
    f"smtp://{USER}:{PASSWORD}@mail.example.ee:587?startls=1",
    f"smtp://{USER}:{PASSWORD}@mail.example.ee:587",  # AUTH without TLS
])
def test_a_bad_gateway_url_never_echoes_its_credentials(url: str) -> None:
    with pytest.raises(MasspostError) as raised:
        gateway_from_url(url)
    message = str(raised.value)
    assert "gateway URL" in message
    assert PASSWORD not in message and "Xyz" not in message and USER not in message


@pytest.mark.parametrize(("url", "hint"), [
    (f"smtp://{USER}:{PASSWORD}#Xyz@mail.example.ee", "%23"),
    (f"smtp://{USER}:{PASSWORD}/Xyz@mail.example.ee", "%2F"),
    (f"smtp://{USER}:{PASSWORD}?Xyz@mail.example.ee", "%3F"),
])
def test_an_unencoded_special_character_in_a_password_says_how_to_encode_it(url: str, hint: str) -> None:
    with pytest.raises(MasspostError, match="percent-encode") as raised:
        gateway_from_url(url)
    assert hint in str(raised.value)


def test_an_unknown_scheme_is_named_when_the_url_carries_no_credentials() -> None:
    with pytest.raises(MasspostError, match="unknown gateway URL scheme 'smsgw:'"):
        gateway_from_url("smsgw://example")


def test_smtp_auth_without_tls_is_refused_unless_the_url_says_so() -> None:
    with pytest.raises(ValueError, match="clear text") as raised:
        smtp_from_url(f"smtp://{USER}:{PASSWORD}@mail.example.ee:587")
    assert "starttls=1" in str(raised.value) and "auth_without_tls=1" in str(raised.value)
    with pytest.raises(ValueError, match="clear text"):
        smtp_from_url(f"smtp://{USER}@mail.example.ee:25")  # a user name alone is AUTH too
    with pytest.raises(ValueError, match="clear text"):
        smtp_from_url(f"smtp://{USER}:{PASSWORD}@mail.example.ee:25?starttls=0")

    assert smtp_from_url(f"smtp://{USER}:{PASSWORD}@mail.example.ee:587?starttls=1").password == PASSWORD
    assert smtp_from_url(f"smtps://{USER}:{PASSWORD}@mail.example.ee").username == USER
    relay = smtp_from_url(f"smtp://{USER}:{PASSWORD}@localhost:25?auth_without_tls=1")
    assert (relay.username, relay.password, relay.starttls) == (USER, PASSWORD, False)
    assert smtp_from_url("smtp://localhost:25").username == ""  # no AUTH: nothing to protect


def test_auth_without_tls_is_only_for_smtp_without_tls() -> None:
    with pytest.raises(ValueError, match="auth_without_tls"):
        smtp_from_url(f"smtps://{USER}:{PASSWORD}@mail.example.ee?auth_without_tls=1")
    with pytest.raises(ValueError, match="auth_without_tls"):
        smtp_from_url(f"smtp://{USER}:{PASSWORD}@mail.example.ee?starttls=1&auth_without_tls=1")

