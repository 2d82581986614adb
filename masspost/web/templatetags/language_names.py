"""A patient's language by its own name ("Eesti", "Русский"), the same on every page that shows patient languages
(Bulk Mail's tabs, the preview's rows, a campaign's texts and its messages)."""

from __future__ import annotations

from django import template

from masspost.web.presenting import language_name

register = template.Library()


@register.filter
def own_name(code: str | None) -> str:
    """A language code as the language names itself; "" for none."""
    return language_name(code) if code else ""
