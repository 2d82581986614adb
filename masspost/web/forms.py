"""The Bulk Mail form (Masspostitus): filters and texts per language, cleaned into a CampaignSpec.

Errors sit on their field and keep what the user typed; the campaign rules themselves stay in
CampaignSpec.from_dict — this form only says them next to the right box."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from masspost.audience.filter import AudienceFilter
from masspost.campaigns.spec import CampaignSpec, ChannelChoice, LanguageContent, Purpose
from masspost.clinic.models import Clinic
from masspost.content import TemplateError, compile_template
from masspost.content.header import header_problem
from masspost.content.languages import is_country
from masspost.errors import SpecError

CHANNELS = [("sms", _lazy("SMS")), ("email", _lazy("E-mail")), ("both", _lazy("SMS and e-mail"))]
PURPOSES = [("service", _lazy("Service (reminders, notices)")), ("marketing", _lazy("Marketing (offers, news)"))]
TEXT_FIELDS = (("sms", "sms"), ("subject", "email_subject"), ("body", "email_body"))


def sms_label(language: str) -> str:
    """The SMS box's label, also when the box comes back alone (the punctuation fix)."""
    return _("SMS text (%(language)s)") % {"language": language}


def text_problems(key: str, text: str) -> list[str]:
    """What is wrong with one text box on its own (`key`: sms, subject, body), in the user's language: the form's
    check and the live check under the e-mail boxes (views.bulk.text_check) say the same."""
    problems = []
    try:
        compile_template(text)
    except TemplateError as exc:
        problems.append(_("Position %(position)s: %(reason)s") % {"position": exc.position, "reason": exc.reason})
    if key == "subject" and (found := header_problem(text)):
        position, what = found
        if what == "line break":
            problems.append(_("Position %(position)s: a line break. A subject is one line.")
                            % {"position": position})
        else:
            problems.append(_("Position %(position)s: an invisible control character (%(code)s). Remove it.")
                            % {"position": position, "code": what.rsplit(" ", 1)[-1]})
    return problems


def _checked_live(name: str) -> dict[str, Any]:
    """An e-mail box is checked as it is typed, like the SMS box is counted: its error slot (partials/errors.html)
    is refilled by views.bulk.text_check."""
    return {"hx-post": reverse_lazy("web:text_check"), "hx-trigger": "input changed delay:300ms",
            "hx-sync": "this:replace", "hx-vals": json.dumps({"field": name}), "hx-target": f"#errors-{name}",
            "hx-swap": "outerHTML"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class BulkForm(forms.Form):
    name = forms.CharField(label=_lazy("Campaign name"), max_length=200)
    clinics = forms.MultipleChoiceField(label=_lazy("Clinics"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    age_min = forms.IntegerField(label=_lazy("Age from"), required=False, min_value=0, max_value=130)
    age_max = forms.IntegerField(label=_lazy("Age to"), required=False, min_value=0, max_value=130)
    countries = forms.CharField(label=_lazy("Countries of residence"), required=False, max_length=200,
                                help_text=_lazy("ISO codes, e.g. EE, FI; empty = any"))
    visited_from = forms.DateField(label=_lazy("Had a visit from"), required=False, widget=DateInput())
    visited_to = forms.DateField(label=_lazy("Had a visit to"), required=False, widget=DateInput())
    not_visited_from = forms.DateField(label=_lazy("Had no visit from"), required=False, widget=DateInput())
    not_visited_to = forms.DateField(label=_lazy("Had no visit to"), required=False, widget=DateInput())
    channel = forms.ChoiceField(label=_lazy("Channel"), choices=CHANNELS, initial="sms", widget=forms.RadioSelect)
    purpose = forms.ChoiceField(label=_lazy("Purpose"), choices=PURPOSES, initial="service",
                                widget=forms.RadioSelect)
    fallback_language = forms.ChoiceField(label=_lazy("Fallback language"), required=False)

    def __init__(self, *args: Any, clinics: list[Clinic], languages: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.languages = languages  # (code, name) of every tab, in order
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
    def clean_countries(self) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(c.strip().upper() for c in self.cleaned_data["countries"].replace(";", ",")
                                    .replace(" ", ",").split(",") if c.strip()))
        if bad := [c for c in codes if not is_country(c)]:
            raise forms.ValidationError(_("Not a country code: %(codes)s (two letters, e.g. EE)")
                                        % {"codes": ", ".join(bad)})
        return codes

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lo, hi = data.get("age_min"), data.get("age_max")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("age_max", _("The upper age is below the lower one."))
        for prefix in ("visited", "not_visited"):
            start, end = data.get(f"{prefix}_from"), data.get(f"{prefix}_to")
            if (start is None) != (end is None) and f"{prefix}_from" not in self.errors \
                    and f"{prefix}_to" not in self.errors:
                self.add_error(f"{prefix}_to" if end is None else f"{prefix}_from",
                               _("Give both dates of the period, or neither."))
            elif start and end and start > end:
                self.add_error(f"{prefix}_to", _("The period ends before it starts."))
        for code, _lang in self.languages:
            # Whether a box is written is what was typed: a box refused for a merge field (dropped from
            # cleaned_data) is still written, and "needs both" would be false next to its real error.
            subject, body = (self.typed(f"subject_{code}").strip(), self.typed(f"body_{code}").strip())
            for key, _attr in TEXT_FIELDS:
                for problem in text_problems(key, data.get(f"{key}_{code}") or ""):
                    self.add_error(f"{key}_{code}", problem)
            if bool(subject) != bool(body) and self._channel_has("email", data):
                self.add_error(f"body_{code}" if subject else f"subject_{code}",
                               _("An e-mail needs both a subject and a text."))
        return data

    def typed(self, name: str) -> str:
        value = self[name].value()
        return value if isinstance(value, str) else ""

    def _channel_has(self, channel: str, data: dict[str, Any]) -> bool:
        return channel in ChannelChoice(data.get("channel") or "sms").channels

    # --- the campaign ------------------------------------------------------------------------------------------
    def draft_spec(self) -> CampaignSpec:
        """The campaign as far as it is written, for the live count: texts that do not compile yet count as
        absent. Call after is_valid() has run (the filter fields must be clean)."""
        data = self.cleaned_data
        content = []
        for code, _lang in self.languages:
            texts: dict[str, str] = {attr: data.get(f"{key}_{code}") or "" for key, attr in TEXT_FIELDS
                                     if f"{key}_{code}" not in self.errors}
            if any(t.strip() for t in texts.values()):
                item = LanguageContent(sms=texts.get("sms", ""), email_subject=texts.get("email_subject", ""),
                                       email_body=texts.get("email_body", ""))
                if bool(item.email_subject.strip()) != bool(item.email_body.strip()):
                    item = LanguageContent(sms=item.sms)
                content.append((code, item))
        return CampaignSpec(name=data.get("name") or "draft", purpose=Purpose(data.get("purpose") or "service"),
                            channel=ChannelChoice(data.get("channel") or "sms"), audience=self.audience(),
                            content=tuple(sorted(content)), fallback_language=data.get("fallback_language") or None)

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
            start, end = data.get(f"{prefix}_from"), data.get(f"{prefix}_to")
            if isinstance(start, dt.date) and isinstance(end, dt.date):
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
            if not draft.languages_with(channel) and first:
                field = f"sms_{first}" if channel == "sms" else f"body_{first}"
                self.add_error(field, _("Write the SMS in at least one language.") if channel == "sms"
                               else _("Write the e-mail in at least one language."))
            elif draft.fallback_language and draft.fallback_language not in draft.languages_with(channel):
                self.add_error("fallback_language", _("The fallback language has no text for this channel."))
        if self.errors:
            return None
        try:
            return CampaignSpec.from_dict(draft.to_dict())
        except SpecError as exc:
            self.add_error(None, str(exc))
            return None


def spec_as_form_data(spec: dict[str, Any]) -> dict[str, Any]:
    """A past campaign (its stored campaign file) as the form's data: "use as a start"."""
    audience = spec.get("audience") or {}
    data: dict[str, Any] = {"name": spec.get("name", ""), "channel": spec.get("channel", "sms"),
                            "purpose": spec.get("purpose", "service"),
                            "fallback_language": spec.get("fallback_language") or "",
                            "clinics": list(audience.get("clinics", [])),
                            "countries": ", ".join(audience.get("countries", []))}
    age = audience.get("age") or {}
    data["age_min"], data["age_max"] = age.get("min", ""), age.get("max", "")
    for prefix in ("visited", "not_visited"):
        period = audience.get(prefix) or {}
        data[f"{prefix}_from"], data[f"{prefix}_to"] = period.get("from", ""), period.get("to", "")
    for code, texts in (spec.get("content") or {}).items():
        for key, attr in TEXT_FIELDS:
            data[f"{key}_{code}"] = texts.get(attr, "")
    return data
