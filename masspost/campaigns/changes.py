"""What changed for the recipients between a preview and now, in the user's words, with counts: "2 recipients'
phone numbers changed". Compares the preview's fingerprint (campaigns.snapshot) with one made now. Counts only:
never a name, an address or an external id.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from masspost.campaigns.rules import REASONS
from masspost.campaigns.snapshot import Seen
from masspost.wording import agree, count

_CHANNEL = {"sms": "SMS", "email": "e-mail"}
_ADDRESS = {"sms": ("phone number", "phone numbers"), "email": ("e-mail address", "e-mail addresses")}
_REASONS = frozenset(REASONS)


def recipient_changes(before: Seen, now: Seen) -> list[str]:
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
        out.append(count(gone, "patient no longer matches", "patients no longer match") + " the audience")
    if newly:
        out.append(count(newly, "patient newly matches", "patients newly match") + " the audience")
    for channel in channels:
        if addresses[channel]:
            one, many = _ADDRESS[channel]
            out.append(count(addresses[channel], f"recipient's {one}", f"recipients' {many}") + " changed")
    if language:
        out.append(count(language, "recipient's language", "recipients' language") + " changed")
    for channel in channels:
        name = _CHANNEL[channel]
        if total := sum(left_out[channel].values()):
            why = ", ".join(f"{reason} {n}" for reason, n in sorted(left_out[channel].items()))
            out.append(count(total, "recipient is", "recipients are") + f" now left out of {name} ({why})")
        if now_gets[channel]:
            out.append(count(now_gets[channel], "patient now gets", "patients now get") + f" {name}")
        if other_reason[channel]:
            out.append(count(other_reason[channel], "patient is", "patients are") + f" left out of {name} for "
                       + agree(other_reason[channel], "another reason", "other reasons"))
    if names:
        out.append("names or clinic details in " + count(names, "message", "messages") + " changed")
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
