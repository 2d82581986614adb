"""Campaigns: preview, send (idempotent), list, one campaign, its messages (cursor-paginated), its CSV lists,
and the controls. Every campaign is fetched through the selectors' scope check: another clinic's is 404."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import tempfile
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from ninja import Header, Path, Query, Router, Schema, Status
from pydantic import Field

from masspost.api import schemas
from masspost.api.auth import scope_of
from masspost.api.problems import campaign_at
from masspost.api.schemas import (
    Campaign,
    CampaignsOut,
    ControlOut,
    CountsOut,
    MessagesOut,
    PatientMessagesOut,
    PreviewOut,
    Problem,
    QueryText,
    QueryTime,
    RescheduleIn,
    RescheduleOut,
    SampleOut,
    SendIn,
    SendOut,
    page_of,
)
from masspost.campaigns.downloads import campaign_excluded_csv, campaign_messages_csv, preview_list_csv
from masspost.campaigns.listing import HANDED_OVER, PROBLEMS, STATUSES, CampaignSummary, campaign_list
from masspost.campaigns.rules import REASONS
from masspost.campaigns.selectors import (
    campaign_counts,
    campaign_get,
    campaign_preview,
    campaign_status,
    patient_messages,
)
from masspost.campaigns.services import (
    campaign_approve,
    campaign_cancel,
    campaign_pause,
    campaign_reject,
    campaign_reschedule,
    campaign_resend_unknown,
    campaign_resume,
    campaign_send_once,
)
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.test_send import campaign_test_send
from masspost.delivery.models import PENDING, MessageStatus
from masspost.delivery.selectors import OutboxRow, outbox_after, outbox_left_out_counts, outbox_suppressed_counts
from masspost.errors import MasspostError
from masspost.numbers import ID_MAX, at_most

router = Router(tags=["campaigns"])
PER_PAGE_MAX = 100
MESSAGES_MAX = 1000
CSV = {"200": {"description": "CSV, UTF-8, with a header row",
               "content": {"text/csv": {"schema": {"type": "string"}}}}}
NOT_FOUND = {404: Problem}
ID = Path(..., ge=1, le=ID_MAX, description="the campaign's id")
IDEMPOTENCY_KEY = Header(..., alias="Idempotency-Key", min_length=1, max_length=200)


def _spec(campaign: Campaign) -> CampaignSpec:
    return CampaignSpec.from_dict(campaign.as_file())


@router.post("/campaigns/preview", response={200: PreviewOut}, summary="Preview a campaign")
def preview(request: HttpRequest, body: Campaign) -> Any:
    """Who gets what, in which language, how many SMS parts, who is left out and why — the fields of
    `masspost preview --json` — and the `token` that confirms exactly this preview in `POST /campaigns`."""
    with campaign_at(""):  # the body is the campaign: its errors' paths start at the body
        return campaign_preview(spec=_spec(body), scope=scope_of(request)).to_dict()


@router.post("/campaigns/counts", response={200: CountsOut}, summary="Count a campaign's audience")
def counts(request: HttpRequest, body: Campaign) -> Any:
    """The live count under the UI's form: patients, recipients per language and channel, who is left out and
    why. The preview's numbers without rendering a text: one grouped query, for a form that counts as it is
    filled in. No token: send after a preview."""
    with campaign_at(""):
        return campaign_counts(spec=_spec(body), scope=scope_of(request))


class ListQuery(Schema):
    channel: Literal["", "sms", "email"] = ""
    reason: Literal[("",) + REASONS] = ""  # type: ignore[valid-type]


@router.post("/campaigns/preview/{kind}.csv", openapi_extra={"responses": CSV}, summary="A preview's list")
def preview_list(request: HttpRequest, kind: Literal["recipients", "excluded"], body: Campaign,
                 query: Query[ListQuery]) -> Any:
    """recipients.csv (who gets what, with names and addresses) or excluded.csv (who is left out and why) of
    docs/campaign.md, for a campaign not sent yet; `channel` and `reason` narrow it."""
    spool = _spool()
    with campaign_at(""):
        preview_list_csv(spec=_spec(body), scope=scope_of(request), kind=kind, out=spool, channel=query.channel,
                         reason=query.reason if kind == "excluded" else "")
    return _csv_file(spool, f"{kind}.csv")


@router.post("/campaigns", response={201: SendOut, 403: Problem, 409: Problem}, summary="Send a campaign")
def send(request: HttpRequest, body: SendIn,
         idempotency_key: QueryText = IDEMPOTENCY_KEY) -> Any:
    """Send what the preview with `token` showed. Repeating the request with the same Idempotency-Key and body
    answers the same and sends nothing more; the same key with another body is 422; a key still being handled is
    409. A stale token (anything changed since the preview) is 409 with `changes`. A marketing campaign a clinic
    wants test-sent first, before a test of exactly it (`POST /campaigns/test`), is 409 with code `test_required`.
    `approval` "pending": a clinic's rule holds it until another sender approves it; `send_at`: when it starts, if
    scheduled."""
    canonical = json.dumps(body.model_dump(mode="json", by_alias=True, exclude_unset=True), sort_keys=True,
                           ensure_ascii=False)
    outcome = campaign_send_once(spec=_spec(body.campaign), scope=scope_of(request), token=body.token,
                                 key=idempotency_key, body_digest=hashlib.sha256(canonical.encode()).hexdigest())
    return Status(201, {"campaign": outcome.campaign_id, "messages": outcome.messages, "approval": outcome.approval,
                        "send_at": outcome.send_at})


@router.post("/campaigns/test", response={200: SampleOut, 409: Problem}, summary="Send a test to yourself")
def test_send(request: HttpRequest, body: SendIn) -> Any:
    """The preview's sample message in each language and channel, sent now to your own phone and e-mail (`PATCH
    /me` sets them) — never to a patient, never queued; audited. Same body as the send: the campaign and its
    preview's token. A clinic's `test_before_marketing` rule asks for this before a marketing send. No address of
    your own for any of the campaign's channels: 422."""
    with campaign_at("campaign"):
        outcome = campaign_test_send(spec=_spec(body.campaign), scope=scope_of(request), token=body.token)
    return outcome.to_dict()


class CampaignsQuery(Schema):
    status: Literal[("",) + STATUSES] = ""  # type: ignore[valid-type]
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=PER_PAGE_MAX)


def _summary(c: CampaignSummary) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "author": c.author, "created_at": c.created_at, "purpose": c.purpose,
            "channel": c.channel, "status": c.status, "messages": c.messages,
            "progress": {"total": c.total, "sent": c.sent, "pending": c.pending, "problems": c.problems}}


@router.get("/campaigns", response=CampaignsOut, summary="Campaigns, newest first")
def campaigns(request: HttpRequest, query: Query[CampaignsQuery]) -> Any:
    listed = campaign_list(scope=scope_of(request), statuses=frozenset({query.status}) if query.status else None)
    start = (query.page - 1) * query.per_page
    return page_of([_summary(c) for c in listed[start:start + query.per_page]], page=query.page,
                   per_page=query.per_page, count=len(listed))


class CampaignOut(schemas.CampaignOut):
    """schemas.CampaignOut with the opt-outs that cancelled its messages; the same name, so that the OpenAPI
    component stays `CampaignOut`."""

    suppressed: dict[str, int] = Field(
        default_factory=dict, description="messages not sent because the patient opted out after the campaign was "
        "sent and before the message went (status `suppressed`), per reason: how they opted out (unsubscribe, "
        "sms-stop, provider, staff, api, import, operator)")


@router.get("/campaigns/{campaign_id}", response={200: CampaignOut, 404: Problem}, summary="One campaign")
def campaign(request: HttpRequest, campaign_id: int = ID) -> Any:
    """Its status (sending, done, paused, cancelled) and its messages per status."""
    scope = scope_of(request)
    c = campaign_get(campaign_id=campaign_id, scope=scope)
    status = campaign_status(campaign_id=c.id, scope=scope)
    counts: dict[str, int] = status["messages"]
    return {"id": c.id, "name": c.name, "author": c.created_by, "created_at": c.created_at, "purpose": c.purpose,
            "channel": c.channel, "status": status["status"], "messages": counts,
            "progress": {"total": sum(counts.values()), "sent": sum(counts[s] for s in HANDED_OVER),
                         "pending": sum(counts[s] for s in PENDING), "problems": sum(counts[s] for s in PROBLEMS)},
            "fallback_language": c.fallback_language, "deadline": c.deadline, "spec": c.spec,
            "send_at": c.send_at, "started_at": c.started_at, "approval": c.approval, "approved_by": c.approved_by,
            "approved_at": c.approved_at, "left_out": outbox_left_out_counts(campaign_id=c.id),
            "suppressed": outbox_suppressed_counts(campaign_id=c.id)}


class MessagesQuery(Schema):
    status: Literal[("",) + tuple(MessageStatus.values)] = ""  # type: ignore[valid-type]
    after: QueryText = Field("", max_length=100, description="the `next` of the page before")
    changed_since: QueryTime | None = Field(None, description="only messages whose status changed since then",
                                            examples=["2026-12-07T08:00:00+02:00"])
    limit: int = Field(100, ge=1, le=MESSAGES_MAX)


def cursor_of(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"m{message_id}".encode()).decode().rstrip("=")


def _after(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] == "m" and (message_id := at_most(text[1:], ID_MAX)) is not None:
            return message_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise MasspostError("after: not a cursor this API gave (pass a page's `next` as it is)")


@router.get("/campaigns/{campaign_id}/messages", response={200: MessagesOut, 404: Problem},
            summary="The campaign's messages, one per recipient and channel")
def messages(request: HttpRequest, query: Query[MessagesQuery], campaign_id: int = ID) -> Any:
    """In the order they were written; `next` continues the list. To follow a campaign, poll with
    `changed_since` set to the time of your last poll (less a few seconds): you get the messages whose status
    changed since, each with its id to update your copy. No text and no address: external ids and statuses."""
    after = _after(query.after)
    c = campaign_get(campaign_id=campaign_id, scope=scope_of(request))
    rows, more = outbox_after(campaign_id=c.id, after_id=after, status=query.status,
                              changed_since=query.changed_since, limit=query.limit)
    return {"items": [_message(r) for r in rows], "next": cursor_of(rows[-1].id) if more else None}


def _message(r: OutboxRow) -> dict[str, Any]:
    return {"id": r.id, "external_id": r.patient_ref, "channel": r.channel, "language": r.language,
            "status": r.status, "reason": r.last_error, "attempts": r.attempts, "created_at": r.created_at,
            "sent_at": r.sent_at, "status_changed_at": r.updated_at}


class PatientMessagesQuery(Schema):
    patient: QueryText = Field(min_length=1, max_length=64, description="the patient's external id")
    limit: int = Field(100, ge=1, le=MESSAGES_MAX)


@router.get("/messages", response={200: PatientMessagesOut, 404: Problem}, summary="A patient's messages")
def patient_messages_list(request: HttpRequest, query: Query[PatientMessagesQuery]) -> Any:
    """What a patient's card shows: their newest messages across the campaigns you may see, newest first, each
    with its campaign, status and reason. A patient of another clinic is 404, as one that does not exist."""
    found = patient_messages(scope=scope_of(request), external_id=query.patient, limit=query.limit)
    return {"external_id": query.patient,
            "items": [_message(m.message) | {"campaign": m.campaign_id, "campaign_name": m.campaign_name}
                      for m in found]}


@router.get("/campaigns/{campaign_id}/recipients.csv", openapi_extra={"responses": CSV | {"404": {
    "description": "no such campaign of yours", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Problem"}}}}}}, summary="Who the campaign was sent to, with statuses")
def recipients_csv(request: HttpRequest, campaign_id: int = ID) -> Any:
    """One row per message: external_id, channel, language, status, error, attempts, created_at, sent_at,
    status_changed_at (UTC). Streamed; audited."""
    c, lines = campaign_messages_csv(campaign_id=campaign_id, scope=scope_of(request))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{c.id}-recipients.csv"'
    return response


@router.get("/campaigns/{campaign_id}/excluded.csv", openapi_extra={"responses": CSV | {"404": {
    "description": "no such campaign of yours", "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Problem"}}}}}}, summary="Who the campaign leaves out, and why")
def excluded_csv(request: HttpRequest, query: Query[ListQuery], campaign_id: int = ID) -> Any:
    """excluded.csv of docs/campaign.md for the campaign's own audience and texts, against the patients as they
    are now (the outbox keeps who was sent to, not who was not). Audited."""
    spool = _spool()
    campaign_excluded_csv(campaign_id=campaign_id, scope=scope_of(request), out=spool, channel=query.channel,
                          reason=query.reason)
    return _csv_file(spool, f"campaign-{campaign_id}-excluded.csv")


def _spool() -> Any:
    # Closed by the FileResponse once sent: a context manager here would close it before.
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115


def _csv_file(spool: Any, name: str) -> FileResponse:
    spool.seek(0)
    return FileResponse(spool, content_type="text/csv; charset=utf-8", as_attachment=True, filename=name)


CONTROL = {200: ControlOut, 403: Problem, 404: Problem, 409: Problem}


@router.post("/campaigns/{campaign_id}/pause", response=CONTROL, summary="Pause a campaign")
def pause(request: HttpRequest, campaign_id: int = ID) -> Any:
    """Workers stop taking its queued messages; those being sent finish. `messages`: how many were held."""
    return {"campaign": campaign_id, "messages": campaign_pause(campaign_id=campaign_id, scope=scope_of(request))}


@router.post("/campaigns/{campaign_id}/resume", response=CONTROL, summary="Resume a paused campaign")
def resume(request: HttpRequest, campaign_id: int = ID) -> Any:
    return {"campaign": campaign_id, "messages": campaign_resume(campaign_id=campaign_id, scope=scope_of(request))}


@router.post("/campaigns/{campaign_id}/cancel", response=CONTROL, summary="Cancel a campaign")
def cancel(request: HttpRequest, campaign_id: int = ID) -> Any:
    """Every message not yet handed to a gateway is cancelled. Final."""
    return {"campaign": campaign_id, "messages": campaign_cancel(campaign_id=campaign_id, scope=scope_of(request))}


@router.post("/campaigns/{campaign_id}/resend-unknown", response=CONTROL,
             summary="Queue again the messages of unknown fate")
def resend_unknown(request: HttpRequest, campaign_id: int = ID) -> Any:
    """Messages a worker handed to a gateway without learning the result (it died mid-send): they may arrive
    twice."""
    return {"campaign": campaign_id,
            "messages": campaign_resend_unknown(campaign_id=campaign_id, scope=scope_of(request))}


@router.post("/campaigns/{campaign_id}/approve", response=CONTROL, summary="Approve a campaign waiting for it")
def approve(request: HttpRequest, campaign_id: int = ID) -> Any:
    """A second sender lets a campaign a clinic's rule held go (docs/campaign.md, "Approval"). A preparer: 403.
    409 with `code`: own_campaign (its author may not), not_pending (not waiting for approval), stale (its
    audience or texts changed since its preview: nothing changes; its author cancels it and sends again).
    `messages`: how many it lets go."""
    return {"campaign": campaign_id, "messages": campaign_approve(campaign_id=campaign_id, scope=scope_of(request))}


@router.post("/campaigns/{campaign_id}/reject", response=CONTROL, summary="Reject a campaign waiting for approval")
def reject(request: HttpRequest, campaign_id: int = ID) -> Any:
    """Its messages are cancelled and nothing is sent. The same rules as approving (403, 409 own_campaign,
    not_pending). `messages`: how many were cancelled."""
    return {"campaign": campaign_id, "messages": campaign_reject(campaign_id=campaign_id, scope=scope_of(request))}


@router.post("/campaigns/{campaign_id}/reschedule", response={200: RescheduleOut, 403: Problem, 404: Problem,
                                                              409: Problem}, summary="Move a scheduled campaign")
def reschedule(request: HttpRequest, body: RescheduleIn, campaign_id: int = ID) -> Any:
    """A new start and deadline for a campaign that has not started yet (409 with code `started` once it has); the
    forms are the campaign's `send_at` and `deadline`, and `send_at` null starts it now. Its messages, windows and
    deadline move with it. To call it off: `POST /campaigns/{id}/cancel`. The answer is the new schedule, as a
    preview's `schedule`."""
    timing = campaign_reschedule(campaign_id=campaign_id, scope=scope_of(request), send_at=body.send_at,
                                 deadline=body.deadline)
    return {"campaign": campaign_id, "schedule": timing.to_dict()}
