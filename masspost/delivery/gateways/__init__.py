"""Gateways by URL (docs/delivery.md): file://, console:, memory:, smtp://, smtps://, smpp://."""

from __future__ import annotations

import inspect
from importlib import import_module
from typing import Any
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


def gateway_from_url(url: str, **hooks: Any) -> Gateway:
    """The gateway for `url`; `hooks` (on_delivery_receipt, on_incoming, …) go to the gateways that take them."""
    scheme = urlsplit(url).scheme
    module = _SCHEMES.get(scheme)
    if module is None:
        raise MasspostError(f"unknown gateway URL scheme {scheme + ':' if scheme else url!r} "
                            f"(use one of {', '.join(s + ':' for s in _SCHEMES)})")
    factory = import_module(module).from_url
    accepted = inspect.signature(factory).parameters
    try:
        gateway: Gateway = factory(url, **{k: v for k, v in hooks.items() if k in accepted})
    except ValueError as exc:
        raise MasspostError(f"bad {scheme} gateway URL: {exc}") from None
    return gateway
