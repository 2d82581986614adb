"""Unsubscribe and preferences links (docs/consent.md, "Unsubscribing").

A message's link is `MASSPOST_PUBLIC_URL`/u/<key>. The key is opaque: the first KEY_LEN characters (letters and
digits, so it costs one GSM-7 character each in an SMS) of an HMAC, under the installation's secret key, of the
message's campaign, patient and channel. It holds no patient data and no id; the send stores it with what it names
(OptOutLink: the patient, the channel, the purpose, the campaign), and the same message always gets the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import string

from django.conf import settings

KEY_LEN = 12  # 62**12 ≈ 2**71 keys: not guessable, short enough for an SMS's opt-out line
_ALPHABET = string.digits + string.ascii_letters
SAMPLE_KEY = "x" * KEY_LEN  # a preview's stand-in: same length and alphabet as a real key
PATH = "/u/"


def optout_key(*, campaign_id: int, patient_id: int, channel: str) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), f"masspost.optout:{campaign_id}:{patient_id}:{channel}".encode(),
                   hashlib.sha256).digest()
    number = int.from_bytes(mac, "big")
    out = []
    for _ in range(KEY_LEN):
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(out)


def optout_url(key: str) -> str:
    """The link for a key, or "" when MASSPOST_PUBLIC_URL is not set (no page can be reached)."""
    base = settings.MASSPOST_PUBLIC_URL
    return f"{base}{PATH}{key}" if base else ""
