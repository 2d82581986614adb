"""A refused campaign control (errors.ConflictError) in the user's language: the web UI says the case by its
`reason` (campaigns.controls); the command line and the API keep the English line, with the campaign's counts."""

from __future__ import annotations

from django.utils.translation import gettext as _

from masspost.errors import ConflictError


def conflict_message(error: ConflictError) -> str:
    messages = {
        "cancelled": _("The campaign is cancelled: nothing more can be done with it."),
        "paused": _("The campaign is paused already."),
        "not_paused": _("The campaign is not paused."),
        "nothing_waiting": _("No message of this campaign is waiting to be sent any more: nothing was changed."),
        "no_unknown": _("No message of this campaign has an unknown fate."),
    }
    return messages.get(error.reason, str(error))
