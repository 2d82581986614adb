"""A refused send's "what changed since the preview", in the user's language.

The domain says it in masspost's English (campaigns.token, campaigns.changes: the CLI and the API print it as it
is). A page in Estonian or Russian must not: each kind of change is recognised here by its shape and said again
with its numbers; one not recognised becomes a plain "something about the patients or their clinics changed", never
English. Should the domain ever give its changes as codes with numbers, this module shrinks to a table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from masspost.web.presenting import reason_sentence

_N = r"(\d[\d,]*)"
_CHANNEL = {"SMS": "sms", "e-mail": "email"}


def _n(text: str) -> int:
    return int(text.replace(",", ""))


def _counted(singular: str, plural: str) -> Callable[[re.Match[str]], str]:
    def say(m: re.Match[str]) -> str:
        n = _n(m.group(1))
        return ngettext(singular, plural, n) % {"n": intcomma(n)}

    return say


def _left_out(m: re.Match[str]) -> str:
    n, channel = _n(m.group(1)), _CHANNEL[m.group(2)]
    why = ", ".join(reason_sentence(channel, reason, _n(k)) for reason, k in re.findall(r"(\w+) " + _N, m.group(3)))
    if channel == "sms":
        said = ngettext("%(n)s recipient is now left out of the SMS (%(why)s)",
                        "%(n)s recipients are now left out of the SMS (%(why)s)", n)
    else:
        said = ngettext("%(n)s recipient is now left out of the e-mail (%(why)s)",
                        "%(n)s recipients are now left out of the e-mail (%(why)s)", n)
    return said % {"n": intcomma(n), "why": why}


def _now_gets(m: re.Match[str]) -> str:
    n, channel = _n(m.group(1)), _CHANNEL[m.group(2)]
    if channel == "sms":
        said = ngettext("%(n)s patient now gets the SMS", "%(n)s patients now get the SMS", n)
    else:
        said = ngettext("%(n)s patient now gets the e-mail", "%(n)s patients now get the e-mail", n)
    return said % {"n": intcomma(n)}


def _other_reason(m: re.Match[str]) -> str:
    n, channel = _n(m.group(1)), _CHANNEL[m.group(2)]
    if channel == "sms":
        said = ngettext("%(n)s patient is left out of the SMS for another reason",
                        "%(n)s patients are left out of the SMS for other reasons", n)
    else:
        said = ngettext("%(n)s patient is left out of the e-mail for another reason",
                        "%(n)s patients are left out of the e-mail for other reasons", n)
    return said % {"n": intcomma(n)}


_RECIPIENTS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(rf"{_N} patients? no longer match(?:es)? the audience"),
     _counted("%(n)s patient no longer matches the filters", "%(n)s patients no longer match the filters")),
    (re.compile(rf"{_N} patients? newly match(?:es)? the audience"),
     _counted("%(n)s patient now matches the filters too", "%(n)s patients now match the filters too")),
    (re.compile(rf"{_N} recipients?'s? phone numbers? changed"),
     _counted("%(n)s recipient's phone number changed", "%(n)s recipients' phone numbers changed")),
    (re.compile(rf"{_N} recipients?'s? e-mail address(?:es)? changed"),
     _counted("%(n)s recipient's e-mail address changed", "%(n)s recipients' e-mail addresses changed")),
    (re.compile(rf"{_N} recipients?'s? language changed"),
     _counted("%(n)s recipient's language changed", "%(n)s recipients' language changed")),
    (re.compile(rf"{_N} recipients? (?:is|are) now left out of (SMS|e-mail) \((.*)\)"), _left_out),
    (re.compile(rf"{_N} patients? now gets? (SMS|e-mail)"), _now_gets),
    (re.compile(rf"{_N} patients? (?:is|are) left out of (SMS|e-mail) for (?:another reason|other reasons)"),
     _other_reason),
    (re.compile(rf"names or clinic details in {_N} messages? changed"),
     _counted("names or clinic details in %(n)s message changed", "names or clinic details in %(n)s messages changed")),
]
_RECIPIENTS_CHANGED = re.compile(rf"the recipients changed(?:: (.*))? \({_N} messages? at preview, {_N} now\)")


def _setup() -> dict[str, str]:
    return {
        "the campaign's name, purpose, channel or fallback language changed":
            _("the campaign's name, purpose, channel or fallback language changed"),
        "the texts changed": _("the texts changed"),
        "the audience filter changed (or the date ages and visits are counted from)":
            _("the filters changed (or the day that ages and visits are counted from)"),
        "the details of a clinic that the messages show or are sent with changed (name, phone, SMS sender or e-mail)":
            _("a clinic's details that the messages show or are sent with changed (name, phone, SMS sender or "
              "e-mail)"),
    }


def stale_changes(changes: list[str], message: str) -> list[str]:
    """What changed, one item each, in the user's language. `message`: the refusal's own words, for a refusal
    without a list (a token from an older masspost, a token cut short)."""
    if not changes:
        changes = [message]
    if (get_language() or "en").startswith("en"):
        return list(changes)
    return [_say(change) for change in changes]


def _say(change: str) -> str:
    if said := _setup().get(change):
        return said
    if "older version of masspost" in change:
        return _("the preview was made by an older version of masspost")
    if "token is malformed" in change:
        return _("the preview's code was cut short")
    if m := _RECIPIENTS_CHANGED.fullmatch(change):
        counts = ngettext("%(then)s message at preview, %(now)s now", "%(then)s messages at preview, %(now)s now",
                          _n(m.group(2))) % {"then": intcomma(_n(m.group(2))), "now": intcomma(_n(m.group(3)))}
        items = [_recipient(item) for item in m.group(1).split("; ")] if m.group(1) else []
        return _("the recipients changed: %(what)s (%(counts)s)") % {"what": "; ".join(items), "counts": counts} \
            if items else _("the recipients changed (%(counts)s)") % {"counts": counts}
    return _("something about the patients or their clinics changed")


def _recipient(item: str) -> str:
    for pattern, say in _RECIPIENTS:
        if m := pattern.fullmatch(item):
            return say(m)
    return _("something about the patients or their clinics changed")


def stale_view(exc: Any) -> dict[str, Any]:
    return {"changes": stale_changes(list(getattr(exc, "changes", []) or []), str(exc))}
