"""Gateways by URL (docs/delivery.md): file://, console:, memory:, smtp://, smtps://, smpp://, and the HTTP SMS
providers twilio:// and messente:// (`+http` for a test peer on loopback; see `http_sms`)."""

from __future__ import annotations

import inspect
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from masspost.delivery.gateways.base import Gateway
from masspost.errors import GatewayConfigError, MasspostError

_SCHEMES = {
    "file": "masspost.delivery.gateways.file",
    "console": "masspost.delivery.gateways.console",
    "memory": "masspost.delivery.gateways.memory",
    "smtp": "masspost.delivery.gateways.smtp",
    "smtps": "masspost.delivery.gateways.smtp",
    "smpp": "masspost.delivery.gateways.smpp",
}
# The HTTP SMS providers, scheme → the module with what is the provider's own (`http_sms`, "a provider module").
# Each is reached at `scheme://` (HTTPS) and `scheme+http://` (plain HTTP, loopback only), both built by `http_sms`.
HTTP_PROVIDERS = {
    "twilio": "masspost.delivery.gateways.twilio",
    "messente": "masspost.delivery.gateways.messente",
}
_SCHEMES.update({scheme: "masspost.delivery.gateways.http_sms"
                 for provider in HTTP_PROVIDERS for scheme in (provider, f"{provider}+http")})


def gateway_from_url(url: str, **hooks: Any) -> Gateway:
    """The gateway for `url`; `hooks` (on_delivery_receipt, on_incoming, …) go to the gateways that take them.
    A URL that cannot be used raises `GatewayConfigError`, which never names the URL's user name or password: the
    gateways parse with gateways.url, whose errors never quote the URL."""
    scheme = urlsplit(url).scheme
    module = _SCHEMES.get(scheme)
    if module is None:
        choices = ", ".join(s + ":" for s in _SCHEMES)
        # Without "//" after it, what urllib calls the scheme of "user:password@host" is the user name.
        if scheme and (url.startswith(f"{scheme}://") or "@" not in url):
            raise GatewayConfigError(f"unknown gateway URL scheme '{scheme}:' (use one of {choices})")
        raise GatewayConfigError(f"not a gateway URL: it starts with one of {choices} "
                                 "(e.g. smtp://user:password@host:587?starttls=1)")
    factory = import_module(module).from_url
    accepted = inspect.signature(factory).parameters
    try:
        gateway: Gateway = factory(url, **{k: v for k, v in hooks.items() if k in accepted})
    except ValueError as exc:
        raise GatewayConfigError(f"bad {scheme} gateway URL: {exc}") from None
    except MasspostError as exc:  # a gateway that says so itself (file://)
        raise GatewayConfigError(str(exc)) from None
    return gateway

