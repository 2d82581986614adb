"""A refused campaign control or send (errors.ConflictError) in the user's language: the web UI says the case by its
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
        # issue 19: the test send, the schedule and the second approver
        "test_required": _("Send a test to yourself first: a clinic of this campaign asks for one before a "
                           "marketing campaign goes out. Use “Send a test to me” on the preview."),
        "started": _("The campaign has started already: its time can no longer be changed."),
        "own_campaign": _("You wrote this campaign: another user with the sender role must approve it."),
        "not_pending": _("The campaign is not waiting for approval any more."),
        "stale": _("The patients or texts have changed since the preview: this campaign cannot be approved. Its "
                   "author can cancel it and send it again."),
    }
    return messages.get(error.reason, str(error))
