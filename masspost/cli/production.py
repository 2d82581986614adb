"""What a command that serves or delivers checks before it starts."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError


def refuse_development_key(command: str) -> None:
    """In production mode (MASSPOST_PRODUCTION=1) a server or worker does not start with the development secret
    key: anyone who can read masspost's source could sign sessions with it (a forged sign-in)."""
    if settings.PRODUCTION and settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        raise CommandError(f"{command}: MASSPOST_PRODUCTION=1 needs MASSPOST_SECRET_KEY set to a secret of your "
                           "own (docs/ui.md, \"Running it for real\"); not started")
