"""Real peers on loopback for the gateway tests (no Django, no database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from masspost.delivery.gateways.memory import MemoryGateway
from tests.peers.messente_api import MessentePeer
from tests.peers.net import TestCertificates, make_certificates
from tests.peers.smsc import SMSCPeer
from tests.peers.smtp_server import SMTPPeer
from tests.peers.twilio_api import TwilioPeer


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_certificates(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def smtp_server() -> Iterator[SMTPPeer]:
    server = SMTPPeer.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_starttls_server(certificates: TestCertificates) -> Iterator[SMTPPeer]:
    server = SMTPPeer.start(tls=certificates, starttls=True, users={"clinic": "s3cret pass"})
    yield server
    server.stop()


@pytest.fixture
def smtps_server(certificates: TestCertificates) -> Iterator[SMTPPeer]:
    server = SMTPPeer.start(tls=certificates, implicit_tls=True)
    yield server
    server.stop()


@pytest.fixture
def smsc() -> Iterator[SMSCPeer]:
    peer = SMSCPeer.start()
    yield peer
    peer.stop()


@pytest.fixture
def memory_gateway() -> Iterator[None]:
    """The in-memory gateway's outboxes and scripts, empty before and after the test."""
    MemoryGateway.reset()
    yield
    MemoryGateway.reset()


@pytest.fixture
def twilio() -> Iterator[TwilioPeer]:
    """Twilio's API on loopback (tests/peers/twilio_api.py)."""
    with TwilioPeer() as peer:
        yield peer


@pytest.fixture
def messente() -> Iterator[MessentePeer]:
    """Messente's API on loopback (tests/peers/messente_api.py)."""
    with MessentePeer() as peer:
        yield peer
