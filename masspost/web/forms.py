"""The Bulk Mail form (Masspostitus): filters and texts per language, cleaned into a CampaignSpec.

Errors sit on their field and keep what the user typed; the campaign rules themselves stay in
CampaignSpec.from_dict — this form only says them next to the right box."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, cast

from django import forms
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils import timezone as django_timezone  # the schedule's clock (tests replace `timezone` for a day)
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy

from masspost.audience.filter import MONTHS_MAX, AudienceFilter
from masspost.campaigns.spec import CampaignSpec, ChannelChoice, LanguageContent, Purpose
from masspost.clinic.models import Clinic
from masspost.content import TemplateError, compile_template
from masspost.content.header import header_problem, text_problem
from masspost.content.html import looks_like_html
from masspost.content.languages import is_country
from masspost.content.sanitise import sanitise_html
from masspost.errors import SpecError
from masspost.web.presenting import country_name
from masspost.web.templatetags.masspost_format import day

CHANNELS = [("sms", _lazy("SMS")), ("email", _lazy("E-mail")), ("both", _lazy("SMS and e-mail"))]
PURPOSES = [("service", _lazy("Service (reminders, notices)")), ("marketing", _lazy("Marketing (offers, news)"))]
TEXT_FIELDS = (("sms", "sms"), ("subject", "email_subject"), ("body", "email_body"))

logger = logging.getLogger(__name__)


def sms_label(language: str) -> str:
    """The SMS box's label, also when the box comes back alone (the punctuation fix)."""
    return _("SMS text (%(language)s)") % {"language": language}


def default_name(date: dt.date | None = None) -> str:
    """The name a new campaign starts with, so that nobody has to invent one: "Masspostitus 07.12.2026", "Bulk
    mail 7 Dec 2026" — the day in the language's one date format (masspost_format.day)."""
    return _("Bulk mail %(date)s") % {"date": day(date or timezone.localdate())}


def template_message(error: TemplateError, text: str = "") -> str:
    """A merge-field mistake in the user's language and a receptionist's words — no character positions: the
    field as written, or the few characters around a brace left alone."""
    if error.code in (TemplateError.UNKNOWN, TemplateError.NOT_A_NAME):
        return _("{%(field)s} is not a field masspost knows — use the buttons below.") % {"field": error.field}
    if error.code == TemplateError.EMPTY:
        return _("Empty braces {} — put a field between them with the buttons below, or remove them.")
    near = _around(text, error.position - 1)
    if error.code == TemplateError.UNCLOSED:
        return _("A “{” is not closed (at “%(near)s”): close it with “}”, or use the buttons below.") \
            % {"near": near}
    return _("A “}” has no “{” before it (at “%(near)s”): remove it, or use the buttons below.") % {"near": near}


def _around(text: str, at: int, reach: int = 10) -> str:
    """The words around character `at` (about `reach` characters each side, never cut mid-word): where the brace
    is, as the user sees it."""
    start, end = max(0, at - reach), min(len(text), at + 1 + reach)
    while start > 0 and not text[start - 1].isspace() and at - start < 3 * reach:
        start -= 1
    while end < len(text) and not text[end].isspace() and end - at < 3 * reach:
        end += 1
    return " ".join(text[start:end].split())


def template_problem(text: str) -> str | None:
    """What is wrong with a text's merge fields, in the user's words; None when nothing is."""
    try:
        compile_template(text)
    except TemplateError as exc:
        return template_message(exc, text)
    return None


def text_problems(key: str, text: str) -> list[str]:
    """What is wrong with one text box on its own (`key`: sms, subject, body), in the user's language: the form's
    check and the live check under the e-mail boxes (views.bulk.text_check) say the same."""
    problems = []
    if problem := template_problem(text):
        problems.append(problem)
    if key == "subject" and (found := header_problem(text)):
        if found[1] == "line break":
            problems.append(_("A subject is one line: remove the line break."))
        else:
            problems.append(_("The subject holds an invisible character that cannot be sent (%(code)s): remove "
                              "it.") % {"code": found[1].rsplit(" ", 1)[-1]})
    if key in ("sms", "body") and (found := text_problem(text)):
        problems.append(_("The text holds an invisible character that cannot be sent (%(code)s): remove it.")
                        % {"code": found[1].rsplit(" ", 1)[-1]})
    if key == "body" and text.strip() and looks_like_html(text) and not sanitise_html(text).html.strip():
        problems.append(_("Nothing is left of this e-mail once what an e-mail may not hold (scripts, forms) is "
                          "removed."))
    return problems


def _checked_live(name: str) -> dict[str, Any]:
    """An e-mail box is checked as it is typed, like the SMS box is counted: its error slot (partials/errors.html)
    is refilled by views.bulk.text_check."""
    return {"hx-post": reverse_lazy("web:text_check"), "hx-trigger": "input changed delay:300ms",
            "hx-sync": "this:replace", "hx-vals": json.dumps({"field": name}), "hx-target": f"#errors-{name}",
            "hx-swap": "outerHTML"}


class LocalDateTimeInput(forms.DateTimeInput):
    """The browser's own date-and-time box; its value is a wall time without a zone."""

    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class LocalDateTimeField(forms.Field):
    """A local date and time as typed (naive): the campaign's time in EACH clinic's own zone — CampaignSpec's naive
    form (docs/campaign.md, "Scheduling"), never turned into the user's zone."""

    widget = LocalDateTimeInput
    FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M")

    def to_python(self, value: Any) -> dt.datetime | None:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None, second=0, microsecond=0)
        text = str(value or "").strip()
        if not text:
            return None
        for pattern in self.FORMATS:
            try:
                return dt.datetime.strptime(text, pattern).replace(second=0)
            except ValueError:
                continue
        raise forms.ValidationError(_("Give a date and a time, e.g. 07.12.2026 09:00."), code="invalid")


def wall_clock_now() -> dt.datetime:
    """The user's local time now, to the minute, without a zone: what a datetime-local box is compared with."""
    return django_timezone.localtime().replace(tzinfo=None, second=0, microsecond=0)


SCHEDULE_AHEAD_MAX = dt.timedelta(days=90)  # campaigns.timing refuses a send_at further ahead
SCHEDULE_PAST_GRACE = dt.timedelta(minutes=5)  # a send_at this little in the past is "at once"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


PERIODS = [("", _lazy("any time (no filter)")), ("6", _lazy("in the last 6 months")),
           ("12", _lazy("in the last 12 months")), ("24", _lazy("in the last 24 months")),
           ("months", _lazy("in the last … months")), ("dates", _lazy("between two dates"))]
PERIOD_PRESETS = ("6", "12", "24")


class CountriesField(forms.MultipleChoiceField):
    """Countries ticked by name; any ISO 3166-1 code is a valid value (a past campaign may name a country none
    of today's patients lives in), and a code list typed the old way ("EE, FI") still reads."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: Any) -> list[str]:
        codes = []
        for item in super().to_python(value):
            codes += [c.strip().upper() for c in item.replace(";", ",").replace(" ", ",").split(",") if c.strip()]
        return list(dict.fromkeys(codes))

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if bad := [c for c in value if not is_country(c)]:
            raise forms.ValidationError(_("Not a country code: %(codes)s (two letters, e.g. EE)")
                                        % {"codes": ", ".join(bad)}, code="invalid_choice")


class BulkForm(forms.Form):
    name = forms.CharField(label=_lazy("Campaign name"), max_length=200)
    clinics = forms.MultipleChoiceField(label=_lazy("Clinics"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    age_min = forms.IntegerField(label=_lazy("Age from"), required=False, min_value=0, max_value=130)
    age_max = forms.IntegerField(label=_lazy("Age to"), required=False, min_value=0, max_value=130)
    countries = CountriesField(label=_lazy("Country of residence"), required=False)
    visited_period = forms.ChoiceField(label=_lazy("Had a visit"), choices=PERIODS, required=False)
    visited_months = forms.IntegerField(label=pgettext_lazy("visit period", "Months"), required=False, min_value=1,
                                        max_value=MONTHS_MAX)
    visited_from = forms.DateField(label=pgettext_lazy("visit period", "From"), required=False, widget=DateInput())
    visited_to = forms.DateField(label=pgettext_lazy("visit period", "To"), required=False, widget=DateInput())
    not_visited_period = forms.ChoiceField(label=_lazy("Had no visit"), choices=PERIODS, required=False)
    not_visited_months = forms.IntegerField(label=pgettext_lazy("visit period", "Months"), required=False, min_value=1,
                                            max_value=MONTHS_MAX)
    not_visited_from = forms.DateField(label=pgettext_lazy("visit period", "From"), required=False, widget=DateInput())
    not_visited_to = forms.DateField(label=pgettext_lazy("visit period", "To"), required=False, widget=DateInput())
    channel = forms.ChoiceField(label=_lazy("Channel"), choices=CHANNELS, initial="sms", widget=forms.RadioSelect)
    purpose = forms.ChoiceField(label=_lazy("Purpose"), choices=PURPOSES, initial="service",
                                widget=forms.RadioSelect)
    fallback_language = forms.ChoiceField(label=_lazy("Fallback language"), required=False)
    # When and how often (issue 19): the four keys of the campaign file, as typed.
    send_at = LocalDateTimeField(label=_lazy("Send at"), required=False,
                                 help_text=_lazy("Local time in each clinic. Empty: at once."))
    deadline = LocalDateTimeField(label=_lazy("Deadline"), required=False,
                                  help_text=_lazy("What has not gone by then is not sent. Empty: 3 days after the "
                                                  "start."))
    recently_messaged_days = forms.IntegerField(
        label=_lazy("Leave out patients messaged in the last … days"), required=False, min_value=0, max_value=365,
        help_text=_lazy("Empty: the clinic's setting for marketing, off for service. 0: off."))
    one_per_address = forms.BooleanField(label=_lazy("One message per shared phone or e-mail"), required=False,
                                         help_text=_lazy("The household's contact, or its oldest patient, gets it. "
                                                         "On by default for marketing."))

    def __init__(self, *args: Any, clinics: list[Clinic], languages: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            # A draft of the old form reads as the choice it was: two dates are "exact dates", "EE, FI" two ticks.
            legacy = [p for p in ("visited", "not_visited") if not self.data.get(f"{p}_period")
                      and (self.data.get(f"{p}_from") or self.data.get(f"{p}_to"))]
            typed = self.data.getlist("countries") if hasattr(self.data, "getlist") else []
            codes = CountriesField().to_python(typed)
            if legacy or codes != typed:
                data = cast(Any, self.data).copy()
                for prefix in legacy:
                    data[f"{prefix}_period"] = "dates"
                if codes != typed:  # a list typed the old way ("EE, FI"): ticked, one box each
                    data.setlist("countries", codes)
                self.data = data
        self.languages = languages  # (code, name) of every tab, in order
        if not self.is_bound:  # the purpose's default: one message per address for marketing
            purpose = self.initial.get("purpose", "service")
            self.initial.setdefault("one_per_address", purpose == "marketing")
        self.fields["recently_messaged_days"].widget.attrs.update({"inputmode": "numeric", "min": 0, "max": 365})
        self.fields["one_per_address"].widget.attrs["data-default-marketing"] = "1"
        cast(forms.ChoiceField, self.fields["clinics"]).choices = [(c.code, c.name) for c in clinics]
        cast(forms.ChoiceField, self.fields["fallback_language"]).choices = (
            [("", _("None: no text, no message"))] + list(languages))
        for code, lang_name in languages:
            self.fields[f"sms_{code}"] = forms.CharField(label=sms_label(lang_name),
                                                         required=False, max_length=2000, strip=False,
                                                         widget=forms.Textarea(attrs={"rows": 5}))
            self.fields[f"subject_{code}"] = forms.CharField(
                label=_("E-mail subject (%(language)s)") % {"language": lang_name}, required=False, max_length=200,
                widget=forms.TextInput(attrs=_checked_live(f"subject_{code}")))
            self.fields[f"body_{code}"] = forms.CharField(
                label=_("E-mail text (%(language)s)") % {"language": lang_name}, required=False, max_length=20000,
                strip=False, widget=forms.Textarea(attrs={"rows": 8} | _checked_live(f"body_{code}")))

    def text_fields(self, code: str) -> dict[str, forms.BoundField]:
        return {key: self[f"{key}_{code}"] for key, _attr in TEXT_FIELDS}

    # --- cleaning: every error on its own field, in the user's language -------------------------------------
    def offer_countries(self, counts: dict[str, int]) -> None:
        """The countries to tick: those the user's patients live in, and any the form already holds; by name."""
        chosen = [c for c in self.typed_list("countries") if is_country(c)]
        codes = set(counts) | set(chosen)
        named: list[tuple[str, str]] = sorted(((c, country_name(c)) for c in codes), key=lambda item: item[1])
        cast(forms.ChoiceField, self.fields["countries"]).choices = named

    def typed_list(self, name: str) -> list[str]:
        value = self[name].value() or []
        return [str(v).upper() for v in (value if isinstance(value, list | tuple) else [value])]

    def clean_countries(self) -> tuple[str, ...]:
        return tuple(self.cleaned_data["countries"])

    def period(self, prefix: str) -> str:
        """Which kind of period the user chose: a preset ("12"), "months", "dates", or "" (none)."""
        return self.typed(f"{prefix}_period")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (found := header_problem(data.get("name") or "")) is not None:
            self.add_error("name", _("The name holds an invisible character that cannot be shown (%(code)s): remove "
                                     "it.") % {"code": found[1].rsplit(" ", 1)[-1]})
        lo, hi = data.get("age_min"), data.get("age_max")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("age_max", _("The upper age is below the lower one."))
        for prefix in ("visited", "not_visited"):
            period = self.period(prefix)
            if period == "months" and data.get(f"{prefix}_months") is None \
                    and f"{prefix}_months" not in self.errors:
                self.add_error(f"{prefix}_months", _("How many months?"))
            if period != "dates":
                continue
            start, end = data.get(f"{prefix}_from"), data.get(f"{prefix}_to")
            if (start is None or end is None) and f"{prefix}_from" not in self.errors \
                    and f"{prefix}_to" not in self.errors:
                self.add_error(f"{prefix}_to" if start is not None else f"{prefix}_from",
                               _("Give both dates of the period."))
            elif start and end and start > end:
                self.add_error(f"{prefix}_to", _("The period ends before it starts."))
        self._clean_timing(data)
        for code, _lang in self.languages:
            # Whether a box is written is what was typed: a box refused for a merge field (dropped from
            # cleaned_data) is still written, and "needs both" would be false next to its real error.
            subject, body = (self.typed(f"subject_{code}").strip(), self.typed(f"body_{code}").strip())
            for key, _attr in TEXT_FIELDS:
                text = data.get(f"{key}_{code}") or ""
                if key == "sms" and (problem := template_problem(text)):
                    # Its own code: the SMS box shows it in the slot its live counter refills (partials/sms_field)
                    self.add_error(f"{key}_{code}", forms.ValidationError(problem, code="template"))
                    problems = text_problems(key, text)[1:]
                else:
                    problems = text_problems(key, text)
                for problem in problems:
                    self.add_error(f"{key}_{code}", problem)
            if bool(subject) != bool(body) and self._channel_has("email", data):
                self.add_error(f"body_{code}" if subject else f"subject_{code}",
                               _("An e-mail needs both a subject and a text."))
        return data

    def _clean_timing(self, data: dict[str, Any]) -> None:
        """The schedule's own rules, on their fields: not in the past, not too far ahead, the deadline after the
        start. Compared with the user's local time (a clinic in another zone is checked again by the preview)."""
        now = wall_clock_now()
        send_at, deadline = data.get("send_at"), data.get("deadline")
        if send_at is not None:
            if send_at < now - SCHEDULE_PAST_GRACE:
                self.add_error("send_at", _("This time has passed: give a time to come, or leave it empty to send "
                                            "at once."))
            elif send_at > now + SCHEDULE_AHEAD_MAX:
                self.add_error("send_at", _("At most 90 days ahead."))
        if deadline is not None and "send_at" not in self.errors and deadline <= (send_at or now):
            self.add_error("deadline", _("The deadline must be after the start.") if send_at
                           else _("This time has passed: the deadline must be to come."))

    def timing(self) -> dict[str, Any]:
        """The campaign file's keys for the timing and the audience rules, only those given: a form left at its
        defaults makes the same campaign (and token) as a file without them. Call after is_valid()."""
        data = self.cleaned_data
        out: dict[str, Any] = {}
        for key in ("send_at", "deadline"):
            if isinstance(data.get(key), dt.datetime):
                out[key] = data[key].strftime("%Y-%m-%dT%H:%M")
        if data.get("recently_messaged_days") is not None:
            out["recently_messaged_days"] = data["recently_messaged_days"]
        if "one_per_address" in data and bool(data["one_per_address"]) != (data.get("purpose") == "marketing"):
            out["one_per_address"] = bool(data["one_per_address"])
        return out

    def typed(self, name: str) -> str:
        value = self[name].value()
        return value if isinstance(value, str) else ""

    def _channel_has(self, channel: str, data: dict[str, Any]) -> bool:
        return channel in ChannelChoice(data.get("channel") or "sms").channels

    # --- the campaign ------------------------------------------------------------------------------------------
    def faulty_languages(self) -> set[str]:
        """The tabs with a typed text refused for a mistake (a merge field, an invisible character): not "no
        text", a text to fix. Call after is_valid()."""
        return {code for code, _lang in self.languages
                if any(f"{key}_{code}" in self.errors and self.typed(f"{key}_{code}").strip()
                       for key, _attr in TEXT_FIELDS)}

    def draft_spec(self, *, mended: bool = False) -> CampaignSpec:
        """The campaign as far as it is written, for the live count: texts that do not compile yet count as
        absent — or, `mended`, as if fixed (a plain stand-in), to count the patients who wait for the fix. Call
        after is_valid() has run (the filter fields must be clean)."""
        data = self.cleaned_data
        content = []
        for code, _lang in self.languages:
            texts: dict[str, str] = {attr: data.get(f"{key}_{code}") or "" for key, attr in TEXT_FIELDS
                                     if f"{key}_{code}" not in self.errors}
            if mended:
                texts |= {attr: "-" for key, attr in TEXT_FIELDS
                          if f"{key}_{code}" in self.errors and self.typed(f"{key}_{code}").strip()}
            if any(t.strip() for t in texts.values()):
                item = LanguageContent(sms=texts.get("sms", ""), email_subject=texts.get("email_subject", ""),
                                       email_body=texts.get("email_body", ""))
                if bool(item.email_subject.strip()) != bool(item.email_body.strip()):
                    item = LanguageContent(sms=item.sms)
                content.append((code, item))
        timing = self.timing()
        return CampaignSpec(name=data.get("name") or "draft", purpose=Purpose(data.get("purpose") or "service"),
                            channel=ChannelChoice(data.get("channel") or "sms"), audience=self.audience(),
                            content=tuple(sorted(content)), fallback_language=data.get("fallback_language") or None,
                            recently_messaged_days=timing.get("recently_messaged_days"),
                            one_per_address=timing.get("one_per_address"))

    def audience(self) -> AudienceFilter:
        data = self.cleaned_data
        raw: dict[str, Any] = {}
        if data.get("clinics"):
            raw["clinics"] = list(data["clinics"])
        age = {k: data[f"age_{k}"] for k in ("min", "max") if data.get(f"age_{k}") is not None}
        if age:
            raw["age"] = age
        if data.get("countries"):
            raw["countries"] = list(data["countries"])
        for prefix in ("visited", "not_visited"):
            period = self.period(prefix)
            start, end = data.get(f"{prefix}_from"), data.get(f"{prefix}_to")
            if period in PERIOD_PRESETS:
                raw[prefix] = {"last_months": int(period)}
            elif period == "months" and data.get(f"{prefix}_months"):
                raw[prefix] = {"last_months": data[f"{prefix}_months"]}
            elif period == "dates" and isinstance(start, dt.date) and isinstance(end, dt.date):
                raw[prefix] = {"from": start.isoformat(), "to": end.isoformat()}
        return AudienceFilter.from_dict(raw)

    def spec(self) -> CampaignSpec | None:
        """The campaign exactly as the campaign file would give it (CampaignSpec.from_dict's rules), or None with
        the reason added to the field it belongs to."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        channels = ChannelChoice(data["channel"]).channels
        draft = self.draft_spec()
        first = self.languages[0][0] if self.languages else None
        for channel in channels:
            if not draft.languages_with(channel):  # no tab at all (no patients yet): said above the form
                field = (f"sms_{first}" if channel == "sms" else f"body_{first}") if first else None
                self.add_error(field, _("Write the SMS in at least one language.") if channel == "sms"
                               else _("Write the e-mail in at least one language."))
            elif draft.fallback_language and draft.fallback_language not in draft.languages_with(channel):
                self.add_error("fallback_language", _("The fallback language has no text for this channel."))
        if self.errors:
            return None
        try:
            return CampaignSpec.from_dict(draft.to_dict() | self.timing())
        except SpecError as exc:
            # Every rule of the campaign file that a form drawn by masspost can break is said on its field above,
            # in the user's words (tests/web/test_bulk_form.py walks them). Only a form posted by hand gets here
            # (a tab for no language, the same language twice): said in the user's language, not the file's
            # English, which goes to the log.
            logger.warning("Bulk Mail form refused by the campaign rules: %s", exc)
            self.add_error(None, _("This form cannot be made into a campaign: reload the page and write it again."))
            return None


def spec_as_form_data(spec: dict[str, Any]) -> dict[str, Any]:
    """A past campaign (its stored campaign file) as the form's data: "use as a start"."""
    audience = spec.get("audience") or {}
    data: dict[str, Any] = {"name": spec.get("name", ""), "channel": spec.get("channel", "sms"),
                            "purpose": spec.get("purpose", "service"),
                            "fallback_language": spec.get("fallback_language") or "",
                            "clinics": list(audience.get("clinics", [])),
                            "countries": list(audience.get("countries", []))}
    # The rules carry over; a past campaign's time does not (it has passed): the new one starts at once.
    if spec.get("recently_messaged_days") is not None:
        data["recently_messaged_days"] = spec["recently_messaged_days"]
    one = spec.get("one_per_address")
    if (one if one is not None else spec.get("purpose") == "marketing"):
        data["one_per_address"] = "on"
    age = audience.get("age") or {}
    data["age_min"], data["age_max"] = age.get("min", ""), age.get("max", "")
    for prefix in ("visited", "not_visited"):
        period = audience.get(prefix) or {}
        data[f"{prefix}_from"], data[f"{prefix}_to"] = period.get("from", ""), period.get("to", "")
        months = period.get("last_months")
        data[f"{prefix}_months"] = ""
        if months is not None:  # a relative period stays relative: the new campaign looks back from its own day
            data[f"{prefix}_period"] = str(months) if str(months) in PERIOD_PRESETS else "months"
            if str(months) not in PERIOD_PRESETS:
                data[f"{prefix}_months"] = months
        else:
            data[f"{prefix}_period"] = "dates" if period.get("from") else ""
    for code, texts in (spec.get("content") or {}).items():
        for key, attr in TEXT_FIELDS:
            data[f"{key}_{code}"] = texts.get(attr, "")
    return data


class RescheduleForm(forms.Form):
    """A scheduled campaign's new start and deadline (local times in each clinic, as on Bulk Mail). The deadline
    shows the current one; left empty it is 3 days after the new start. `shown_in`: the clinics' zones and the one
    the shown start is in, when the clinics are in several zones and the shown time is not the campaign's own
    local time — the field's help then says how it is read."""

    send_at = LocalDateTimeField(label=_lazy("Send at"), help_text=_lazy("Local time in each clinic."),
                                 error_messages={"required": _lazy("Give the new time.")})
    deadline = LocalDateTimeField(label=_lazy("Deadline"), required=False,
                                  help_text=_lazy("Shown: the current deadline. Empty: 3 days after the new start."))

    def __init__(self, *args: Any, shown_in: tuple[list[str], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.show_zones(shown_in)

    def show_zones(self, shown_in: tuple[list[str], str] | None) -> None:
        """Say on the start's field how it is read, when the clinics are in several zones (see the class)."""
        if shown_in is not None:
            zones, zone = shown_in
            self.fields["send_at"].help_text = _(
                "Read as the local time in each clinic's own zone (%(zones)s). Shown: the current start in "
                "%(zone)s — saved as it is, the clinics in the other zones move.") % {
                "zones": ", ".join(zones), "zone": zone}
            self["send_at"].help_text = self.fields["send_at"].help_text  # a validated form's took the old one

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        now = wall_clock_now()
        send_at, deadline = data.get("send_at"), data.get("deadline")
        if send_at is not None and send_at < now:
            self.add_error("send_at", _("This time has passed: give a time to come."))
        elif send_at is not None and send_at > now + SCHEDULE_AHEAD_MAX:
            self.add_error("send_at", _("At most 90 days ahead."))
        elif send_at is not None and deadline is not None and deadline <= send_at:
            self.add_error("deadline", _("The deadline must be after the start."))
        return data
