"""The preview token: a fingerprint of what a send would do, and the way to say what changed since.

`v1.<settings>.<content>.<audience>.<recipients>.<messages>`: short digests of the campaign settings, the
texts, the audience filter as resolved (reference dates included), the sum of per-patient hashes of who gets
which language at which address, and the number of messages. Not a secret: it only has to change whenever
what would be sent changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from masspost.errors import StaleTokenError

VERSION = "v1"


@dataclass(frozen=True, kw_only=True, slots=True)
class Token:
    settings: str
    content: str
    audience: str
    recipients: str
    messages: int

    def __str__(self) -> str:
        return ".".join([VERSION, self.settings, self.content, self.audience, self.recipients, str(self.messages)])

    @classmethod
    def make(cls, *, settings: str, content: str, audience: dict[str, object], digest: int, messages: int) -> Token:
        audience_digest = hashlib.sha256(json.dumps(audience, sort_keys=True).encode()).hexdigest()
        return cls(settings=settings[:10], content=content[:10], audience=audience_digest[:10],
                   recipients=f"{digest:016x}", messages=messages)

    @classmethod
    def parse(cls, text: str) -> Token:
        bits = text.strip().split(".")
        if len(bits) != 6 or bits[0] != VERSION or not bits[5].isdigit():
            raise StaleTokenError("the preview token is malformed: copy it whole from the preview")
        return cls(settings=bits[1], content=bits[2], audience=bits[3], recipients=bits[4], messages=int(bits[5]))

    def changes_since(self, previewed: Token) -> list[str]:
        """What differs between a token from the preview and this one (from now), in the user's words."""
        out = []
        if previewed.settings != self.settings:
            out.append("the campaign's name, purpose, channel or fallback language changed")
        if previewed.content != self.content:
            out.append("the texts changed")
        if previewed.audience != self.audience:
            out.append("the audience filter changed (or the date ages and visits are counted from)")
        if previewed.recipients != self.recipients or previewed.messages != self.messages:
            out.append(f"the recipients changed ({previewed.messages} messages at preview, {self.messages} now)")
        return out
