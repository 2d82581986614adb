"""Campaigns waiting for a second sender's approval (docs/campaign.md, "Approval")."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from masspost.api.auth import scope_of
from masspost.api.schemas import ApprovalOut
from masspost.campaigns.approvals import approvals_pending

router = Router(tags=["campaigns"])


@router.get("/approvals", response=list[ApprovalOut], summary="Campaigns waiting for approval")
def approvals(request: HttpRequest) -> Any:
    """Those in your clinics, oldest first — your own too (another sender approves those). Approve or reject one
    with `POST /campaigns/{id}/approve` or `/reject`."""
    return [{"id": c.id, "name": c.name, "author": c.created_by, "created_at": c.created_at, "purpose": c.purpose,
             "channel": c.channel, "send_at": c.send_at, "deadline": c.deadline, "spec": c.spec}
            for c in approvals_pending(scope=scope_of(request))]
