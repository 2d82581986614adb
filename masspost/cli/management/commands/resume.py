from __future__ import annotations

from masspost.campaigns.services import campaign_resume
from masspost.cli.base import CampaignActionCommand


class Command(CampaignActionCommand):
    help = "Resume a paused campaign."
    done = ("campaign {campaign} resumed: {n} message queued again",
            "campaign {campaign} resumed: {n} messages queued again")
    action = staticmethod(campaign_resume)  # type: ignore[assignment]
