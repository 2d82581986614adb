"""Domain errors. Interfaces map these to a one-line message (CLI) or a response (API) in one place each.

Messages name the row, field, language or campaign — never patient data beyond an external id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from masspost.campaigns.changes import Change


class MasspostError(Exception):
    """A problem the user can fix; its message is shown as it is."""


class NotFoundError(MasspostError):
    pass


class SpecError(MasspostError):
    """A campaign file / API payload that is not a valid campaign."""


class StaleTokenError(MasspostError):
    """The preview token no longer matches the audience or the content: `changes` says what changed, one
    campaigns.changes.Change each (its str() in masspost's English, its code and numbers for an interface that
    says it in other words). A token that cannot be compared at all (from an older masspost, cut short) has no
    changes: `unreadable` is the Change that says why."""

    def __init__(self, changes: Sequence[Change] = (), *, unreadable: Change | None = None) -> None:
        self.changes = list(changes)
        self.unreadable = unreadable
        super().__init__(str(unreadable) if unreadable else "preview again: " + "; ".join(map(str, self.changes)))

    @property
    def said(self) -> list[Change]:
        """What to tell the user, one item each: the changes, or why the token cannot be compared."""
        return self.changes or ([self.unreadable] if self.unreadable else [])


class StateError(MasspostError):
    """Not in the state this needs (resuming a cancelled campaign, an idempotency key still in use)."""


class ConflictError(StateError):
    """A control that does not apply to the campaign as it is now (pausing a finished campaign, cancelling one
    with nothing left to send): refused, and nothing is changed. 409 in the API and the web UI, exit 2 at the
    command line. `reason` names the case (campaigns.controls), for an interface that says it in other words."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class ConflictingRequestError(MasspostError):
    """An idempotency key already used for another request."""


class NothingToSendError(MasspostError):
    """A send in which no patient gets a message: refused, nothing is written."""


class GatewayConfigError(MasspostError):
    """A gateway that can send nothing until its configuration is fixed: credentials refused, a TLS certificate
    not trusted (docs/delivery.md, "When a gateway's configuration is wrong"). Never about one message."""


class PermissionDeniedError(MasspostError):
    """The actor's role may not do this (a preparer sending, a sender managing users)."""
