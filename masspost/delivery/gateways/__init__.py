"""Gateways by URL (docs/delivery.md): file://, console:, memory:, smtp://, smtps://, smpp://."""

from __future__ import annotations

from importlib import import_module
from urllib.parse import urlsplit

from masspost.delivery.gateways.base import Gateway
from masspost.errors import MasspostError

_SCHEMES = {
    "file": "masspost.delivery.gateways.file",
    "console": "masspost.delivery.gateways.console",
    "memory": "masspost.delivery.gateways.memory",
    "smtp": "masspost.delivery.gateways.smtp",
    "smtps": "masspost.delivery.gateways.smtp",
    "smpp": "masspost.delivery.gateways.smpp",
}


def gateway_from_url(url: str) -> Gateway:
    scheme = urlsplit(url).scheme
    module = _SCHEMES.get(scheme)
    if module is None:
        raise MasspostError(f"unknown gateway URL scheme {scheme + ':' if scheme else url!r} "
                            f"(use one of {', '.join(s + ':' for s in _SCHEMES)})")
    try:
        gateway: Gateway = import_module(module).from_url(url)
    except ValueError as exc:
        raise MasspostError(f"bad {scheme} gateway URL: {exc}") from None
    return gateway
