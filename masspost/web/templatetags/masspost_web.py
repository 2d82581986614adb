from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def tab_fields(form: Any, code: str) -> dict[str, Any]:
    """The SMS, subject and body fields of one language tab."""
    return form.text_fields(code)


@register.filter
def codepoint(char: str) -> str:
    """"õ" → "U+00F5 LATIN SMALL LETTER O WITH TILDE": what a highlighted character is, on hover."""
    import unicodedata

    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".strip() if len(char) == 1 else char
