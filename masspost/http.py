"""What the web UI and the REST API both read off a request."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address, for the audit log and the sign-in lockout (django-axes: AXES_CLIENT_IP_CALLABLE):
    the connection's peer, or — when that peer is one of the reverse proxies named in MASSPOST_TRUSTED_PROXIES —
    the last address that proxy put in X-Forwarded-For (the one it saw itself; anything before it the client
    could have written). A forwarded value that is not an IP address is not taken: the peer stays."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    if peer in settings.MASSPOST_TRUSTED_PROXIES:
        forwarded = [a.strip() for a in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if a.strip()]
        if forwarded and _is_address(forwarded[-1]):
            peer = forwarded[-1]
    return peer[:45]


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
