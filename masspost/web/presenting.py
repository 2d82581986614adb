"""The preview's data (Preview.to_dict, the CLI's --json) arranged for the page: rows per language, totals,
exclusions with their labels. Presentation only: every number comes from the preview as it is."""

from __future__ import annotations

from typing import Any

from babel import Locale, UnknownLocaleError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _lazy

REASONS = {
    "opted_out": _lazy("does not accept this channel"),
    "no_marketing_consent": _lazy("no marketing consent"),
    "no_content": _lazy("no text in their language"),
    "no_address": _lazy("no phone number or e-mail address"),
    "invalid_address": _lazy("phone number or e-mail cannot be used"),
    "no_sender": _lazy("their clinic has no sender for this channel"),
}
CHANNELS = {"sms": _lazy("SMS"), "email": _lazy("E-mail")}


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
        name = Locale.parse(code).get_display_name(get_language() or "en")
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    return name or code


def preview_view(data: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for lang, by_channel in data["recipients"].items():
        sms = data["sms"].get(lang)
        email = data["email"].get(lang)
        rows.append({"code": lang, "name": language_name(lang), "sms": by_channel.get("sms", 0),
                     "email": by_channel.get("email", 0), "sms_info": sms, "email_info": email})
    exclusions = []
    for channel, reasons in data["excluded"].items():
        for reason, n in reasons.items():
            if n:
                detail = ""
                if reason == "no_content":
                    langs = data["no_content_languages"].get(channel, {})
                    detail = ", ".join(f"{language_name(k) if k else '?'} {v}" for k, v in sorted(langs.items()))
                elif reason == "no_sender":
                    clinics = data["no_sender_clinics"].get(channel, {})
                    detail = ", ".join(code for code, v in clinics.items() if v["messages"])
                exclusions.append({"channel": channel, "channel_label": CHANNELS[channel], "reason": reason,
                                   "label": REASONS[reason], "count": n, "detail": detail})
    warnings = []
    for channel, by_lang in data["empty_merge_fields"].items():
        for lang, w in by_lang.items():
            warnings.append({"channel": CHANNELS[channel], "language": language_name(lang),
                             "recipients": w["recipients"], "fields": list(w["fields"]), "patients": w["patients"]})
    sms_recipients = sum(r["sms"] for r in rows)
    email_recipients = sum(r["email"] for r in rows)
    return {"p": data, "rows": rows, "exclusions": exclusions, "warnings": warnings,
            "no_language": no_language_view(data.get("no_language", {})),
            "sms_recipients": sms_recipients, "email_recipients": email_recipients,
            "excluded_total": sum(e["count"] for e in exclusions),
            "channels": [c for c in ("sms", "email") if c in data["campaign"]["channel"]
                         or data["campaign"]["channel"] == "both"]}


def count_view(counts: dict[str, Any], channel: str, tabs: list[str], written: set[str] | None = None,
               fallback: str | None = None) -> dict[str, Any]:
    """The live answer line: patients, then per channel recipients and those left out, by reason; and per tab
    its patients, with a warning where they have no text of their own (they get the fallback, or nothing)."""
    channels = ("sms", "email") if channel == "both" else (channel,)
    per_channel = []
    for ch in channels:
        recipients = sum(by.get(ch, 0) for by in counts["recipients"].values())
        reasons = [{"reason": r, "label": REASONS[r], "count": n} for r, n in counts["excluded"].get(ch, {}).items()
                   if n]
        per_channel.append({"channel": ch, "label": CHANNELS[ch], "recipients": recipients,
                            "excluded": sum(r["count"] for r in reasons), "reasons": reasons})
    return {"patients": counts["audience"]["patients"], "per_channel": per_channel,
            "languages": {code: counts["audience"]["languages"].get(code, 0) for code in tabs},
            "untexted": {code for code in tabs if written is not None and code not in written
                         and counts["audience"]["languages"].get(code, 0)},
            "fallback": fallback, "no_language": no_language_view(counts.get("no_language", {}))}


def no_language_view(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Patients without a language of their own, per language they get (their clinic's), named in the UI's
    language: "125 have no language set: they get Estonian, their clinic's language"."""
    return [{"code": code, "name": ui_language_name(code), "count": n} for code, n in counts.items() if n]
