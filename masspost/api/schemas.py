"""What goes in and out of the API, as pydantic models: the OpenAPI schema is generated from them. The campaign
model mirrors docs/campaign.md for the schema and for early errors with a path; `CampaignSpec.from_dict` stays
the one judge of a campaign (dates and codes are checked there, as for a campaign file)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field

from masspost.content.header import header_problem

DATE = r"^\d{4}-\d{2}-\d{2}$"


class Problem(Schema):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None
    changes: list[str] | None = Field(None, description="stale-token: what changed since the preview, in English")
    change_codes: list[dict[str, Any]] | None = Field(
        None, description="stale-token: the same changes in the same order, each {code, params}, stable for a client "
        "to say in its own words (docs/api.md, \"Errors\")")
    code: str | None = Field(None, description="a campaign text's template error, stable for a client to say in its "
                             "own words: unknown_field, not_a_field_name, empty_field, unclosed_brace, "
                             "unopened_brace (docs/campaign.md); stale-token: a preview token that cannot be "
                             "compared, token_malformed or token_from_older_version")
    params: dict[str, Any] | None = Field(None, description="the template error's values: field, position, allowed")


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class AgeRange(Strict):
    min: int | None = Field(None, ge=0, le=150)
    max: int | None = Field(None, ge=0, le=150)


class DateRange(Strict):
    from_: str = Field(alias="from", pattern=DATE, examples=["2025-01-01"])
    to: str = Field(pattern=DATE, examples=["2025-12-31"])


class LastMonths(Strict):
    last_months: int = Field(ge=1, le=240, examples=[12],
                             description="the last N months up to the reference date; stays relative when reused")


class Audience(Strict):
    clinics: list[str] | None = Field(None, description="clinic codes; none: every clinic of yours")
    age: AgeRange | None = None
    countries: list[str] | None = Field(None, description="ISO 3166-1 alpha-2 codes of residence")
    visited: DateRange | LastMonths | None = Field(None, description="had a visit in this period")
    not_visited: DateRange | LastMonths | None = Field(None, description="had no visit in this period")
    reference_date: str | None = Field(None, pattern=DATE, description="the day ages are counted on")


class Texts(Strict):
    sms: str = Field("", max_length=10_000)
    email_subject: str = Field("", max_length=1_000)
    email_body: str = Field("", max_length=200_000)


class Campaign(Strict):
    """A campaign as in a campaign file (docs/campaign.md)."""

    name: str = Field(min_length=1, max_length=200)
    purpose: Literal["service", "marketing"] = "service"
    channel: Literal["sms", "email", "both"]
    audience: Audience | None = None
    fallback_language: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    content: dict[str, Texts] = Field(description="texts per ISO 639-1 language code",
                                      examples=[{"et": {"sms": "Tere {first_name}! Aeg kontrolliks."}}])

    def as_file(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class SendIn(Strict):
    campaign: Campaign
    token: QueryText = Field(min_length=1, max_length=200, description="the token of the preview being confirmed")


class SendOut(Schema):
    campaign: int
    messages: int


class PreviewOut(Schema):
    """The preview, as `masspost preview --json` prints it (docs/campaign.md, "Preview")."""

    model_config = ConfigDict(extra="allow")
    campaign: dict[str, Any]
    audience: dict[str, Any]
    recipients: dict[str, Any]
    excluded: dict[str, Any]
    sms_parts_total: int
    emails_total: int
    messages_total: int
    # Declared, not left to extra="allow": ninja's Schema reads only declared fields from a handler's answer, so the
    # rest of the preview never reached the client.
    sms: dict[str, Any] = Field(default_factory=dict, description="per language: recipients, parts, encodings, "
                                "sample, longest, ucs2_characters, suggestion, cost")
    email: dict[str, Any] = Field(default_factory=dict, description="per language: recipients, sample (the cleaned "
                                  "body, as sent), format html | text")
    fallback: dict[str, int] = Field(default_factory=dict, description="per channel: recipients given the fallback")
    no_content_languages: dict[str, Any] = Field(default_factory=dict)
    no_sender_clinics: dict[str, Any] = Field(default_factory=dict)
    empty_merge_fields: dict[str, Any] = Field(default_factory=dict)
    sms_cost: dict[str, Any] | None = None
    no_language: dict[str, int] = Field(
        default_factory=dict, description="patients with no communication language of their own, by the language "
        "they are given instead: their clinic's default (only languages with some)")
    email_sanitised: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="per language, what the HTML cleaning took out of the e-mail body "
        "(kind element | attribute | link | image | style | comment, name, count, text); the cleaned body is "
        "what is sent")
    token: str


class ImportProblem(Schema):
    row: int
    column: str
    reason: str
    ref: str


class ImportOut(Schema):
    kind: str
    rows: int
    imported: int
    written: bool
    warnings: list[ImportProblem]
    errors: list[ImportProblem]


class ImportRefused(Problem):
    kind: str
    rows: int
    imported: int
    written: bool
    warnings: list[ImportProblem]
    errors: list[dict[str, Any]] | None = None


class ImportJobOut(Schema):
    """A large import run as a job (docs/api.md, "Large files"): `report` is the synchronous answer's report once
    the job has ended (`done`: imported; `refused`: nothing imported, `errors` say why), `reason` a fault of the
    whole file or why the job failed."""

    id: int
    kind: str
    status: Literal["queued", "running", "done", "refused", "failed"]
    phase: Literal["", "checking", "writing"] = Field(description="checking the file (no lock held), then writing it")
    rows_read: int = Field(description="rows checked so far")
    rows_written: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    report: ImportOut | None
    reason: str


class ClinicOut(Schema):
    code: str
    name: str
    country: str
    time_zone: str
    default_language: str
    phone: str
    email: str
    sms_sender: str


class PatientOut(Schema):
    external_id: str
    clinic: str
    language: str
    country: str
    status: str
    accepts_sms: bool
    accepts_email: bool
    marketing_consent: bool
    phone_status: Literal["none", "valid", "invalid"]
    email_status: Literal["none", "valid", "invalid"]
    first_name: str | None = Field(None, description="sender and admin roles only")
    last_name: str | None = None
    birth_date: dt.date | None = None
    phone: str | None = None
    email: str | None = None


class Page(Schema):
    page: int
    per_page: int
    count: int
    pages: int


def page_of(items: list[Any], *, page: int, per_page: int, count: int) -> dict[str, Any]:
    """A Page's fields around its items: `pages` is at least 1, so an empty list is page 1 of 1."""
    return {"items": items, "page": page, "per_page": per_page, "count": count,
            "pages": max(1, -(-count // per_page))}


def _in_utc(moment: dt.datetime) -> dt.datetime:
    """A query's time in UTC (without an offset: taken as UTC). One that UTC cannot hold — 9999-12-31T23:59:59-05:00
    is in the year 10000 there, 0001-01-01T00:00:00+05:00 in year 0 — is refused (a 422 naming the parameter)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("out of range: in UTC the time must fall between 0001-01-01T00:00:00Z and "
                         "9999-12-31T23:59:59Z") from None


# Every date-time a query takes: ISO 8601 with an offset (or UTC without one), within what UTC can hold.
QueryTime = Annotated[dt.datetime, AfterValidator(_in_utc)]


def _plain_text(text: str) -> str:
    """A query's or path's text without control characters: PostgreSQL refuses a NUL in a query's text (a 500 if
    it got that far), and no name, code, id or cursor has a line break or another control character in it. So
    they are refused before any query (a 422 naming the parameter), on every database alike."""
    if problem := header_problem(text):
        position, what = problem
        raise ValueError(f"{what} at character {position}")
    return text


# Every free-text value of a query or a path (ids, codes, names, prefixes, cursors): one line of text, no control
# character (masspost.content.header's rule). Each parameter gives its own max_length (a length set here would
# override it in the schema): the served schema's test holds every text parameter to having one.
QueryText = Annotated[str, AfterValidator(_plain_text)]


class PatientsOut(Page):
    items: list[PatientOut]


class Progress(Schema):
    total: int
    sent: int
    pending: int
    problems: int


class CampaignSummaryOut(Schema):
    id: int
    name: str
    author: str
    created_at: dt.datetime
    purpose: str
    channel: str
    status: Literal["sending", "done", "paused", "cancelled"]
    messages: dict[str, int]
    progress: Progress


class CampaignsOut(Page):
    items: list[CampaignSummaryOut]


class CampaignOut(CampaignSummaryOut):
    fallback_language: str
    deadline: dt.datetime
    spec: dict[str, Any] = Field(description="the campaign as it was confirmed")


class MessageOut(Schema):
    id: int
    external_id: str
    channel: Literal["sms", "email"]
    language: str
    status: str
    reason: str = Field(description="why it failed or was not delivered; empty otherwise")
    attempts: int
    created_at: dt.datetime
    sent_at: dt.datetime | None
    status_changed_at: dt.datetime


class MessagesOut(Schema):
    items: list[MessageOut]
    next: str | None = Field(description="pass as `after` for the next page; null: none follows now")


class PatientMessageOut(MessageOut):
    campaign: int
    campaign_name: str


class PatientMessagesOut(Schema):
    external_id: str
    items: list[PatientMessageOut] = Field(description="newest first")


class CountsOut(Schema):
    audience: dict[str, Any] = Field(description="patients selected, matched, not selected by status, by language")
    recipients: dict[str, dict[str, int]] = Field(description="per language: recipients per channel")
    excluded: dict[str, dict[str, int]] = Field(description="per channel: patients left out, per reason")
    no_language: dict[str, int] = Field(
        default_factory=dict, description="patients with no communication language of their own, by the language "
        "they are given instead: their clinic's default (only languages with some)")


class AuditEventOut(Schema):
    id: int
    at: dt.datetime
    actor: str = Field(description="who, by name as it was then: the user's name; the OS user at the command line "
                                   "(or empty); the name typed, for a failed sign-in")
    actor_kind: str = Field(description="user (a member of staff), cli (the command line) or visitor (not signed "
                                        "in: a failed sign-in)")
    actor_id: int | None = Field(description="the user's id: a member of staff's, or the account a failed sign-in "
                                             "named; null for the command line")
    action: str
    campaign: int | None
    detail: dict[str, Any] = Field(description="ids and counts only")
    address: str = Field(description="the client's IP address; empty at the command line")
    via: str = Field(description="the API token's name, for what was done over the API; empty otherwise")


class AuditOut(Page):
    items: list[AuditEventOut]


class ControlOut(Schema):
    campaign: int
    messages: int = Field(description="how many messages the action changed")


class MeasureIn(Strict):
    text: str = Field(max_length=100_000)


class MeasurePart(Schema):
    text: str
    units: int


class Forcing(Schema):
    position: int
    character: str
    code: str
    name: str


class Replacement(Schema):
    position: int
    original: str
    replacement: str


class SuggestionOut(Schema):
    text: str
    encoding: str
    parts: int
    parts_saved: int
    replacements: list[Replacement]


class MeasureOut(Schema):
    encoding: Literal["GSM-7", "UCS-2"]
    units: int
    unit: str
    units_left: int
    part_limit: int
    parts: list[MeasurePart]
    forcing: list[Forcing]
    suggestion: SuggestionOut | None
