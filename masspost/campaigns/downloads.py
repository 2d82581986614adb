"""The preview's lists as one download (the web UI's CSV links): a fresh pass over the audience, the rows
streamed into a file as they come, so a long list costs no memory. Each download is audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import IO

from masspost.campaigns.audit import audit_record
from masspost.campaigns.export import (
    EXCLUDED_HEADER,
    RECIPIENT_HEADER,
    excluded_row,
    neutralised,
    recipient_row,
    without_contacts,
)
from masspost.campaigns.models import Campaign
from masspost.campaigns.selectors import campaign_get, campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Exclusion, Recipient
from masspost.clinic.scope import Scope
from masspost.clinic.selectors import sees_contacts
from masspost.delivery.selectors import OutboxRow, outbox_export_rows, outbox_status_counts


def preview_list_csv(*, spec: CampaignSpec, scope: Scope, kind: str, out: IO[bytes], channel: str = "",
                     reason: str = "", ignore_campaign: int | None = None) -> int:
    """Write recipients.csv or excluded.csv (docs/campaign.md) into `out`; `channel` and `reason` narrow the
    list (`ignore_campaign`: campaign_preview's). Returns the number of rows. Names and addresses only for a role
    that may see them (sees_contacts, the rule of GET /patients too); for any other, those columns are left
    out."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    rows = 0
    header = RECIPIENT_HEADER if kind == "recipients" else EXCLUDED_HEADER
    shown: Callable[[list[object]], list[object]] = (
        (lambda row: row) if sees_contacts(scope) else without_contacts(header))

    def recipient(r: Recipient) -> None:
        nonlocal rows
        if not channel or r.channel == channel:
            writer.writerow(shown(recipient_row(r)))
            rows += 1

    def excluded(e: Exclusion) -> None:
        nonlocal rows
        if (not channel or e.channel == channel) and (not reason or e.reason == reason):
            writer.writerow(shown(excluded_row(e)))
            rows += 1

    writer.writerow(shown(list(header)))
    if kind == "recipients":
        preview = campaign_preview(spec=spec, scope=scope, on_recipient=recipient, audit=False,
                                   ignore_campaign=ignore_campaign)
    else:
        preview = campaign_preview(spec=spec, scope=scope, on_excluded=excluded, audit=False,
                                   ignore_campaign=ignore_campaign)
    text.flush()
    text.detach()  # `out` stays open for the caller
    audit_record(scope=scope, action="export", detail={"list": kind, "channel": channel, "reason": reason,
                                                       "rows": rows, "token": str(preview.token)})
    return rows


MESSAGES_HEADER = ["external_id", "channel", "language", "status", "error", "attempts", "created_at", "sent_at",
                   "status_changed_at"]


class _Echo:
    """csv.writer's file: each row comes back as the string it wrote (Django's streaming-CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def _message_lines(rows: Iterable[OutboxRow]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(MESSAGES_HEADER)
    for r in rows:
        yield writer.writerow([neutralised(r.patient_ref), r.channel, r.language, r.status, neutralised(r.last_error),
                               r.attempts, r.created_at.isoformat(), r.sent_at.isoformat() if r.sent_at else "",
                               r.updated_at.isoformat()])


def campaign_messages_csv(*, campaign_id: int, scope: Scope) -> tuple[Campaign, Iterator[str]]:
    """A sent campaign's messages as CSV lines: external ids and statuses only (no text, no address), times in
    UTC, from a chunked cursor (a million rows cost one chunk's memory). Another clinic's campaign is
    NotFoundError. Audited before the first row goes out, with the count the file will have: outbox rows are
    neither added nor removed once the campaign is sent, only their statuses change."""
    campaign = campaign_get(campaign_id=campaign_id, scope=scope)
    rows = sum(outbox_status_counts(campaign_id=campaign.id).values())
    audit_record(scope=scope, action="export", campaign=campaign,
                 detail={"list": "messages", "campaign": campaign.id, "rows": rows})
    return campaign, _message_lines(outbox_export_rows(campaign_id=campaign.id))


def campaign_excluded_csv(*, campaign_id: int, scope: Scope, out: IO[bytes], channel: str = "",
                          reason: str = "") -> int:
    """Who the campaign leaves out and why, from its own campaign file run against the data as it is now (the
    outbox keeps who was sent to, not who was not): excluded.csv of docs/campaign.md. Audited."""
    campaign = campaign_get(campaign_id=campaign_id, scope=scope)
    # When it was to go does not change who is left out (and a start that has passed is no error here); its own
    # messages do not make its patients "recently messaged".
    spec = replace(CampaignSpec.from_dict(campaign.spec), send_at=None, deadline=None)
    return preview_list_csv(spec=spec, scope=scope, kind="excluded", out=out, channel=channel, reason=reason,
                            ignore_campaign=campaign.id)
