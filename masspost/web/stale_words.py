"""A refused send's "what changed since the preview", in the user's language.

The domain gives each change as a code with its numbers (campaigns.changes.Change); its str() is masspost's
English for the CLI and the API. Here each code has its sentence in the user's language — English too, in the
page's words — with the numbers and their plural forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from masspost.campaigns import changes as c
from masspost.campaigns.changes import Change
from masspost.errors import StaleTokenError
from masspost.web.presenting import reason_sentence


def _n(p: dict[str, Any]) -> dict[str, str]:
    return {"n": intcomma(p["n"])}


def _left_out(p: dict[str, Any]) -> str:
    n, channel = p["n"], p["channel"]
    why = ", ".join(reason_sentence(channel, reason, k) for reason, k in sorted(p["reasons"].items()))
    if channel == "sms":
        said = ngettext("%(n)s recipient is now left out of the SMS (%(why)s)",
                        "%(n)s recipients are now left out of the SMS (%(why)s)", n)
    else:
        said = ngettext("%(n)s recipient is now left out of the e-mail (%(why)s)",
                        "%(n)s recipients are now left out of the e-mail (%(why)s)", n)
    return said % {"n": intcomma(n), "why": why}


def _recipients(p: dict[str, Any]) -> str:
    """The headline; what changed for the recipients (`items`) is a list of its own (stale_view)."""
    counts = ngettext("%(then)s message at preview, %(now)s now", "%(then)s messages at preview, %(now)s now",
                      p["then"]) % {"then": intcomma(p["then"]), "now": intcomma(p["now"])}
    return _("the recipients changed (%(counts)s)") % {"counts": counts}


# Each Change code's sentence (campaigns.changes.CODES: tests/web/test_send_stale.py checks that none is missing).
# Every string a literal in a gettext call of its own, for makemessages to find.
SAY: dict[str, Callable[[dict[str, Any]], str]] = {
    c.SETTINGS: lambda p: _("the campaign's name, purpose, channel or fallback language changed"),
    c.TEXTS: lambda p: _("the texts changed"),
    c.FILTERS: lambda p: _("the filters changed (or the day that ages and visits are counted from)"),
    c.CLINICS: lambda p: _("a clinic's details that the messages show or are sent with changed (name, phone, SMS "
                           "sender or e-mail)"),
    c.RECIPIENTS: _recipients,
    c.TOKEN_OLD: lambda p: _("the preview was made by an older version of masspost"),
    c.TOKEN_MALFORMED: lambda p: _("the preview's code was cut short"),
    c.GONE: lambda p: ngettext("%(n)s patient no longer matches the filters",
                               "%(n)s patients no longer match the filters", p["n"]) % _n(p),
    c.NEW: lambda p: ngettext("%(n)s patient now matches the filters too",
                              "%(n)s patients now match the filters too", p["n"]) % _n(p),
    c.ADDRESSES: lambda p: (
        ngettext("%(n)s recipient's phone number changed", "%(n)s recipients' phone numbers changed", p["n"])
        if p["channel"] == "sms" else
        ngettext("%(n)s recipient's e-mail address changed", "%(n)s recipients' e-mail addresses changed", p["n"])
    ) % _n(p),
    c.LANGUAGES: lambda p: ngettext("%(n)s recipient's language changed", "%(n)s recipients' language changed",
                                    p["n"]) % _n(p),
    c.LEFT_OUT: _left_out,
    c.NOW_GETS: lambda p: (
        ngettext("%(n)s patient now gets the SMS", "%(n)s patients now get the SMS", p["n"])
        if p["channel"] == "sms" else
        ngettext("%(n)s patient now gets the e-mail", "%(n)s patients now get the e-mail", p["n"])
    ) % _n(p),
    c.OTHER_REASON: lambda p: (
        ngettext("%(n)s patient is left out of the SMS for another reason",
                 "%(n)s patients are left out of the SMS for other reasons", p["n"])
        if p["channel"] == "sms" else
        ngettext("%(n)s patient is left out of the e-mail for another reason",
                 "%(n)s patients are left out of the e-mail for other reasons", p["n"])
    ) % _n(p),
    c.NAMES: lambda p: ngettext("names or clinic details in %(n)s message changed",
                                "names or clinic details in %(n)s messages changed", p["n"]) % _n(p),
}


def say(change: Change) -> str:
    """One change in the user's language — on an English page too, in the page's words ("the filters", a reason
    as a sentence), not the command line's ("the audience", "opted_out 1")."""
    return str(SAY[change.code](change.params))


def stale_view(exc: StaleTokenError) -> dict[str, Any]:
    """`changes`: each change's sentence (`text`) and, for the recipients', what changed for them (`details`), a
    list to read at a glance rather than one long sentence."""
    return {"changes": [{"text": say(change), "details": [say(item) for item in change.params.get("items", [])]}
                        for change in exc.said]}
