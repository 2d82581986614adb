from __future__ import annotations

from masspost.campaigns.services import campaign_cancel
from masspost.cli.base import CampaignActionCommand


class Command(CampaignActionCommand):
    help = "Cancel a campaign: its messages not yet handed to a gateway are never sent."
    done = ("campaign {campaign} cancelled: {n} queued message will not be sent",
            "campaign {campaign} cancelled: {n} queued messages will not be sent")
    action = staticmethod(campaign_cancel)  # type: ignore[assignment]
