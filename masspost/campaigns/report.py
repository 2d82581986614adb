"""The preview as data (`masspost preview --json`, the API): the JSON contract of DESIGN.md and docs/campaign.md.

Keys are only ever added, never renamed.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from masspost.campaigns.lanes import Lane
from masspost.campaigns.price import Price
from masspost.campaigns.sweep import Recipient, SweepResult


def preview_dict(*, result: SweepResult, price: Price | None) -> dict[str, Any]:
    """Everything the preview says per channel and language: recipients, exclusions, warnings, cost."""
    recipients: dict[str, dict[str, int]] = {}
    for channel, by_lang in result.tallies.items():
        for lang, tally in by_lang.items():
            recipients.setdefault(lang, {"sms": 0, "email": 0})[channel] = tally.recipients
    sms_lanes = result.lanes.get("sms", {})
    sms = {lang: _sms_dict(lane, price) for lang, lane in sms_lanes.items()}
    email = {lang: _email_dict(lane) for lang, lane in result.lanes.get("email", {}).items()}
    sms_cost = None
    if price is not None:
        parts = {lang: lane.tally.parts_total for lang, lane in sms_lanes.items()}
        sms_cost = {"currency": price.currency, "part_price": str(price.amount),
                    "total": price.times(sum(parts.values())),
                    "per_language": {lang: price.times(n) for lang, n in parts.items()}}
    return {
        "recipients": dict(sorted(recipients.items())),
        "excluded": {"sms": result.excluded.get("sms", {}), "email": result.excluded.get("email", {})},
        "no_content_languages": result.no_content_languages,
        "no_sender_clinics": {"sms": result.no_sender.get("sms", {}), "email": result.no_sender.get("email", {})},
        "empty_merge_fields": {ch: {lang: _empty_dict(lane) for lang, lane in result.lanes.get(ch, {}).items()
                                    if lane.empty.recipients} for ch in ("sms", "email")},
        "fallback": result.fallback,
        "no_language": result.no_language,
        "sms": sms,
        "email": email,
        "sms_parts_total": sum(t.parts_total for t in result.tallies.get("sms", {}).values()),
        "sms_cost": sms_cost,
        "emails_total": sum(t.recipients for t in result.tallies.get("email", {}).values()),
        "messages_total": result.messages,
        # How each channel's messages let the patient opt out (sweep.SweepResult.optout), and "no_public_url" when
        # a marketing e-mail has no one-click unsubscribe (MASSPOST_PUBLIC_URL unset: a warning, not a refusal).
        "optout": dict(result.optout),
        "optout_warning": result.optout_warning or None,
    }


def _sample(rec: Recipient | None) -> dict[str, Any] | None:
    if rec is None:
        return None
    out: dict[str, Any] = {"patient": rec.patient_ref, "text": rec.text}
    if rec.channel == "sms":
        out |= {"encoding": rec.encoding, "parts": rec.parts}
    else:
        out["subject"] = rec.subject
    return out


def _sms_dict(lane: Lane, price: Price | None) -> dict[str, Any]:
    tally = lane.tally
    out: dict[str, Any] = {"recipients": tally.recipients, "sample": _sample(tally.sample)}
    if tally.encodings:
        out |= {"encodings": tally.encodings, "parts_min": tally.parts_min, "parts_max": tally.parts_max,
                "parts_total": tally.parts_total, "longest": _sample(tally.longest)}
    out["ucs2_characters"] = [
        {"char": char, "code": f"U+{ord(char):04X}", "name": unicodedata.name(char, ""),
         "source": "text" if char in lane.text_characters else "merge values"}
        for char in sorted(lane.ucs2)]
    out["suggestion"] = _suggestion(lane, price)
    out["cost"] = price.times(tally.parts_total) if price is not None else None
    return out


def _suggestion(lane: Lane, price: Price | None) -> dict[str, Any] | None:
    """The cheaper punctuation (masspost.sms.suggest on the text), when it saves parts over these recipients."""
    saved = lane.tally.parts_total - lane.alternative_parts
    if lane.suggestion is None or saved <= 0:
        return None
    return {"text": lane.suggestion.text,
            "replacements": [{"position": r.position + 1, "original": r.original, "replacement": r.replacement}
                             for r in lane.suggestion.replacements],
            "parts_total": lane.alternative_parts, "parts_saved": saved,
            "cost_saved": price.times(saved) if price is not None else None}


def _email_dict(lane: Lane) -> dict[str, Any]:
    return {"recipients": lane.tally.recipients, "sample": _sample(lane.tally.sample),
            "format": "html" if lane.html else "text"}


def _empty_dict(lane: Lane) -> dict[str, Any]:
    empty = lane.empty
    return {"recipients": empty.recipients, "fields": dict(sorted(empty.fields.items())), "patients": empty.patients()}
