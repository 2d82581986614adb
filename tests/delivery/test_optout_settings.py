"""When messages carry unsubscribe links and a mailto: (delivery.optout): only under a usable MASSPOST_PUBLIC_URL
(the webhooks' check: https, http only on this machine) and not with the public development secret key on a host
others can reach; MASSPOST_UNSUBSCRIBE_MAILTO only as one plain address. Otherwise no link ("": the stop word or a
reply instead), no mailto:, and `optout_links_problem` / `unsubscribe_mailto_problem` say why."""

from __future__ import annotations

from typing import Any

import pytest

from masspost.delivery.optout import (
    SAMPLE_KEY,
    optout_links_problem,
    optout_url,
    unsubscribe_mailto,
    unsubscribe_mailto_problem,
)

TEST_KEY = "test-secret-key-of-this-installation-not-the-development-one"


@pytest.fixture
def dev_key(settings: Any) -> None:
    settings.SECRET_KEY = settings.DEV_SECRET_KEY


@pytest.fixture
def own_key(settings: Any) -> None:
    settings.SECRET_KEY = TEST_KEY


@pytest.mark.usefixtures("own_key")
@pytest.mark.parametrize("public", ["https://post.hammas.example", "https://post.hammas.example:8443/masspost",
                                    "http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_a_usable_public_url_gives_links(settings: Any, public: str) -> None:
    settings.MASSPOST_PUBLIC_URL = public
    assert optout_links_problem() is None
    assert optout_url(SAMPLE_KEY) == f"{public}/u/{SAMPLE_KEY}"


@pytest.mark.usefixtures("own_key")
def test_no_public_url_no_links(settings: Any) -> None:
    settings.MASSPOST_PUBLIC_URL = ""
    assert optout_url(SAMPLE_KEY) == ""
    assert optout_links_problem() == "MASSPOST_PUBLIC_URL is not set"


@pytest.mark.usefixtures("own_key")
@pytest.mark.parametrize("public", [
    "http://post.hammas.example",  # the key, a credential, in clear across a network
    "https://user:secret@post.hammas.example", "https://post.hammas.example/?a=1", "https://post.hammas.example/#u",
    "post.hammas.example", "ftp://post.hammas.example",
])
def test_a_public_url_that_cannot_be_used_gives_no_links(settings: Any, public: str) -> None:
    settings.MASSPOST_PUBLIC_URL = public
    assert optout_url(SAMPLE_KEY) == ""
    problem = optout_links_problem()
    assert problem is not None and problem.startswith("MASSPOST_PUBLIC_URL is not https://")
    assert "secret" not in problem and "hammas" not in problem  # the value is never quoted


@pytest.mark.usefixtures("dev_key")
def test_the_development_key_gives_no_links_on_a_public_host(settings: Any) -> None:
    """Anyone can compute the development key's links for small sequential ids."""
    settings.MASSPOST_PUBLIC_URL = "https://post.hammas.example"
    assert optout_url(SAMPLE_KEY) == ""
    assert optout_links_problem() == "MASSPOST_SECRET_KEY is the development key (public: anyone could forge the links)"


@pytest.mark.usefixtures("dev_key")
@pytest.mark.parametrize("public", ["http://127.0.0.1:8000", "http://localhost:8000", "https://[::1]"])
def test_the_development_key_gives_links_on_this_machine(settings: Any, public: str) -> None:
    settings.MASSPOST_PUBLIC_URL = public
    assert optout_links_problem() is None and optout_url(SAMPLE_KEY) == f"{public}/u/{SAMPLE_KEY}"


@pytest.mark.parametrize("mailto", ["unsubscribe@hammas.example", "opt-out+tln@mail.hammas.example"])
def test_a_plain_address_is_the_mailto(settings: Any, mailto: str) -> None:
    settings.MASSPOST_UNSUBSCRIBE_MAILTO = mailto
    assert unsubscribe_mailto() == mailto and unsubscribe_mailto_problem() is None


def test_no_mailto_set(settings: Any) -> None:
    settings.MASSPOST_UNSUBSCRIBE_MAILTO = ""
    assert unsubscribe_mailto() == ""
    assert unsubscribe_mailto_problem() == "MASSPOST_UNSUBSCRIBE_MAILTO is not set"


@pytest.mark.parametrize("mailto", [
    "Hammas <unsubscribe@hammas.example>", "unsubscribe@hammas.example, all@hammas.example",
    "unsubscribe@hammas.example>", "un subscribe@hammas.example", "unsubscribe@hammas.example?bcc=all@example.com",
    "unsubscribe@hammas.example\r\nBcc: all@example.com", "unsub%40x@hammas.example", "unsubscribe#x@hammas.example",
    "unsubscribe", "ünsubscribe@hammas.example",
])
def test_anything_but_one_plain_address_is_ignored(settings: Any, mailto: str) -> None:
    settings.MASSPOST_UNSUBSCRIBE_MAILTO = mailto
    assert unsubscribe_mailto() == ""
    assert unsubscribe_mailto_problem() == ("MASSPOST_UNSUBSCRIBE_MAILTO is not one plain e-mail address "
                                            "(name@domain, no ?, # or %): ignored")
