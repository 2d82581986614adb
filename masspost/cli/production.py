"""What a command that serves or delivers checks before it starts (masspost.production, as a CommandError)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from masspost.production import development_key_reason


def refuse_development_key(command: str) -> None:
    """In production mode (MASSPOST_PRODUCTION=1) a server or worker does not start with the development secret
    key: one line on stderr says why (masspost.production)."""
    reason = development_key_reason(command, production=settings.PRODUCTION, secret_key=settings.SECRET_KEY,
                                    development_key=settings.DEV_SECRET_KEY)
    if reason is not None:
        raise CommandError(reason)
