"""The preview token: a fingerprint of what a send would do, and the way to say what changed since.

`v2.<settings>.<content>.<audience>.<clinics>.<recipients>.<messages>`: short digests of the campaign settings,
the texts, the audience filter as resolved (reference dates included), the clinics' details that the messages show
or are sent with (name, phone, SMS sender, e-mail), the sum of per-patient hashes of who gets which language at
which address, and the number of messages. Not a secret: it only has to change whenever what would be sent
changes. Which recipients changed, and how many, the preview's fingerprint says (campaigns.snapshot).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from masspost.campaigns.changes import CLINICS, FILTERS, RECIPIENTS, SETTINGS, TEXTS, TOKEN_MALFORMED, TOKEN_OLD, Change
from masspost.errors import StaleTokenError

VERSION = "v3"  # v3: the recipients' digest from CRC-32s of names and addresses (campaigns.sweep)


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class Token:
    settings: str
    content: str
    audience: str
    clinics: str
    recipients: str
    messages: int

    def __str__(self) -> str:
        return ".".join([VERSION, self.settings, self.content, self.audience, self.clinics, self.recipients,
                         str(self.messages)])

    @classmethod
    def make(cls, *, settings: str, content: str, audience: dict[str, object], clinics: str, digest: int,
             messages: int) -> Token:
        return cls(settings=settings[:10], content=content[:10],
                   audience=hashlib.sha256(json.dumps(audience, sort_keys=True).encode()).hexdigest()[:10],
                   clinics=clinics[:10], recipients=f"{digest:016x}", messages=messages)

    @classmethod
    def parse(cls, text: str) -> Token:
        bits = text.strip().split(".")
        if (len(bits) == 6 and bits[0] == "v1") or (len(bits) == 7 and bits[0] == "v2"):
            raise StaleTokenError(unreadable=Change(TOKEN_OLD))
        if len(bits) != 7 or bits[0] != VERSION or not bits[6].isdigit():
            raise StaleTokenError(unreadable=Change(TOKEN_MALFORMED))
        return cls(settings=bits[1], content=bits[2], audience=bits[3], clinics=bits[4], recipients=bits[5],
                   messages=int(bits[6]))

    def setup_changes_since(self, previewed: Token) -> list[Change]:
        """What differs in the campaign itself (known without looking at a patient)."""
        out = []
        if previewed.settings != self.settings:
            out.append(Change(SETTINGS))
        if previewed.content != self.content:
            out.append(Change(TEXTS))
        if previewed.audience != self.audience:
            out.append(Change(FILTERS))
        return out

    def changes_since(self, previewed: Token, recipients: list[Change] | None = None) -> list[Change]:
        """Everything that differs. `recipients`: what changed for them, with counts, when the preview's
        fingerprint could say; always the numbers of messages then and now."""
        out = self.setup_changes_since(previewed)
        recipients_changed = previewed.recipients != self.recipients or previewed.messages != self.messages
        if recipients_changed or previewed.clinics != self.clinics:
            if recipients or recipients_changed:
                out.append(Change(RECIPIENTS, {"then": previewed.messages, "now": self.messages,
                                               "items": list(recipients or [])}))
            else:
                out.append(Change(CLINICS))
        return out
