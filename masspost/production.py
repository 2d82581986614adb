"""Production mode's one precondition for everything that serves or delivers: a secret key of its own.

The development key is public (it is in settings.py): anyone who can read masspost's source could sign sessions
with it (a forged sign-in). So in production mode (MASSPOST_PRODUCTION=1) nothing starts with it — `masspost
serve`, `masspost worker` (masspost.cli.production) and masspost.wsgi under any WSGI server — each with the same
one-line reason. Free of Django, so that masspost.wsgi asks before Django is set up."""

from __future__ import annotations


class DevelopmentKeyInProduction(RuntimeError):
    """Production mode with the development secret key: the process must not start (the message says why)."""


def development_key_reason(who: str, *, production: bool, secret_key: str, development_key: str) -> str | None:
    """Why `who` must not start, in one line — or None when it may."""
    if production and secret_key == development_key:
        return (f"{who}: MASSPOST_PRODUCTION=1 needs MASSPOST_SECRET_KEY set to a secret of your own (docs/ui.md, "
                "\"Running it for real\"); not started")
    return None


def refuse_development_key(who: str, *, production: bool, secret_key: str, development_key: str) -> None:
    """Raise DevelopmentKeyInProduction when `who` must not start (development_key_reason)."""
    reason = development_key_reason(who, production=production, secret_key=secret_key,
                                    development_key=development_key)
    if reason is not None:
        raise DevelopmentKeyInProduction(reason)
