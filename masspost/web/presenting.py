"""The preview's data (Preview.to_dict, the CLI's --json) arranged for the page: rows per language, totals,
exclusions with their labels. Presentation only: every number comes from the preview as it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from babel import Locale, UnknownLocaleError
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, ngettext, ngettext_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from masspost.sms import ucs2_reasons
from masspost.web.sms_words import encoding_help, encoding_title, limits, names_sentence, why_ucs2
from masspost.web.templatetags.masspost_format import money, when

CHANNELS = {"sms": _lazy("SMS"), "email": _lazy("E-mail")}

# Per channel: why a patient got nothing on it, as a label beside a count ("No phone number  44").
LEFT_OUT: dict[str, dict[str, Promise]] = {
    "sms": {
        "opted_out": _lazy("Does not want SMS"),
        "no_marketing_consent": _lazy("No consent to SMS marketing"),
        "no_content": _lazy("No text in their language"),
        "no_address": _lazy("No phone number"),
        "invalid_address": _lazy("Phone number cannot be used"),
        "recently_messaged": _lazy("Got an SMS recently"),
        "shared_address": _lazy("Shares the phone number with the one who gets it"),
        "no_sender": _lazy("Their clinic has no SMS sender name"),
    },
    "email": {
        "opted_out": _lazy("Does not want e-mail"),
        "no_marketing_consent": _lazy("No consent to e-mail marketing"),
        "no_content": _lazy("No text in their language"),
        "no_address": _lazy("No e-mail address"),
        "invalid_address": _lazy("E-mail address cannot be used"),
        "recently_messaged": _lazy("Got an e-mail recently"),
        "shared_address": _lazy("Shares the e-mail address with the one who gets it"),
        "no_sender": _lazy("Their clinic has no sender e-mail address"),
    },
}

# Why patients are left out of a channel, as a sentence with its number ("6 patients have opted out of SMS"):
# per channel where the channel changes the words, in each language's plural forms. `count` picks the form,
# `n` is the number as shown (grouped).
_ANY = "*"
REASON_SENTENCES: dict[tuple[str, str], Promise] = {
    ("sms", "opted_out"): ngettext_lazy("%(n)s patient has opted out of SMS",
                                        "%(n)s patients have opted out of SMS", "count"),
    ("email", "opted_out"): ngettext_lazy("%(n)s patient has opted out of e-mail",
                                          "%(n)s patients have opted out of e-mail", "count"),
    ("sms", "no_marketing_consent"): ngettext_lazy("%(n)s patient has not agreed to SMS marketing",
                                                   "%(n)s patients have not agreed to SMS marketing", "count"),
    ("email", "no_marketing_consent"): ngettext_lazy("%(n)s patient has not agreed to e-mail marketing",
                                                     "%(n)s patients have not agreed to e-mail marketing", "count"),
    # Without a channel (an export of one reason over both channels): which consent is missing is not known.
    (_ANY, "no_marketing_consent"): ngettext_lazy("%(n)s patient has not agreed to marketing",
                                                  "%(n)s patients have not agreed to marketing", "count"),
    (_ANY, "no_content"): ngettext_lazy("%(n)s patient has no text in their language",
                                        "%(n)s patients have no text in their language", "count"),
    ("sms", "no_address"): ngettext_lazy("%(n)s patient has no phone number",
                                         "%(n)s patients have no phone number", "count"),
    ("email", "no_address"): ngettext_lazy("%(n)s patient has no e-mail address",
                                           "%(n)s patients have no e-mail address", "count"),
    ("sms", "invalid_address"): ngettext_lazy("%(n)s patient has a phone number that cannot be used",
                                              "%(n)s patients have a phone number that cannot be used", "count"),
    ("email", "invalid_address"): ngettext_lazy("%(n)s patient has an e-mail address that cannot be used",
                                                "%(n)s patients have an e-mail address that cannot be used",
                                                "count"),
    ("sms", "recently_messaged"): ngettext_lazy("%(n)s patient got an SMS of this kind recently",
                                                "%(n)s patients got an SMS of this kind recently", "count"),
    ("email", "recently_messaged"): ngettext_lazy("%(n)s patient got an e-mail of this kind recently",
                                                  "%(n)s patients got an e-mail of this kind recently", "count"),
    ("sms", "shared_address"): ngettext_lazy("%(n)s patient shares a phone number with someone who gets the SMS",
                                             "%(n)s patients share a phone number with someone who gets the SMS",
                                             "count"),
    ("email", "shared_address"): ngettext_lazy(
        "%(n)s patient shares an e-mail address with someone who gets the e-mail",
        "%(n)s patients share an e-mail address with someone who gets the e-mail", "count"),
    ("sms", "no_sender"): ngettext_lazy("%(n)s patient: their clinic has no SMS sender set up",
                                        "%(n)s patients: their clinic has no SMS sender set up", "count"),
    ("email", "no_sender"): ngettext_lazy("%(n)s patient: their clinic has no e-mail sender set up",
                                          "%(n)s patients: their clinic has no e-mail sender set up", "count"),
}


def reason_sentence(channel: str, reason: str, n: int) -> str:
    """"6 patients have opted out of SMS", "1 patient has no e-mail address": a reason with its number, in the
    user's language; a reason without a sentence of its own is its label with the number ("No phone number: 6")."""
    sentence = REASON_SENTENCES.get((channel, reason)) or REASON_SENTENCES.get((_ANY, reason))
    if sentence is None:
        return f"{LEFT_OUT.get(channel, {}).get(reason, reason)}: {intcomma(n)}"
    return str(sentence % {"count": n, "n": intcomma(n)})


def babel_language() -> str:
    """The UI's language as Babel names it: "et", "ru", "en" (not "en-us")."""
    return (get_language() or "en").split("-")[0]


def country_name(code: str) -> str:
    """A country by its name in the UI's language ("Soome", "Финляндия", "Finland"); a code Babel does not know
    stays as it is."""
    try:
        name = Locale.parse(babel_language()).territories.get(code.upper())
    except (UnknownLocaleError, ValueError, TypeError):
        name = None
    return name or code


def language_name(code: str) -> str:
    """A language in its own words ("eesti", "русский"), as a patient would name it."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    return name[:1].upper() + name[1:] if name else code


def ui_language_name(code: str) -> str:
    """A language in the UI's language."""
    try:
        name = Locale.parse(code).get_display_name(babel_language())
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    return name or code


def preview_view(data: dict[str, Any], *, order: Sequence[str] = (),
                 clinic_names: dict[str, str] | None = None) -> dict[str, Any]:
    """The page's context. `order`: the languages in the order of the form's tabs (the rows follow it; a language
    not among them comes after, by code); `clinic_names`: code → name of the clinics the patients are drawn from
    (named in the confirmation and wherever a clinic is meant)."""
    names = clinic_names or {}
    position = {code: i for i, code in enumerate(order)}
    rows = []
    for lang, by_channel in sorted(data["recipients"].items(), key=lambda kv: (position.get(kv[0], len(position)),
                                                                               kv[0])):
        sms = data["sms"].get(lang)
        email = data["email"].get(lang)
        encodings = [{"name": enc, "title": encoding_title(enc)} for enc in (sms or {}).get("encodings", {})]
        rows.append({"code": lang, "name": language_name(lang), "sms": by_channel.get("sms", 0),
                     "email": by_channel.get("email", 0), "sms_info": sms, "email_info": email,
                     "encodings": encodings, "ucs2": _row_ucs2(sms)})
    channel = data["campaign"]["channel"]
    channels = ["sms", "email"] if channel == "both" else [channel]
    recipients = {"sms": sum(r["sms"] for r in rows), "email": sum(r["email"] for r in rows)}
    left_out = []
    for channel in channels:
        reasons = []
        for reason, n in data["excluded"].get(channel, {}).items():
            if not n:
                continue
            detail = ""
            if reason == "no_content":
                langs = data["no_content_languages"].get(channel, {})
                detail = ", ".join(f"{language_name(k) if k else '?'} {intcomma(v)}" for k, v in sorted(langs.items()))
            elif reason == "no_sender":
                clinics = data["no_sender_clinics"].get(channel, {})
                detail = ", ".join(names.get(code, code) for code, v in clinics.items() if v["messages"])
            reasons.append({"reason": reason, "count": n, "sentence": reason_sentence(channel, reason, n),
                            "detail": detail})
        left_out.append({"channel": channel, "label": CHANNELS[channel], "recipients": recipients[channel],
                         "excluded": sum(r["count"] for r in reasons), "reasons": reasons})
    warnings = []
    for channel, by_lang in data["empty_merge_fields"].items():
        for lang, w in by_lang.items():
            warnings.append({"channel": CHANNELS[channel], "language": language_name(lang),
                             "recipients": w["recipients"], "fields": list(w["fields"]), "patients": w["patients"]})
    fallback = data["campaign"].get("fallback_language") or ""
    return {"p": data, "rows": rows, "left_out": left_out, "warnings": warnings,
            "fallback_name": ui_language_name(fallback) if fallback else "",
            "no_language": no_language_view(data.get("no_language", {})),
            "sms_recipients": recipients["sms"], "email_recipients": recipients["email"],
            "channels": channels, "clinics": list(names.values()), "encoding_help": encoding_help(),
            "messages_sentence": messages_sentence(messages=data["messages_total"], sms=recipients["sms"],
                                                   parts=data["sms_parts_total"], emails=data["emails_total"],
                                                   channels=channels)}


def _row_ucs2(sms: dict[str, Any] | None) -> dict[str, Any] | None:
    """Why a language's SMS are UCS-2: its text's own characters (the letters named once, or what could be
    replaced), and apart from them letters that only some patients' names bring (then only their SMS are)."""
    if not sms or not sms.get("ucs2_characters"):
        return None
    multi = (sms.get("parts_max") or 1) > 1
    in_text = "".join(c["char"] for c in sms["ucs2_characters"] if c["source"] == "text")
    in_names = "".join(c["char"] for c in sms["ucs2_characters"] if c["source"] != "text")
    out: dict[str, Any] = {"text": why_ucs2(in_text, multi_part=multi), "names": None}
    if in_names and not (out["text"] and out["text"]["letters"]):  # the text's own letters make every SMS UCS-2
        ucs2, gsm7 = limits(multi_part=multi)
        out["names"] = names_sentence(ucs2_reasons(in_names), ucs2=ucs2, gsm7=gsm7)
    return out


def messages_sentence(*, messages: int, sms: int, parts: int, emails: int, channels: Sequence[str]) -> SafeString:
    """"216 messages: 129 SMS (319 parts) and 87 e-mails" — the way it adds up; SMS alone "129 SMS (319 parts)",
    e-mail alone "87 e-mails". Each number is marked (data-n) so that a test can add them up as a reader would."""
    def number(name: str, n: int) -> SafeString:
        return format_html('<b data-n="{}">{}</b>', name, intcomma(n))

    def piece(words: str, name: str, n: int) -> SafeString:  # "87 e-mails" never breaks inside
        return format_html('<span class="piece">{}</span>', format_html(words, n=number(name, n)))

    sms_part = piece(ngettext("{n} SMS", "{n} SMS", sms), "sms", sms)
    parts_part = piece(ngettext("{n} part", "{n} parts", parts), "parts", parts)
    emails_part = piece(ngettext("{n} e-mail", "{n} e-mails", emails), "emails", emails)
    if list(channels) == ["email"]:
        return emails_part
    if list(channels) == ["sms"]:
        return format_html(_("{sms} ({parts})"), sms=sms_part, parts=parts_part)
    messages_part = piece(ngettext("{n} message", "{n} messages", messages), "messages", messages)
    return format_html(_("{messages}: {sms} ({parts}) and {emails}"), messages=messages_part, sms=sms_part,
                       parts=parts_part, emails=emails_part)


def count_view(counts: dict[str, Any], channel: str, tabs: list[str], written: set[str] | None = None,
               fallback: str | None = None, faulty: set[str] | None = None,
               mended: dict[str, Any] | None = None) -> dict[str, Any]:
    """The live answer line: patients, then per channel recipients and those left out, by reason; and per tab
    its patients, with a warning where they have no text of their own (they get the fallback, or nothing) or
    where the text has a mistake (`faulty`). `mended`: the counts as if those texts were fixed — its reasons
    are the true ones, and the patients it reaches beyond `counts` wait for the fix (not "no text")."""
    channels = ("sms", "email") if channel == "both" else (channel,)
    per_channel = []
    for ch in channels:
        recipients = sum(by.get(ch, 0) for by in counts["recipients"].values())
        reasons_from = mended or counts
        wait = sum(by.get(ch, 0) for by in mended["recipients"].values()) - recipients if mended else 0
        reasons = [{"reason": r, "count": n, "sentence": reason_sentence(ch, r, n)}
                   for r, n in reasons_from["excluded"].get(ch, {}).items() if n]
        if wait:
            reasons.append({"reason": "text_mistake", "count": wait, "sentence": ngettext(
                "the text for %(n)s patient has a mistake", "the text for %(n)s patients has a mistake", wait)
                % {"n": intcomma(wait)}})
        per_channel.append({"channel": ch, "label": CHANNELS[ch], "recipients": recipients,
                            "excluded": sum(r["count"] for r in reasons), "reasons": reasons})
    return {"patients": counts["audience"]["patients"], "per_channel": per_channel,
            "languages": {code: counts["audience"]["languages"].get(code, 0) for code in tabs},
            "untexted": {code for code in tabs if written is not None and code not in written
                         and counts["audience"]["languages"].get(code, 0)},
            "faulty": faulty or set(),
            "fallback": fallback, "no_language": no_language_view(counts.get("no_language", {}))}


def no_language_view(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Patients without a language of their own, per language they get (their clinic's), named in the UI's
    language: "125 have no language set: they get Estonian, their clinic's language"."""
    return [{"code": code, "name": ui_language_name(code), "count": n} for code, n in counts.items() if n]


# --- When it goes (issue 19): the preview's and the campaign page's schedule in words --------------------------

def moment_words(value: dt.datetime) -> str:
    """"today 14:05", "tomorrow 09:00", else as `when:"short"` shows it ("12.03 09:00") — in the user's zone."""
    local = timezone.localtime(value)
    today = timezone.localdate()
    time = date_format(local, get_format("TIME_FORMAT"))
    if local.date() == today:
        return _("today %(time)s") % {"time": time}
    if local.date() == today + dt.timedelta(days=1):
        return _("tomorrow %(time)s") % {"time": time}
    return when(value, "short")


def opening_words(*, held: str, opens_at: dt.datetime | None, starts_at: dt.datetime, scheduled: bool) -> str:
    """When one clinic's messages go: "at once", "tomorrow 09:00", "tomorrow 09:00, after the quiet hours",
    "26.12 09:00, after the public holiday"; none before the deadline said so."""
    if opens_at is None:
        return _("not before the deadline: its messages will not be sent")
    if held == "quiet_hours":
        return _("%(when)s, after the quiet hours") % {"when": moment_words(opens_at)}
    if held == "holiday":
        return _("%(when)s, after the public holiday") % {"when": moment_words(opens_at)}
    if not scheduled:
        return _("at once")
    return moment_words(starts_at)


def timing_view(timing: Any) -> dict[str, Any] | None:
    """campaigns.timing.Timing for the page: per clinic its words (opening_words), the deadline, and the earliest
    start (the send dialog's "Scheduled for …"). None: the preview has no timing (nothing to say)."""
    if timing is None:
        return None
    clinics = [{"code": c.code, "name": c.name, "held": c.held, "never": c.opens_at is None,
                "words": opening_words(held=c.held, opens_at=c.opens_at, starts_at=c.starts_at,
                                       scheduled=timing.scheduled)} for c in timing.clinics]
    starts = sorted(c.starts_at for c in timing.clinics)
    first = starts[0] if starts else None
    return {"scheduled": bool(timing.scheduled), "clinics": clinics, "deadline": timing.deadline,
            "starts_at": first, "starts_words": moment_words(first) if first else "",
            "one_start": len({s for s in starts}) <= 1}


def ago_words(value: dt.datetime, now: dt.datetime | None = None) -> str:
    """"just now", "8 minutes ago", "3 hours ago": within a day, which is all the 24 h warning needs."""
    minutes = int(((now or timezone.now()) - value).total_seconds() // 60)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return ngettext("%(n)s minute ago", "%(n)s minutes ago", minutes) % {"n": minutes}
    hours = minutes // 60
    return ngettext("%(n)s hour ago", "%(n)s hours ago", hours) % {"n": hours}


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, Mapping) else getattr(item, name)


def recent_view(recent: Any, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The 24 h warning: "152 of these 154 patients got “Recall A” 8 minutes ago", with the campaign's id to link."""
    if not recent:
        return None
    patients, of = int(_field(recent, "patients")), int(_field(recent, "of"))
    sent_at = _field(recent, "sent_at")
    if isinstance(sent_at, str):
        sent_at = dt.datetime.fromisoformat(sent_at)
    starts_at = recent.get("starts_at") if isinstance(recent, Mapping) else getattr(recent, "starts_at", None)
    if isinstance(starts_at, str):
        starts_at = dt.datetime.fromisoformat(starts_at)
    if starts_at is not None:  # scheduled, not started: they have not got it yet
        sentence = ngettext("%(patients)s of these %(of)s patients are to get “%(name)s” %(when)s.",
                            "%(patients)s of these %(of)s patients are to get “%(name)s” %(when)s.", of) % {
            "patients": intcomma(patients), "of": intcomma(of), "name": _field(recent, "name"),
            "when": moment_words(starts_at)}
        return {"campaign_id": _field(recent, "campaign_id"), "sentence": sentence}
    sentence = ngettext("%(patients)s of these %(of)s patients got “%(name)s” %(ago)s.",
                        "%(patients)s of these %(of)s patients got “%(name)s” %(ago)s.", of) % {
        "patients": intcomma(patients), "of": intcomma(of), "name": _field(recent, "name"),
        "ago": ago_words(sent_at, now)}
    return {"campaign_id": _field(recent, "campaign_id"), "sentence": sentence}


def approval_words(approval: Any, clinic_names: dict[str, str] | None = None) -> str:
    """"Needs a second approver: over 150 recipients (the rule of Hammas Tallinn)." — or the cost rule's."""
    if not approval:
        return ""
    rule, over = _field(approval, "rule"), str(_field(approval, "over"))
    clinic = (clinic_names or {}).get(_field(approval, "clinic"), _field(approval, "clinic"))
    if rule == "cost":
        amount, _sep, currency = over.partition(" ")
        shown = money(amount, currency or "EUR")
        return _("Needs a second approver: the SMS cost is over %(over)s (the rule of %(clinic)s).") \
            % {"over": shown, "clinic": clinic}
    shown = intcomma(int(over)) if over.isdigit() else over
    return _("Needs a second approver: over %(over)s recipients (the rule of %(clinic)s).") \
        % {"over": shown, "clinic": clinic}
