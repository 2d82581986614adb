"""Merge-field templates: `Tere {first_name}!`.

Only the allow-listed names render. The template is parsed by hand rather than handed to `str.format`, so
no attribute access (`{first_name.__class__}`), indexing, conversion (`!r`) or format spec can ever reach a
value: anything but a plain allowed name is an error naming its position. `{{` and `}}` are literal braces.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

MERGE_FIELDS: tuple[str, ...] = ("first_name", "last_name", "clinic_name", "clinic_phone")
PER_RECIPIENT: tuple[str, ...] = ("first_name", "last_name")  # the fields Template.bind leaves to each recipient

_NAME = re.compile(r"[a-z_]+\Z")
_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A malformed template. `code` names the kind, stable for programs and translations; `field` is the name
    written in the braces ("" when there is none); `position` is 1-based, counted in characters. The message is
    English, for the API's `detail` and the command line; an interface in another language says it from `code`
    and `field` (masspost.web.forms.template_message)."""

    UNCLOSED = "unclosed_brace"  # '{' with no '}' after it
    STRAY_CLOSE = "unopened_brace"  # '}' with no '{' before it
    EMPTY = "empty_field"  # '{}'
    NOT_A_NAME = "not_a_field_name"  # '{first_name.x}', '{0}', '{first_name!r}'
    UNKNOWN = "unknown_field"  # '{eesnimi}': a plain name that is not a merge field

    def __init__(self, reason: str, position: int, *, code: str, field: str = "") -> None:
        super().__init__(f"position {position}: {reason}")
        self.reason = reason
        self.position = position
        self.code = code
        self.field = field

    @property
    def params(self) -> dict[str, object]:
        """What the message says, as values: the problem's `params` in the API."""
        return {"position": self.position, "field": self.field, "allowed": list(MERGE_FIELDS)}


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    fields: frozenset[str]
    _format: str  # the source rewritten as a str.format string over validated names only

    def render(self, values: Mapping[str, str], *, escape: bool = False) -> str:
        """The text with `values` merged; `escape`: HTML-escaped first (& < > " '), for an HTML e-mail body."""
        if escape:
            return self._format.format_map({name: html.escape(values[name]) for name in self.fields})
        return self._format.format_map(values)


    def bind(self, fixed: Mapping[str, str], *, escape: bool = False) -> str:
        """This template as a positional `str.format` string with `fixed`'s values merged in now (HTML-escaped
        when `escape`) and the per-recipient fields left as `{0}` (first_name) and `{1}` (last_name):
        `template.bind(clinic).format(first, last)` is `template.render({**clinic, "first_name": first,
        "last_name": last})`. A bulk pass merges a clinic's own values once per clinic, not once per recipient."""
        out: list[str] = []
        for literal, name, _, _ in _FORMATTER.parse(self._format):
            out.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is None:
                continue
            if name in PER_RECIPIENT:
                out.append(f"{{{PER_RECIPIENT.index(name)}}}")
            else:
                value = html.escape(fixed[name]) if escape else fixed[name]
                out.append(value.replace("{", "{{").replace("}", "}}"))
        return "".join(out)


def compile_template(source: str) -> Template:
    out: list[str] = []
    fields: set[str] = set()
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "{":
            if i + 1 < n and source[i + 1] == "{":
                out.append("{{")
                i += 2
                continue
            close = source.find("}", i + 1)
            opener = source.find("{", i + 1)
            if close == -1 or (opener != -1 and opener < close):
                raise TemplateError("'{' is not closed (write '{{' for a literal brace)", i + 1,
                                    code=TemplateError.UNCLOSED)
            name = source[i + 1 : close]
            if not name.strip():
                raise TemplateError("empty merge field '{}'", i + 1, code=TemplateError.EMPTY)
            if not _NAME.match(name):
                raise TemplateError(
                    f"merge field '{{{name}}}' is not a plain name (allowed: {_allowed()})", i + 1,
                    code=TemplateError.NOT_A_NAME, field=name)
            if name not in MERGE_FIELDS:
                raise TemplateError(f"unknown merge field '{{{name}}}' (allowed: {_allowed()})", i + 1,
                                    code=TemplateError.UNKNOWN, field=name)
            fields.add(name)
            out.append("{" + name + "}")
            i = close + 1
        elif ch == "}":
            if i + 1 < n and source[i + 1] == "}":
                out.append("}}")
                i += 2
                continue
            raise TemplateError("'}' without '{' (write '}}' for a literal brace)", i + 1,
                                code=TemplateError.STRAY_CLOSE)
        else:
            j = i
            while j < n and source[j] not in "{}":
                j += 1
            out.append(source[i:j])
            i = j
    return Template(source=source, fields=frozenset(fields), _format="".join(out))


def _allowed() -> str:
    return ", ".join("{" + f + "}" for f in MERGE_FIELDS)
