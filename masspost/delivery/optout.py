"""Unsubscribe and preferences links (docs/consent.md, "Unsubscribing").

A message's link is `MASSPOST_PUBLIC_URL`/u/<key>. The key is opaque: the first KEY_LEN characters (letters and
digits, so it costs one GSM-7 character each in an SMS) of an HMAC, under the installation's secret key, of the
message's campaign, patient and channel. It holds no patient data and no id; the send stores it with what it names
(OptOutLink: the patient, the channel, the purpose, the campaign), and the same message always gets the same key.

Links are written only when they can be trusted (`optout_links_problem`): MASSPOST_PUBLIC_URL as the webhooks
check it (https; http only on this machine), and not with the public development secret key on a host others
can reach — anyone could compute that key's links for small sequential ids. Otherwise `optout_url` is "" and the
messages carry the stop word (SMS) or ask for a reply (e-mail) instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from masspost.clinic.models import UNSUBSCRIBE_SOURCE
from masspost.consent import FIELDS
from masspost.content.language import choose_language
from masspost.content.template import TemplateError, compile_template
from masspost.delivery.gateways.http_sms import loopback
from masspost.delivery.gateways.smtp_message import _SIMPLE_ADDRESS  # the writer's own check, reused
from masspost.delivery.models import OptOutLink
from masspost.delivery.suppress import opt_out
from masspost.errors import GatewayConfigError, NotFoundError

KEY_LEN = 12  # 62**12 ≈ 2**71 keys: not guessable, short enough for an SMS's opt-out line
_ALPHABET = string.digits + string.ascii_letters
SAMPLE_KEY = "x" * KEY_LEN  # a preview's stand-in: same length and alphabet as a real key
PATH = "/u/"
# A channel's two consent columns: the channel as a whole, and offers on it.
FIELDS_BY_CHANNEL = {channel: (FIELDS[(channel, "service")], FIELDS[(channel, "marketing")])
                     for channel in ("sms", "email")}


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
    """The link for a key, or "" when links are off (`optout_links_problem` says why): the caller then writes the
    stop word or the reply instead."""
    return "" if optout_links_problem() else f"{_public_url()}{PATH}{key}"


def optout_links_problem() -> str | None:
    """Why messages carry no unsubscribe link, or None when they do: MASSPOST_PUBLIC_URL unset or not usable (the
    check of delivery.webhooks.public_url: a link over plain HTTP across a network would put its key — the
    credential — on the wire in clear, and a mail provider makes no RFC 8058 one-click POST to it), or the secret
    key the public development key while the page is on a host others can reach (the links could be forged). For
    `masspost gateway check`; never quotes a value."""
    try:
        base = _public_url()
    except GatewayConfigError:
        return ("MASSPOST_PUBLIC_URL is not https://host[:port][/path] (http:// only for 127.0.0.0/8, ::1 or "
                "localhost; no user name, password, query or fragment)")
    if not base:
        return "MASSPOST_PUBLIC_URL is not set"
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY and not loopback(urlsplit(base).hostname or ""):
        return "MASSPOST_SECRET_KEY is the development key (public: anyone could forge the links)"
    return None


def _public_url() -> str:
    # Imported here: delivery.webhooks imports the claim (delivery.claims → delivery.turn), which imports this.
    from masspost.delivery.webhooks import public_url

    return public_url()


def unsubscribe_mailto() -> str:
    """MASSPOST_UNSUBSCRIBE_MAILTO as the List-Unsubscribe header's mailto: may carry it, or "" (unset, or not
    usable: `unsubscribe_mailto_problem`)."""
    return "" if unsubscribe_mailto_problem() else settings.MASSPOST_UNSUBSCRIBE_MAILTO


def unsubscribe_mailto_problem() -> str | None:
    """Why the List-Unsubscribe header has no mailto:, or None when it has one. The setting must be one plain
    address (the SMTP writer's _SIMPLE_ADDRESS: nothing to quote or encode, so no space, <, >, comma or line break)
    without the characters a mailto: URI gives a meaning (? starts its headers, # a fragment, % an escape) —
    anything else would break every marketing e-mail's header or hide another recipient in it."""
    address = str(settings.MASSPOST_UNSUBSCRIBE_MAILTO)
    if not address:
        return "MASSPOST_UNSUBSCRIBE_MAILTO is not set"
    if not _SIMPLE_ADDRESS.fullmatch(address) or any(c in address for c in "?#%"):
        return "MASSPOST_UNSUBSCRIBE_MAILTO is not one plain e-mail address (name@domain, no ?, # or %): ignored"
    return None


# --- The page behind a key (masspost.web.views.unsubscribe): who it names, and unsubscribing --------------------

MAX_AGE = dt.timedelta(days=400)  # a link older than this is refused: an old forwarded e-mail is no credential
PAGE_LANGUAGES = ("et", "en", "ru")  # the page's translations; any other patient language reads English
WHATS = ("marketing", "all")
_REFUSED = "This link is not valid (any more)."  # one message for every refusal: the page says no more


@dataclass(frozen=True, kw_only=True, slots=True)
class OptOutTarget:
    """What a key names, as the page needs it: no name, no address (the link may be forwarded)."""

    patient_id: int
    patient_ref: str  # the external id: for logs only, never on the page
    language: str  # the patient's, else their clinic's default
    clinic_name: str
    channel: str  # "sms" | "email"
    marketing: bool  # the message was an offer (else a service message: the key is a preferences link)
    campaign_id: int
    campaign_name: str
    subject: str  # an e-mail's subject as the campaign wrote it in the patient's language ("" for an SMS)
    offers_stopped: bool  # offers on the channel already off (or the channel as a whole)
    all_stopped: bool  # the channel as a whole already off

    @property
    def page_language(self) -> str:
        return page_language(self.language)


@dataclass(frozen=True, kw_only=True, slots=True)
class Unsubscribed:
    target: OptOutTarget  # as it was before
    what: str  # "marketing" | "all"
    changed: bool  # False: it was so already (a second POST, a mail provider's retry): no event written


def page_language(language: str) -> str:
    return language if language in PAGE_LANGUAGES else "en"


def button_words(*, channel: str, what: str, language: str) -> str:
    """The page's button for `what`, in `language` (the page's): shown on the page and kept as the ledger event's
    wording, the words the patient agreed to."""
    if (channel, what) not in {(c, w) for c in FIELDS_BY_CHANNEL for w in WHATS}:
        raise ValueError(f"no button for channel {channel!r} and {what!r}")
    with translation.override(page_language(language)):
        if channel == "email":
            return gettext("Unsubscribe from offers") if what == "marketing" else gettext("Unsubscribe from all e-mail")
        return gettext("No more offers by SMS") if what == "marketing" else gettext("No SMS at all")


def optout_target(key: str) -> OptOutTarget:
    """The patient, channel and campaign behind a link's key. Refused — NotFoundError, the same message whatever
    the reason, which the page does not show either — for a key not stored (unknown, or its campaign deleted:
    the row goes with it) or older than MAX_AGE.

    The stored row is trusted as it is: the HMAC is not computed again. The key is the row's primary key, 71
    random-looking bits that only the send that wrote the row knew, so a stored key is already proof enough; an
    HMAC check would guard only against someone writing the table by hand (who could change consent directly), and
    it would turn every link already sent into "not valid" the moment MASSPOST_SECRET_KEY is rotated — after a
    leak, say — while an opt-out must keep working (RFC 8058 one-click included). The secret key only makes new
    keys unguessable."""
    if len(key) != KEY_LEN or not key.isascii() or not key.isalnum():
        raise NotFoundError(_REFUSED)
    link = (OptOutLink.objects.select_related("patient__clinic", "campaign").filter(key=key).first())
    if link is None or link.created_at < timezone.now() - MAX_AGE or link.channel not in FIELDS_BY_CHANNEL:
        raise NotFoundError(_REFUSED)
    patient, campaign = link.patient, link.campaign
    language = patient.language or patient.clinic.default_language
    accepts, marketing = (getattr(patient, column) for column in FIELDS_BY_CHANNEL[link.channel])
    return OptOutTarget(
        patient_id=patient.id, patient_ref=patient.external_id, language=language, clinic_name=patient.clinic.name,
        channel=link.channel, marketing=link.marketing, campaign_id=campaign.id, campaign_name=campaign.name,
        subject=_subject(campaign.spec, language, patient.clinic) if link.channel == "email" else "",
        offers_stopped=not (accepts and marketing), all_stopped=not accepts)


def unsubscribe(*, key: str, what: str) -> Unsubscribed:
    """The patient behind `key` withdraws offers ("marketing") or the channel as a whole ("all") — through
    delivery.suppress.opt_out (a ledger event with source "unsubscribe", the button's words and the campaign, and
    their queued messages suppressed, in one transaction). Idempotent: a consent that is off already writes no
    event."""
    if what not in WHATS:
        raise ValueError(f"what must be one of {WHATS}")
    target = optout_target(key)
    changed = opt_out(patient_ids=[target.patient_id], channel=target.channel,
                      purpose="marketing" if what == "marketing" else "service", source=UNSUBSCRIBE_SOURCE,
                      wording=button_words(channel=target.channel, what=what, language=target.language),
                      campaign_id=target.campaign_id)
    return Unsubscribed(target=target, what=what, changed=bool(changed))


def _subject(spec: Any, language: str, clinic: Any) -> str:
    """The campaign's subject for the patient's language (or its fallback), the clinic's merge fields merged and
    the patient's own ("{first_name}") left out as "…": the page shows no name."""
    content = (spec.get("content") or {}) if isinstance(spec, dict) else {}
    chosen = choose_language(language, content, spec.get("fallback_language") if isinstance(spec, dict) else None)
    source = str((content.get(chosen) or {}).get("email_subject") or "") if chosen else ""
    try:
        template = compile_template(source)
    except TemplateError:
        return ""
    values = {name: "…" for name in template.fields}
    values |= {k: v for k, v in (("clinic_name", clinic.name), ("clinic_phone", clinic.phone)) if k in values}
    return template.render(values)
