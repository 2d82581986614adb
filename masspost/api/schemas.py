"""What goes in and out of the API, as pydantic models: the OpenAPI schema is generated from them. The campaign
model mirrors docs/campaign.md for the schema and for early errors with a path; `CampaignSpec.from_dict` stays
the one judge of a campaign (dates and codes are checked there, as for a campaign file)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
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
                             "compared, token_malformed or token_from_older_version; conflict: why the campaign's "
                             "state refuses it, test_required, own_campaign, not_pending, stale, started, or a "
                             "control's reason")
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


def _campaign_year(value: Any) -> Any:
    """A send_at or deadline (text, or a date-time) within the years a campaign can be in: one in year 1 or 9999
    is no time to send at, and its conversion between time zones would overflow. The rest of the check (the form,
    how far ahead) is the campaign's own (CampaignSpec, campaigns.timing)."""
    try:
        when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        return value  # not a date and time: CampaignSpec says so, naming the key
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise ValueError(f"out of range: a year from {YEARS[0]} to {YEARS[1]}")
    return value


YEARS = (2000, 2100)
CampaignTime = Annotated[str, AfterValidator(_campaign_year)]
RescheduleTime = Annotated[dt.datetime, AfterValidator(_campaign_year)]


class Campaign(Strict):
    """A campaign as in a campaign file (docs/campaign.md)."""

    name: str = Field(min_length=1, max_length=200)
    purpose: Literal["service", "marketing"] = "service"
    channel: Literal["sms", "email", "both"]
    audience: Audience | None = None
    fallback_language: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    content: dict[str, Texts] = Field(description="texts per ISO 639-1 language code",
                                      examples=[{"et": {"sms": "Tere {first_name}! Aeg kontrolliks."}}])
    send_at: CampaignTime | None = Field(
        None, max_length=40, examples=["2027-03-01T09:00", "2027-03-01T09:00+02:00"],
        description="when to start (ISO 8601, to the minute): without an offset the local time in each clinic's "
        "own zone, with one an instant; none: at once. At most 90 days ahead")
    deadline: CampaignTime | None = Field(
        None, max_length=40, examples=["2027-03-03T20:00"],
        description="what is not handed to a gateway by then ends `expired` (same forms as send_at, and the same "
        "form as it); none: 3 days after the start")
    recently_messaged_days: int | None = Field(
        None, ge=0, le=365, description="leave out patients who got a message of the same purpose in the last N "
        "days (`recently_messaged`); 0: off; none: the clinic's setting for marketing, off for service")
    one_per_address: bool | None = Field(
        None, description="patients sharing a phone or e-mail get one message between them (the household "
        "contact, else the oldest; the others `shared_address`); none: on for marketing, off for service")

    def as_file(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class SendIn(Strict):
    campaign: Campaign
    token: QueryText = Field(min_length=1, max_length=200, description="the token of the preview being confirmed")


class SendOut(Schema):
    campaign: int
    messages: int
    approval: Literal["", "pending", "approved", "rejected"] = Field(
        "", description="pending: a clinic's rule needs a second sender's approval before anything goes "
        "(`POST /campaigns/{id}/approve`); empty: none needed; a repeated request answers the campaign's state "
        "now (approved, rejected)")
    send_at: dt.datetime | None = Field(None, description="when it starts, if scheduled; null: at once")


class SampleMessageOut(Schema):
    channel: Literal["sms", "email"]
    language: str
    to: str = Field(description="your own phone or e-mail (never a patient's)")
    ok: bool
    error: str = Field(description="why the gateway refused it; empty when sent")


class SampleOut(Schema):
    """A test send: the preview's sample in each language and channel, sent now to your own phone and e-mail."""

    messages: list[SampleMessageOut]
    missing: list[str] = Field(description="channels of the campaign you have no own address for (set them with "
                               "`PATCH /me`)")


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
    optout: dict[str, str] = Field(default_factory=dict, description="what each channel's messages carry to opt out: "
                                   "sms link | stop_word; email link | reply | preferences (docs/consent.md)")
    optout_warning: str | None = Field(None, description="no_public_url: marketing e-mails without a one-click "
                                       "unsubscribe (MASSPOST_PUBLIC_URL unset); a warning, not a refusal")
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
    schedule: dict[str, Any] = Field(
        default_factory=dict, description="when the messages go: send_at (as given, null: at once), scheduled, "
        "deadline, and per clinic {clinic, name, time_zone, window, starts_at, opens_at (null: not before the "
        "deadline, they will expire), held (\"\", quiet_hours, holiday), deadline}; times ISO 8601 UTC")
    recent_campaign: dict[str, Any] | None = Field(
        None, description="a campaign sent in the last 24 hours that reached more than half of these recipients: "
        "{campaign_id, name, sent_at, patients, of}; null: none")
    approval: dict[str, Any] | None = Field(
        None, description="a second sender's approval is needed: {needed, rule (recipients | cost), over, clinic, "
        "value}; null: not needed")
    test_send: dict[str, bool] = Field(
        default_factory=dict, description="{required, done}: a clinic asks for a test send (`POST /campaigns/test`) "
        "before a marketing campaign, and whether one of exactly this campaign was sent")
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
    marketing_window: str = Field(description="when marketing messages may go, in the clinic's own time zone",
                                  examples=["Mon-Sat 09:00-20:00"])
    service_window: str = Field(description="when service messages may go", examples=["Mon-Sun 08:00-21:00"])
    holidays: bool = Field(description="no marketing on the country's public holidays")
    approval_over: int | None = Field(description="a campaign with more recipients needs a second sender's "
                                      "approval; null: never")
    approval_cost_over: Decimal | None = Field(description="a marketing campaign whose SMS cost more needs one; "
                                               "null: never")
    test_before_marketing: bool = Field(description="a marketing campaign must be test-sent before it is sent")
    recently_messaged_days: int = Field(description="marketing leaves out patients messaged within this many days "
                                        "(0: off)")


class ClinicSettingsIn(Strict):
    """The settings to change; a key left out stays as it is."""

    marketing_window: str | None = Field(None, max_length=100, examples=["Mon-Fri 09:00-18:00"],
                                         description="days and hours, like `Mon-Sat 09:00-20:00`")
    service_window: str | None = Field(None, max_length=100, examples=["Mon-Sun 08:00-21:00"])
    holidays: bool | None = None
    approval_over: int | None = Field(None, ge=1, le=2_147_483_647, description="null: no approval by recipients")
    approval_cost_over: Decimal | None = Field(None, ge=0, max_digits=10, decimal_places=2,
                                               description="null: no approval by cost")
    test_before_marketing: bool | None = None
    recently_messaged_days: int | None = Field(None, ge=0, le=365)


class PatientOut(Schema):
    external_id: str
    clinic: str
    language: str
    country: str
    status: str
    accepts_sms: bool = Field(description="SMS at all (purpose service): false, nothing goes by SMS")
    accepts_email: bool = Field(description="e-mail at all (purpose service): false, nothing goes by e-mail")
    marketing_sms: bool = Field(description="offers by SMS (purpose marketing), sent only where accepts_sms too")
    marketing_email: bool = Field(description="offers by e-mail (purpose marketing), sent only where accepts_email "
                                              "too")
    marketing_consent: bool = Field(deprecated=True,
                                    description="deprecated: marketing_sms or marketing_email (true when either "
                                                "is); read those two")
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
    deadline: dt.datetime = Field(description="what is not handed to a gateway by then ends `expired` (the "
                                  "latest of its clinics' deadlines)")
    send_at: dt.datetime | None = Field(description="when it was scheduled to start (its earliest clinic's "
                                        "start); null: at once")
    started_at: dt.datetime | None = Field(description="when its start was checked (null: not started yet)")
    approval: Literal["", "pending", "approved", "rejected"] = Field(
        description="a second sender's approval: pending, approved, rejected; empty: none needed")
    approved_by: str = Field(description="who approved or rejected it, by name; empty otherwise")
    approved_at: dt.datetime | None = None
    left_out: dict[str, int] = Field(
        default_factory=dict, description="messages left out at a scheduled start, per reason (archived, deceased, "
        "moved_clinic, opted_out, no_marketing_consent, address_changed)")
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


class RescheduleIn(Strict):
    send_at: RescheduleTime | None = Field(
        None, examples=["2027-03-02T09:00"], description="the new start: without an offset the local time in each "
        "clinic's zone, with one an instant; null: start now")
    deadline: RescheduleTime | None = Field(None, examples=["2027-03-04T20:00"],
                                         description="the new deadline, in the same form; null: 3 days after the "
                                         "start")


class RescheduleOut(Schema):
    campaign: int
    schedule: dict[str, Any] = Field(description="the new schedule, as the preview's `schedule`")


class ApprovalOut(Schema):
    id: int
    name: str
    author: str
    created_at: dt.datetime
    purpose: str
    channel: str
    send_at: dt.datetime | None
    deadline: dt.datetime
    spec: dict[str, Any] = Field(description="the campaign as its author confirmed it")


class MeOut(Schema):
    user: str
    role: str
    token: str
    clinics: list[str]
    phone: str = Field(description="your own phone (E.164), where test sends go; empty: none")
    email: str = Field(description="your own e-mail, where test sends go; empty: none")


class MeIn(Strict):
    phone: str | None = Field(None, max_length=40, description="your own phone; a number without a country code "
                              "is read in your clinic's country; \"\": remove; left out: unchanged")
    email: str | None = Field(None, max_length=254, description="your own e-mail; \"\": remove")
