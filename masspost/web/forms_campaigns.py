"""The campaign pages' and the audit log's filters, and the words their statuses are shown with.

A value that does not parse is as if it were not given (a hand-edited URL shows everything); one that parses but
is out of range (page 0, the year 9999) is a 400 page saying so (web.query)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext_lazy

from masspost.campaigns.listing import STATUSES
from masspost.delivery.models import MessageStatus
from masspost.web.audit_words import action_choices
from masspost.web.query import PageField, QueryDateField, refuse_out_of_range

CAMPAIGN_STATUSES = {
    "sending": _lazy("sending"),
    "done": _lazy("done"),
    "paused": _lazy("paused"),
    "cancelled": _lazy("cancelled"),
}
MESSAGE_STATUSES = {
    MessageStatus.QUEUED.value: _lazy("queued"),
    MessageStatus.SENDING.value: _lazy("being sent"),
    MessageStatus.SENT.value: _lazy("sent"),
    MessageStatus.DELIVERED.value: _lazy("delivered"),
    MessageStatus.UNDELIVERED.value: _lazy("not delivered"),
    MessageStatus.FAILED.value: _lazy("failed"),
    MessageStatus.UNKNOWN.value: _lazy("unknown"),
    MessageStatus.CANCELLED.value: _lazy("cancelled"),
    MessageStatus.EXPIRED.value: _lazy("expired"),
    MessageStatus.LEFT_OUT.value: _lazy("left out at the start"),
    MessageStatus.SUPPRESSED.value: _lazy("opted out before sending"),
}
PURPOSES = {"service": _lazy("service"), "marketing": _lazy("marketing")}
CHANNELS = {"sms": _lazy("SMS"), "email": _lazy("e-mail"), "both": _lazy("SMS and e-mail")}
ALL = [("", _lazy("all"))]


class _Filter(forms.Form):
    page = PageField()

    def values(self) -> dict[str, Any]:
        """The cleaned filter, with every field that did not parse left at its empty value."""
        self.is_valid()
        refuse_out_of_range(self)
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned.get(name) if name in cleaned else field.to_python("")
                for name, field in self.fields.items()}


class CampaignsFilter(_Filter):
    status = forms.ChoiceField(required=False, label=_lazy("Status"),
                               choices=ALL + [(s, CAMPAIGN_STATUSES[s]) for s in STATUSES])


class MessagesFilter(_Filter):
    status = forms.ChoiceField(required=False, label=_lazy("Status"),
                               choices=ALL + list(MESSAGE_STATUSES.items()))
    q = forms.CharField(required=False, max_length=64, strip=True, label=_lazy("Patient ID"),
                        help_text=_lazy("the whole ID or its beginning"))


def _action_choices() -> list[tuple[str, Any]]:
    return [*ALL, *action_choices()]


class AuditFilter(_Filter):
    # The actions by name in the user's language, sorted when the form is built (so in the request's language).
    action = forms.ChoiceField(required=False, label=_lazy("Action"), choices=_action_choices)
    # A user's name, or COMMAND_LINE; the choices, those the admin may pick, are set by the view (web.views.audit).
    actor = forms.CharField(required=False, max_length=150, strip=True, label=_lazy("Who"), widget=forms.Select)
    # Local dates: the view turns them into local midnights (web.timezone.local_day_start), both inclusive.
    since = QueryDateField(required=False, label=pgettext_lazy("audit filter", "From"),
                           widget=forms.DateInput(attrs={"type": "date"}))
    until = QueryDateField(required=False, label=pgettext_lazy("audit filter", "To (inclusive)"),
                           widget=forms.DateInput(attrs={"type": "date"}))
