"""Which language's text a patient gets (docs/campaign.md, "Language")."""

from __future__ import annotations

from collections.abc import Container


def choose_language(language: str, available: Container[str], fallback: str | None) -> str | None:
    """The patient's own language if it has text, else the fallback if that has text, else None."""
    if language in available:
        return language
    if fallback and fallback in available:
        return fallback
    return None
