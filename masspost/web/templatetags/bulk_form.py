"""The Bulk Mail form's own filters."""

from __future__ import annotations

from django import template
from django.core.exceptions import ValidationError

from masspost.content import TemplateError
from masspost.web.forms import template_message

register = template.Library()


@register.filter
def merge_problem(error: TemplateError, text: str = "") -> str:
    """A template error in the user's language (forms.template_message): `{{ template_error|merge_problem:text }}`."""
    return template_message(error, text)


@register.filter
def coded(errors: object, code: str) -> list[str]:
    """A field's errors of one code (`"template"`), or all others (`"-template"`), as messages."""
    data: list[ValidationError] = getattr(errors, "as_data", list)()
    keep = (lambda c: c != code[1:]) if code.startswith("-") else (lambda c: c == code)
    return [message for e in data if keep(e.code) for message in e.messages]
