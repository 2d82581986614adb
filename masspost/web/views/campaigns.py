"""Placeholder until the campaign pages land."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from masspost.campaigns.listing import campaign_list as list_campaigns
from masspost.campaigns.selectors import campaign_status
from masspost.web.access import StaffRequest, staff


@staff()
def campaign_list(request: StaffRequest) -> HttpResponse:
    return render(request, "web/error.html", {"title": "Campaigns",
                                              "message": str(len(list_campaigns(scope=request.scope)))})


@staff()
def campaign_detail(request: StaffRequest, campaign_id: int) -> HttpResponse:
    status = campaign_status(campaign_id=campaign_id, scope=request.scope)
    return render(request, "web/error.html", {"title": status["name"], "message": status["status"]})
