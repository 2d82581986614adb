from __future__ import annotations

from masspost.campaigns.services import campaign_pause
from masspost.cli.base import CampaignActionCommand


class Command(CampaignActionCommand):
    help = "Pause a campaign: workers stop taking its queued messages until it is resumed."
    done = ("campaign {campaign} paused: {n} queued message held (messages being sent finish)",
            "campaign {campaign} paused: {n} queued messages held (messages being sent finish)")
    action = staticmethod(campaign_pause)  # type: ignore[assignment]
