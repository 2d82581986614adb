from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import CommandParser

from masspost.campaigns.export import CsvExport
from masspost.campaigns.selectors import campaign_counts, campaign_preview
from masspost.cli.base import MasspostCommand, load_spec
from masspost.cli.wording import agree, count
from masspost.clinic.scope import Scope

REASON_TEXT = {
    "opted_out": "does not accept this channel",
    "no_marketing_consent": "no consent to marketing on this channel",
    "no_content": "no text in their language",
    "no_address": "no address",
    "invalid_address": "address cannot be used",
    "no_sender": "their clinic has no usable sender",
    "recently_messaged": "messaged recently (the recently-messaged days)",
    "shared_address": "shares an address with a patient who gets it",
}
# Where the channel changes the words: marketing consent is the channel's own (masspost.consent).
CHANNEL_REASON_TEXT = {
    ("sms", "no_marketing_consent"): "no consent to SMS marketing",
    ("email", "no_marketing_consent"): "no consent to e-mail marketing",
}
HELD_TEXT = {"quiet_hours": "after the quiet hours", "holiday": "after the public holiday"}
CHANNEL_TEXT = {"sms": "SMS", "email": "e-mail"}
UCS2_SHOWN = 5  # characters named on the screen (--json lists them all): a Cyrillic text has dozens
SOURCE_TEXT = {"text": "in the text", "merge values": "in names or clinic details"}


class Command(MasspostCommand):
    help = "Preview a campaign file: who gets what, in which language, how many SMS parts, who is left out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="campaign JSON file (docs/campaign.md), or - for standard input")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--csv-dir", help="also write recipients.csv and excluded.csv into this directory")
        parser.add_argument("--counts-only", action="store_true",
                            help="only the counts, from one GROUP BY query (no rendering, no token)")

    def handle(self, *args: Any, **options: Any) -> None:
        spec = load_spec(options["file"])
        if options["counts_only"]:
            self.print_json(campaign_counts(spec=spec, scope=Scope.operator()))
            return
        export = CsvExport(Path(options["csv_dir"])) if options["csv_dir"] else None
        with export or nullcontext():
            preview = campaign_preview(spec=spec, scope=Scope.operator(),
                                       on_recipient=export.recipient if export else None,
                                       on_excluded=export.excluded if export else None)
        data = preview.to_dict()
        if options["json"]:
            self.print_json(data)
        else:
            self._human(data)
        if export:
            self.stderr.write(f"wrote {export.directory / 'recipients.csv'} and {export.directory / 'excluded.csv'}")

    def _human(self, data: dict[str, Any]) -> None:
        out = self.stdout.write
        c = data["campaign"]
        audience = data["audience"]
        out(f"Preview of \"{c['name']}\" ({c['purpose']}, {c['channel']}), "
            f"{count(audience['patients'], 'patient matches', 'patients match')} the audience")
        if not_selected := {k: n for k, n in audience["not_selected"].items() if n}:
            out("  not selected: " + ", ".join(f"{n} {k}" for k, n in not_selected.items())
                + f" ({audience['matched']} {agree(audience['matched'], 'matches', 'match')} the filter in all)")
        for lang, n in data["no_language"].items():
            out(f"  {count(n, 'patient has', 'patients have')} no language set: they get {lang}, their clinic's "
                "language")
        for lang, by_channel in data["recipients"].items():
            out(f"  {lang}: " + ", ".join(f"{n} {ch}" for ch, n in by_channel.items() if lang in data[ch] or n))
        for lang, t in data["sms"].items():
            if t["recipients"]:
                enc = ", ".join(f"{k} {v}" for k, v in t["encodings"].items())
                cost = f", {t['cost']} {data['sms_cost']['currency']}" if t["cost"] is not None else ""
                each = (count(t['parts_max'], "part") if t['parts_min'] == t['parts_max']
                        else f"{t['parts_min']}–{t['parts_max']} parts")
                out(f"  SMS {lang}: {count(t['recipients'], 'recipient')}, {each} each "
                    f"({enc}), {count(t['parts_total'], 'part')} in all{cost}")
                out(f"    sample: {t['sample']['text']!r}")
                self._ucs2(t, data['sms_cost']['currency'] if data['sms_cost'] else '')
        for lang, t in data["email"].items():
            if t["recipients"]:
                out(f"  e-mail {lang} ({t['format']}): {count(t['recipients'], 'recipient')}; "
                    f"sample subject: {t['sample']['subject']!r}")
        for lang, removed in data.get("email_sanitised", {}).items():
            out(f"  removed from the e-mail ({lang}): "
                + ", ".join(r["text"] + (f" ×{r['count']}" if r["count"] > 1 else "") for r in removed))
        for channel, reasons in data["excluded"].items():
            for reason, n in reasons.items():
                if n:
                    extra = ""
                    if reason == "no_content":
                        langs = data["no_content_languages"].get(channel, {})
                        extra = " (" + ", ".join(f"{k or '?'}: {v}" for k, v in sorted(langs.items())) + ")"
                    elif reason == "no_sender":
                        clinics = data["no_sender_clinics"].get(channel, {})
                        extra = " (" + "; ".join(f"{code}: {v['problem']}" for code, v in clinics.items()
                                                 if v["messages"]) + ")"
                    said = CHANNEL_REASON_TEXT.get((channel, reason)) or REASON_TEXT[reason]
                    out(f"  left out of {channel}: {n} — {said}{extra}")
        for channel, n in data["fallback"].items():
            if n:
                out(f"  {count(n, channel + ' recipient gets', channel + ' recipients get')} the fallback language "
                    f"{c['fallback_language']!r}")
        for channel, by_lang in data["empty_merge_fields"].items():
            for lang, w in by_lang.items():
                fields = ", ".join(f"{{{f}}} {n}" for f, n in w["fields"].items())
                rest = w["recipients"] - len(w["patients"])
                more = f" and {rest} more" if rest else ""
                out(f"  warning: {count(w['recipients'], CHANNEL_TEXT[channel] + ' recipient')} ({lang}) "
                    f"{agree(w['recipients'], 'gets', 'get')} an empty merge field ({fields}): "
                    f"{', '.join(w['patients'])}{more}")
        optout = {"link": "an unsubscribe link", "stop_word": "the stop word", "reply": "reply to opt out",
                  "preferences": "a link to the patient's preferences"}
        for channel, kind in data.get("optout", {}).items():
            out(f"  every {CHANNEL_TEXT[channel]} ends with {optout.get(kind, kind)} (counted above)"
                if channel == "sms" else f"  every {CHANNEL_TEXT[channel]} ends with {optout.get(kind, kind)}")
        if data.get("optout_warning") == "no_public_url":
            out("  warning: no unsubscribe links (MASSPOST_PUBLIC_URL is not set or cannot be used: masspost gateway "
                "check says why): these marketing e-mails carry no one-click unsubscribe link, which Gmail and Yahoo "
                "ask of bulk mail")
        cost = data["sms_cost"]
        total_cost = f" ({cost['total']} {cost['currency']} at {cost['part_price']} a part)" if cost else ""
        out(f"Total: {count(data['sms_parts_total'], 'SMS part')}{total_cost}, {count(data['emails_total'], 'e-mail')}")
        if not data["messages_total"]:
            out("Nothing to send: no patient gets a message.")
            return
        self._when(data)
        out(f"Token: {data['token']}")
        out("Send with: masspost send FILE --token TOKEN --yes")

    def _when(self, data: dict[str, Any]) -> None:
        """When each clinic's messages go, the deadline, the 24 h warning, approval and the test-send rule."""
        out = self.stdout.write
        if schedule := data.get("schedule"):
            when = "at once"
            if schedule["scheduled"]:
                given = dt.datetime.fromisoformat(schedule["send_at"])
                when = (_utc(schedule["send_at"]) if given.tzinfo else
                        given.strftime("%Y-%m-%d %H:%M") + " in each clinic's local time")
            out(f"Starts: {when}; deadline "
                f"{_utc(schedule['deadline'])} (what is not sent by then expires)")
            for c in schedule["clinics"]:
                zone = ZoneInfo(c["time_zone"])
                if c["opens_at"] is None:
                    out(f"  {c['clinic']}: no sending window ({c['window']}) before the deadline: its messages "
                        "will expire")
                    continue
                held = f", {HELD_TEXT[c['held']]}" if c["held"] in HELD_TEXT else ""
                out(f"  {c['clinic']}: from {_local(c['opens_at'], zone)} {c['time_zone']}{held} "
                    f"(window {c['window']})")
        if recent := data.get("recent_campaign"):
            out(f"warning: campaign {recent['campaign_id']} \"{recent['name']}\", sent {_utc(recent['sent_at'])}, "
                f"reached {recent['patients']} of these {count(recent['of'], 'recipient')} in the last 24 hours")
        if approval := data.get("approval"):
            rule = ("more than " + count(int(approval["over"]), "recipient") if approval["rule"] == "recipients"
                    else f"an SMS cost over {approval['over']}")
            out(f"Approval needed: clinic {approval['clinic']} asks for a second sender's approval for {rule} "
                f"(this campaign: {approval['value']}); after the send it waits until another sender approves it")
        test = data.get("test_send") or {}
        if test.get("required"):
            out("Test send: done for exactly this campaign" if test.get("done") else
                "Test send required before this marketing campaign: masspost test-send FILE --token TOKEN "
                "--user NAME")

    def _ucs2(self, t: dict[str, Any], currency: str) -> None:
        out = self.stdout.write
        if found := t["ucs2_characters"]:
            chars = ", ".join(f"{ch['char']!r} ({ch['code']} {ch['name']}, {SOURCE_TEXT[ch['source']]})"
                              for ch in found[:UCS2_SHOWN])
            more = f" and {len(found) - UCS2_SHOWN} more" if len(found) > UCS2_SHOWN else ""
            out(f"    UCS-2 (70 characters a part instead of 160) because of: {chars}{more}")
        if suggestion := t["suggestion"]:
            changes = ", ".join(f"{r['original']!r} by {r['replacement']!r} at {r['position']}"
                                for r in suggestion["replacements"])
            saved = f", {suggestion['cost_saved']} {currency} less" if suggestion["cost_saved"] is not None else ""
            out(f"    cheaper: replace {changes} to save {count(suggestion['parts_saved'], 'part')} "
                f"({t['parts_total']} → {suggestion['parts_total']}{saved})")


def _utc(text: str) -> str:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _local(text: str, zone: ZoneInfo) -> str:
    return dt.datetime.fromisoformat(text).astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
