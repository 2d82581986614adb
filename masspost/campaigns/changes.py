"""What changed between a preview and now, each kind of change a `Change`: a stable code with its numbers, whose
str() is the sentence in masspost's English that the CLI and the API print ("2 recipients' phone numbers
changed"). An interface in another language says a Change in its own words from its code and params
(web.stale_words), never from the English. `recipient_changes` compares the preview's fingerprint
(campaigns.snapshot) with one made now. Counts only: never a name, an address or an external id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from masspost.campaigns.rules import REASONS
from masspost.campaigns.snapshot import Seen
from masspost.wording import agree, count

_CHANNEL = {"sms": "SMS", "email": "e-mail"}
_ADDRESS = {"sms": ("phone number", "phone numbers"), "email": ("e-mail address", "e-mail addresses")}
_REASONS = frozenset(REASONS)

# The codes (stable: the API gives them, docs/api.md "Errors"). Of the campaign itself, known without looking at a
# patient (campaigns.token):
SETTINGS = "settings_changed"
TEXTS = "texts_changed"
FILTERS = "audience_changed"
CLINICS = "clinic_details_changed"
RECIPIENTS = "recipients_changed"  # then, now (messages); items: the Changes below, when the preview's fingerprint says
# A token that cannot be compared at all:
TOKEN_OLD = "token_from_older_version"
TOKEN_MALFORMED = "token_malformed"
# What changed for the recipients (recipient_changes), each with `n`:
GONE = "patients_gone"
NEW = "patients_new"
ADDRESSES = "addresses_changed"  # channel
LANGUAGES = "languages_changed"
LEFT_OUT = "now_left_out"  # channel, reasons: {reason: n}
NOW_GETS = "now_gets"  # channel
OTHER_REASON = "other_reason"  # channel
NAMES = "names_changed"


def _recipients(p: dict[str, Any]) -> str:
    counts = f"({count(p['then'], 'message')} at preview, {p['now']} now)"
    if p["items"]:
        return f"the recipients changed: {'; '.join(map(str, p['items']))} {counts}"
    return f"the recipients changed {counts}"


def _left_out(p: dict[str, Any]) -> str:
    why = ", ".join(f"{reason} {n}" for reason, n in sorted(p["reasons"].items()))
    return count(p["n"], "recipient is", "recipients are") + f" now left out of {_CHANNEL[p['channel']]} ({why})"


# Each code's sentence in masspost's English.
ENGLISH: dict[str, Callable[[dict[str, Any]], str]] = {
    SETTINGS: lambda p: "the campaign's name, purpose, channel or fallback language changed",
    TEXTS: lambda p: "the texts changed",
    FILTERS: lambda p: "the audience filter changed (or the date ages and visits are counted from)",
    CLINICS: lambda p: ("the details of a clinic that the messages show or are sent with changed (name, phone, "
                        "SMS sender or e-mail)"),
    RECIPIENTS: _recipients,
    TOKEN_OLD: lambda p: "the preview token is from an older version of masspost: preview again",
    TOKEN_MALFORMED: lambda p: "the preview token is malformed: copy it whole from the preview",
    GONE: lambda p: count(p["n"], "patient no longer matches", "patients no longer match") + " the audience",
    NEW: lambda p: count(p["n"], "patient newly matches", "patients newly match") + " the audience",
    ADDRESSES: lambda p: count(p["n"], f"recipient's {_ADDRESS[p['channel']][0]}",
                               f"recipients' {_ADDRESS[p['channel']][1]}") + " changed",
    LANGUAGES: lambda p: count(p["n"], "recipient's language", "recipients' language") + " changed",
    LEFT_OUT: _left_out,
    NOW_GETS: lambda p: count(p["n"], "patient now gets", "patients now get") + f" {_CHANNEL[p['channel']]}",
    OTHER_REASON: lambda p: (count(p["n"], "patient is", "patients are") + f" left out of {_CHANNEL[p['channel']]}"
                             f" for {agree(p['n'], 'another reason', 'other reasons')}"),
    NAMES: lambda p: "names or clinic details in " + count(p["n"], "message", "messages") + " changed",
}
CODES = frozenset(ENGLISH)


@dataclass(frozen=True, slots=True)
class Change:
    """One kind of change: `code` (one of CODES) and its values — numbers, a channel (`sms`, `email`), a reason
    code, and for RECIPIENTS the recipients' Changes as `items`."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.code in CODES, self.code

    def __str__(self) -> str:
        return ENGLISH[self.code](self.params)

    def as_dict(self) -> dict[str, Any]:
        """For JSON (the API's problem): the code and its params, a RECIPIENTS change's items as dicts too."""
        params = {k: [c.as_dict() for c in v] if k == "items" else v for k, v in self.params.items()}
        return {"code": self.code, "params": params}


def recipient_changes(before: Seen, now: Seen) -> list[Change]:
    """Each kind of change that happened, with how many patients or messages it concerns (empty: none found)."""
    channels: list[str] = list(now.header["channels"])  # type: ignore[call-overload]
    before_out: dict[str, list[str]] = before.header["outcomes"]  # type: ignore[assignment]
    now_out: dict[str, list[str]] = now.header["outcomes"]  # type: ignore[assignment]
    lane_fields: dict[str, dict[str, list[str]]] = now.header["lane_fields"]  # type: ignore[assignment]
    changed_clinics = _changed_clinic_fields(before.header["clinics"], now.header["clinics"])  # type: ignore[arg-type]
    index = {pid: i for i, pid in enumerate(before.ids)}
    matched = 0
    newly = language = names = 0
    addresses = Counter[str]()
    now_gets = Counter[str]()
    other_reason = Counter[str]()
    left_out: dict[str, Counter[str]] = {ch: Counter() for ch in channels}
    for j, pid in enumerate(now.ids):
        i = index.get(pid)
        if i is None:
            newly += 1
            continue
        matched += 1
        clinic = now.clinics[j]
        moved_or_renamed = before.names[i] != now.names[j] or before.clinics[i] != clinic
        clinic_changes = changed_clinics.get(clinic, frozenset())
        language_changed = False
        for c, channel in enumerate(channels):
            was = before_out[channel][before.outcome(c, i)]
            is_ = now_out[channel][now.outcome(c, j)]
            if was not in _REASONS and is_ not in _REASONS:
                language_changed |= was != is_
                if before.address(c, i) != now.address(c, j):
                    addresses[channel] += 1
                if moved_or_renamed or clinic_changes & set(lane_fields[channel][is_]):
                    names += 1
            elif was not in _REASONS:
                left_out[channel][is_] += 1
            elif is_ not in _REASONS:
                now_gets[channel] += 1
            elif was != is_:
                other_reason[channel] += 1
        language += language_changed
    out = []
    if gone := len(before.ids) - matched:
        out.append(Change(GONE, {"n": gone}))
    if newly:
        out.append(Change(NEW, {"n": newly}))
    out += [Change(ADDRESSES, {"n": addresses[ch], "channel": ch}) for ch in channels if addresses[ch]]
    if language:
        out.append(Change(LANGUAGES, {"n": language}))
    for channel in channels:
        if total := sum(left_out[channel].values()):
            out.append(Change(LEFT_OUT, {"n": total, "channel": channel, "reasons": dict(left_out[channel])}))
        if now_gets[channel]:
            out.append(Change(NOW_GETS, {"n": now_gets[channel], "channel": channel}))
        if other_reason[channel]:
            out.append(Change(OTHER_REASON, {"n": other_reason[channel], "channel": channel}))
    if names:
        out.append(Change(NAMES, {"n": names}))
    return out


def _changed_clinic_fields(before: dict[str, Any], now: dict[str, Any]) -> dict[int, frozenset[str]]:
    """Per clinic (id), the details that differ; a clinic the preview did not have differs in all."""
    out = {}
    for clinic, fields in now.items():
        old = before.get(clinic, {})
        differ = frozenset(f for f, h in fields.items() if old.get(f) != h)
        if differ:
            out[int(clinic)] = differ
    return out
