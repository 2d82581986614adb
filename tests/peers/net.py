"""Loopback helpers shared by the peers."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port that was free a moment ago (the peers need the number before they listen)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, kw_only=True)
class TestCertificates:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost, made at test time."""

    __test__ = False  # not a pytest test class

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certificates(directory: Path) -> TestCertificates:
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert(LOOPBACK, "localhost")
    ca_file = directory / "ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server.key"
    ca.cert_pem.write_to_path(str(ca_file))
    server.cert_chain_pems[0].write_to_path(str(cert_file))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_file), append=True)
    server.private_key_pem.write_to_path(str(key_file))
    return TestCertificates(ca_file=ca_file, cert_file=cert_file, key_file=key_file)
