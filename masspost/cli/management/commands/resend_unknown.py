from __future__ import annotations

from masspost.campaigns.services import campaign_resend_unknown
from masspost.cli.base import CampaignActionCommand


class Command(CampaignActionCommand):
    help = "Queue again the messages whose fate is unknown (a worker died mid-send); they may arrive twice."
    done = ("campaign {campaign}: {n} message of unknown fate queued again (it may arrive twice)",
            "campaign {campaign}: {n} messages of unknown fate queued again (some may arrive twice)")
    action = staticmethod(campaign_resend_unknown)  # type: ignore[assignment]
