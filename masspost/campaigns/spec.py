"""A campaign as the user wrote it: the campaign file / API payload (docs/campaign.md), parsed and checked."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from typing import Any

from masspost.audience.filter import AudienceFilter
from masspost.campaigns.token import digest
from masspost.content import Template, TemplateError, compile_template, looks_like_html
from masspost.content.header import header_problem, text_problem
from masspost.content.languages import is_language
from masspost.content.sanitise import Removal, sanitise_html
from masspost.errors import SpecError


class Purpose(enum.StrEnum):
    SERVICE = "service"
    MARKETING = "marketing"


class ChannelChoice(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    BOTH = "both"

    @property
    def channels(self) -> tuple[str, ...]:
        return ("sms", "email") if self is ChannelChoice.BOTH else (self.value,)


@dataclass(frozen=True, kw_only=True, slots=True)
class LanguageContent:
    sms: str = ""
    email_subject: str = ""
    email_body: str = ""  # an HTML body as masspost.content.sanitise cleaned it: what is previewed and sent

    def has(self, channel: str) -> bool:
        return bool(self.sms.strip()) if channel == "sms" else bool(self.email_body.strip())


RemovedByLanguage = tuple[tuple[str, tuple[Removal, ...]], ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class CampaignSpec:
    name: str
    purpose: Purpose
    channel: ChannelChoice
    audience: AudienceFilter
    content: tuple[tuple[str, LanguageContent], ...]  # (language, texts), sorted by language
    fallback_language: str | None = None
    # Per language, what the cleaning took out of an HTML e-mail body as written (languages with something only).
    removed: RemovedByLanguage = ()
    # When it starts and by when it must have gone (docs/campaign.md, "Scheduling", "Deadline"): an aware datetime
    # is an instant; a naive one the local time in each clinic's own zone. None: at once / 3 days after the start.
    send_at: dt.datetime | None = None
    deadline: dt.datetime | None = None
    # Leave out patients messaged with the same purpose within so many days (0: off). None: the clinic's
    # `recently_messaged_days` for marketing, off for service.
    recently_messaged_days: int | None = None
    # One message per shared phone / e-mail address (the household's contact or its oldest patient gets it).
    # None: on for marketing, off for service.
    one_per_address: bool | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return self.channel.channels

    def languages_with(self, channel: str) -> frozenset[str]:
        return frozenset(lang for lang, texts in self.content if texts.has(channel))

    @property
    def marketing(self) -> bool:
        return self.purpose is Purpose.MARKETING

    @property
    def shares_addresses(self) -> bool:
        """Whether patients who share an address on a channel get one message between them (`one_per_address`)."""
        return self.marketing if self.one_per_address is None else self.one_per_address

    def settings_digest(self) -> str:
        settings: dict[str, Any] = {"name": self.name, "purpose": self.purpose.value, "channel": self.channel.value,
                                    "fallback_language": self.fallback_language}
        # The timing and the audience rules, only when given: a campaign without them keeps the token it had.
        settings.update(self._timing_dict())
        return digest(settings)

    def _timing_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.send_at is not None:
            out["send_at"] = self.send_at.isoformat()
        if self.deadline is not None:
            out["deadline"] = self.deadline.isoformat()
        if self.recently_messaged_days is not None:
            out["recently_messaged_days"] = self.recently_messaged_days
        if self.one_per_address is not None:
            out["one_per_address"] = self.one_per_address
        return out

    def content_digest(self) -> str:
        return digest({lang: [t.sms, t.email_subject, t.email_body] for lang, t in self.content})

    def email_removed(self) -> dict[str, list[dict[str, object]]]:
        """Per language, what the cleaning took out of an HTML e-mail body (docs/campaign.md, "E-mail"): the
        preview's `email_sanitised`. Empty when the campaign sends no e-mail."""
        if "email" not in self.channels:
            return {}
        return {lang: [r.to_dict() for r in removed] for lang, removed in self.removed}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "purpose": self.purpose.value, "channel": self.channel.value,
            "audience": self.audience.to_dict(), "fallback_language": self.fallback_language,
            "content": {lang: {"sms": t.sms, "email_subject": t.email_subject, "email_body": t.email_body}
                        for lang, t in self.content},
            **self._timing_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> CampaignSpec:
        if not isinstance(data, dict):
            raise SpecError("a campaign must be a JSON object")
        unknown = set(data) - {"name", "purpose", "channel", "audience", "fallback_language", "content", "send_at",
                               "deadline", "recently_messaged_days", "one_per_address"}
        if unknown:
            raise SpecError(f"unknown key(s) {', '.join(sorted(unknown))}")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SpecError("name: a campaign needs a name")
        if problem := header_problem(name):
            position, what = problem
            raise SpecError(f"name: {what} at character {position} (a name is one line)")
        purpose = _choice(Purpose, data.get("purpose", "service"), "purpose")
        channel = _choice(ChannelChoice, data.get("channel"), "channel")
        fallback = data.get("fallback_language")
        if fallback is not None and (not isinstance(fallback, str) or not is_language(fallback.lower())):
            raise SpecError(f"fallback_language: unknown language code {fallback!r} (ISO 639-1)")
        # Codes in any case, as in imports ("ET", "Ru"): stored and compared in lower case.
        fallback = fallback.lower() if fallback else None
        content, removed = _content(data.get("content"))
        send_at = _when(data.get("send_at"), "send_at")
        deadline = _when(data.get("deadline"), "deadline")
        if send_at is not None and deadline is not None:
            if (send_at.tzinfo is None) != (deadline.tzinfo is None):
                raise SpecError("deadline: give send_at and deadline in the same form (both with an offset, or "
                                "both local times without one)")
            if deadline <= send_at:
                raise SpecError("deadline: must be after send_at")
        recent = data.get("recently_messaged_days")
        if recent is not None and (isinstance(recent, bool) or not isinstance(recent, int) or not 0 <= recent <= 365):
            raise SpecError("recently_messaged_days: a whole number of days from 0 (off) to 365")
        one = data.get("one_per_address")
        if one is not None and not isinstance(one, bool):
            raise SpecError("one_per_address: true or false")
        spec = cls(name=name.strip(), purpose=purpose, channel=channel, fallback_language=fallback,
                   audience=AudienceFilter.from_dict(data.get("audience")), content=content, removed=removed,
                   send_at=send_at, deadline=deadline, recently_messaged_days=recent, one_per_address=one)
        for ch in spec.channels:
            if not spec.languages_with(ch):
                raise SpecError(f"empty campaign: no language has {'an SMS text' if ch == 'sms' else 'an e-mail'}")
            if spec.fallback_language and spec.fallback_language not in spec.languages_with(ch):
                raise SpecError(f"fallback_language {spec.fallback_language!r} has no {_channel_name(ch)} text")
        return spec


def _when(value: Any, key: str) -> dt.datetime | None:
    """An ISO 8601 date and time: with an offset an instant (aware), without one a local time (naive). Seconds
    and smaller are dropped: a campaign is scheduled to the minute."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SpecError(f"{key}: an ISO 8601 date and time, like \"2027-03-01T09:00\" (local in each clinic's zone) "
                        "or \"2027-03-01T09:00+02:00\" (an instant)")
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise SpecError(f"{key}: not an ISO 8601 date and time (like \"2027-03-01T09:00\" or "
                        "\"2027-03-01T09:00+02:00\")") from None
    if len(value.strip()) == 10:  # a date alone is not a time to send at
        raise SpecError(f"{key}: give a time too, like \"{value.strip()}T09:00\"")
    if not 2000 <= when.year <= 2100:
        raise SpecError(f"{key}: a date between the years 2000 and 2100")
    return when.replace(second=0, microsecond=0)


def _channel_name(channel: str) -> str:
    return "SMS" if channel == "sms" else "e-mail"


def _choice(kind: type[enum.StrEnum], value: Any, key: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = " | ".join(m.value for m in kind)
        raise SpecError(f"{key}: {value!r} is not one of {allowed}") from None


def _content(value: Any) -> tuple[tuple[tuple[str, LanguageContent], ...], RemovedByLanguage]:
    """The texts per language, HTML bodies cleaned, and per language what the cleaning took out."""
    if not isinstance(value, dict) or not value:
        raise SpecError("content: give the texts per language, e.g. {\"et\": {\"sms\": \"...\"}}")
    out = []
    removed: list[tuple[str, tuple[Removal, ...]]] = []
    written: dict[str, str] = {}  # code → the key as the file wrote it
    for code, texts in value.items():
        lang = code.lower()
        if not is_language(lang):
            raise SpecError(f"content: unknown language code {code!r} (ISO 639-1)")
        if lang in written:
            raise SpecError(f"content: {written[lang]!r} and {code!r} are the same language: give its texts once")
        written[lang] = code
        if not isinstance(texts, dict) or set(texts) - {"sms", "email_subject", "email_body"}:
            raise SpecError(f"content.{lang}: must be an object with sms, email_subject, email_body")
        for key, text in texts.items():
            if not isinstance(text, str):
                raise SpecError(f"content.{lang}.{key}: must be text")
        # The subject is a header line: what the SMTP gateway would refuse is refused here, where it can be fixed.
        if problem := header_problem(texts.get("email_subject", "")):
            position, what = problem
            raise SpecError(f"content.{lang}.email_subject: {what} at character {position} (a subject is one line)")
        for key in ("sms", "email_body"):
            if problem := text_problem(texts.get(key, "")):
                position, what = problem
                raise SpecError(f"content.{lang}.{key}: {what} at character {position} (a text may have line "
                                "breaks and tabs, no other control character)")
        item = LanguageContent(**texts)
        if looks_like_html(item.email_body):
            # Cleaned here, once: the cleaned body is what the token covers and what is sent.
            cleaned = sanitise_html(item.email_body)
            if item.email_body.strip() and not cleaned.html.strip():
                gone = ", ".join(r.text for r in cleaned.removed)
                raise SpecError(f"content.{lang}.email_body: nothing is left once what an e-mail may not hold is "
                                f"removed ({gone})")
            item = replace(item, email_body=cleaned.html)
            if cleaned.removed:
                removed.append((lang, cleaned.removed))
        if bool(item.email_subject.strip()) != bool(item.email_body.strip()):
            raise SpecError(f"content.{lang}: an e-mail needs both a subject and a body")
        out.append((lang, item))
    return tuple(sorted(out)), tuple(sorted(removed))


class TemplateSpecError(SpecError):
    """A text of the campaign that is not a valid template: `code` and `params` are the TemplateError's, for an
    interface that says it in its own words (the API's problem `code`, the web form's translated message)."""

    def __init__(self, message: str, *, error: TemplateError) -> None:
        super().__init__(message)
        self.code = error.code
        self.params = error.params


@dataclass(frozen=True, kw_only=True, slots=True)
class CompiledContent:
    sms: Template | None
    email_subject: Template | None
    email_body: Template | None


def compile_content(spec: CampaignSpec) -> dict[str, CompiledContent]:
    """Compile every text the campaign will send; a template error names language, channel and position."""
    out: dict[str, CompiledContent] = {}
    for lang, texts in spec.content:
        parts: dict[str, Template | None] = {}
        for key, label in (("sms", "SMS"), ("email_subject", "e-mail subject"), ("email_body", "e-mail body")):
            source = getattr(texts, key)
            channel = "sms" if key == "sms" else "email"
            if channel not in spec.channels or not texts.has(channel):
                parts[key] = None
                continue
            try:
                parts[key] = compile_template(source)
            except TemplateError as exc:
                raise TemplateSpecError(f"content.{lang} {label}: {exc}", error=exc) from None
        out[lang] = CompiledContent(**parts)
    return out
