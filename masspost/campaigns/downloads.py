"""The preview's lists as one download (the web UI's CSV links): a fresh pass over the audience, the rows
streamed into a file as they come, so a long list costs no memory. Each download is audited."""

from __future__ import annotations

import csv
import io
from typing import IO

from masspost.campaigns.audit import audit_record
from masspost.campaigns.export import EXCLUDED_HEADER, RECIPIENT_HEADER, excluded_row, recipient_row
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Exclusion, Recipient
from masspost.clinic.scope import Scope


def preview_list_csv(*, spec: CampaignSpec, scope: Scope, kind: str, out: IO[bytes], channel: str = "",
                     reason: str = "") -> int:
    """Write recipients.csv or excluded.csv (docs/campaign.md) into `out`; `channel` and `reason` narrow the
    list. Returns the number of rows."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    rows = 0

    def recipient(r: Recipient) -> None:
        nonlocal rows
        if not channel or r.channel == channel:
            writer.writerow(recipient_row(r))
            rows += 1

    def excluded(e: Exclusion) -> None:
        nonlocal rows
        if (not channel or e.channel == channel) and (not reason or e.reason == reason):
            writer.writerow(excluded_row(e))
            rows += 1

    if kind == "recipients":
        writer.writerow(RECIPIENT_HEADER)
        preview = campaign_preview(spec=spec, scope=scope, on_recipient=recipient, audit=False)
    else:
        writer.writerow(EXCLUDED_HEADER)
        preview = campaign_preview(spec=spec, scope=scope, on_excluded=excluded, audit=False)
    text.flush()
    text.detach()  # `out` stays open for the caller
    audit_record(scope=scope, action="export", detail={"list": kind, "channel": channel, "reason": reason,
                                                       "rows": rows, "token": str(preview.token)})
    return rows
