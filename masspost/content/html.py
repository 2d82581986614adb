"""Which e-mail bodies are HTML, and keeping a plain-text body plain (docs/campaign.md, "E-mail").

One rule for the preview, which renders the body, and the MIME writer, which sends it as HTML or as text: a body
is HTML when it begins with "<". In an HTML body every merge value is escaped (`Template.render(escape=True)`), so
a patient called `<b>x</b>` or `Tom & Jerry` reads as text.
"""

from __future__ import annotations

from masspost.content.template import Template

# Invisible, and not white space to str.strip(): a plain-text body that a merge value made begin with "<" is
# prefixed with it, so that the writer does not take the body for HTML (the template is plain text).
PLAIN_TEXT_GUARD = "\u200b"  # ZERO WIDTH SPACE


def looks_like_html(text: str) -> bool:
    return text.lstrip().startswith("<")


def is_html_template(template: Template) -> bool:
    return looks_like_html(template.source)


def can_turn_html(template: Template) -> bool:
    """A plain-text template that a merge value could make begin with "<" (it begins with a merge field)."""
    return not is_html_template(template) and looks_like_html(template.render(dict.fromkeys(template.fields, "<")))


def keep_plain(text: str) -> str:
    """A plain-text body as it must be sent: guarded when a merge value made it begin with "<"."""
    return PLAIN_TEXT_GUARD + text if looks_like_html(text) else text
