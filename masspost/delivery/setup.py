"""Setting a gateway up: `gateway_check` tells whether each configured gateway accepts its credentials — without
sending anything — and which webhooks an HTTP SMS provider must be told (docs/delivery.md, "Checking the gateways").

Each gateway is built from its URL as the worker builds it and opened: SMTP connects (and authenticates, when the
URL has a user name), SMPP binds, an HTTP SMS provider makes its account request. Then it is closed. What `open`
raises as `GatewayConfigError` is a refusal (the credentials, a certificate, a URL that cannot be used). Trouble
that a later try may get past — a refused connection, a timeout — is not raised by `open`: every gateway logs it
as a warning and keeps going (its sends would be transient), so the check listens to the gateways' loggers while
it opens one and calls a warning there "unreachable". The file, console and memory gateways write locally:
there is nothing to check.

An SMPP bind may be offered the receipts and replies the SMSC kept for the account. The check refuses them
(ESME_RX_T_APPN: the SMSC delivers them again, to the next worker's bind) instead of taking them with nowhere
to put them.

No credential reaches a result: the gateways' own messages never name one (gateways.url), and what is said of an
account is the gateway's `account` description or the host and port. Messente's webhook URLs carry a secret made
from the credentials: that is what is registered with Messente, so it is shown — once the credentials were
accepted, as a secret made from wrong ones would be of no use.

Each gateway's result also says what its marketing messages carry to opt out (delivery.optout): the unsubscribe
links ("https://…/u/<key>") or why there are none, and for e-mail the List-Unsubscribe mailto: or why there is
none. Neither is a refusal: without a link an SMS carries the stop word and an e-mail asks for a reply.

The e-mail gateway's check also reads the DKIM keys as the worker does (delivery.dkim): the installation's and,
when the database can be reached, each clinic's own. A key that cannot sign is a refusal naming its setting — the
worker would stop the e-mail channel for it — and the TXT records to publish are part of the result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError

from masspost.delivery.dkim import NATIVE_RSA, SIGNING_SCHEMES, DkimRecord, dns_records
from masspost.delivery.gateways import gateway_from_url
from masspost.delivery.gateways.base import Channel, Gateway
from masspost.delivery.gateways.http_sms import provider_from_url
from masspost.delivery.optout import optout_links_problem, optout_url, unsubscribe_mailto, unsubscribe_mailto_problem
from masspost.delivery.webhooks import public_url_for
from masspost.errors import GatewayConfigError, MasspostError

__all__ = ["CheckStatus", "GatewayCheck", "gateway_check"]

GATEWAY_LOGGER = "masspost.delivery.gateways"  # every gateway module logs under it
LOCAL_SCHEMES = frozenset({"file", "console", "memory"})
SETTING = {Channel.SMS: "MASSPOST_SMS_URL", Channel.EMAIL: "MASSPOST_EMAIL_URL"}
PUBLIC_URL_NEEDED = ("MASSPOST_PUBLIC_URL is not set: the provider cannot send delivery receipts and replies "
                     "until it is (the https:// address masspost serve is reached at), and the webhooks are "
                     "registered")
WEBHOOKS_LATER = "the webhooks to register are shown once the credentials are accepted"
DKIM_UNSET = ("DKIM: no key, e-mails go unsigned (Gmail and Yahoo refuse bulk mail without a signature): set "
              "MASSPOST_DKIM_SELECTOR and MASSPOST_DKIM_KEY_FILE, or keys of their own on the Clinic settings page")
DKIM_SLOW = ("signing in pure Python, 7–9 ms of CPU an e-mail: install the cryptography package and OpenSSL "
             "signs, well under a millisecond")
DKIM_NOT_HERE = "DKIM: e-mails through {scheme}: are not signed (only smtp:// and smtps:// sign)"


class CheckStatus(enum.StrEnum):
    OK = "ok"  # the credentials were accepted
    LOCAL = "local"  # writes locally (file, console, memory): nothing to check
    REFUSED = "refused"  # credentials, account, certificate or URL refused: only a change of configuration helps
    UNREACHABLE = "unreachable"  # not reached (connection refused, timed out, …): the credentials are untested


@dataclass(frozen=True, kw_only=True, slots=True)
class GatewayCheck:
    """One channel's gateway, checked."""

    channel: Channel
    setting: str  # the setting its URL comes from, to name in advice
    scheme: str  # "smtp", "twilio", … ("" when the URL has none)
    status: CheckStatus
    detail: str  # what was checked, or why it failed; never a credential
    webhooks: dict[str, str] = field(default_factory=dict)  # HTTP SMS provider: name → URL to register with it
    note: str = ""  # what else the operator must do (set MASSPOST_PUBLIC_URL, …)
    dkim: tuple[DkimRecord, ...] = ()  # e-mail: the DKIM keys that sign, as the TXT records to publish
    dkim_note: str = ""  # e-mail: no key, keys not signing with this gateway, clinics' keys not read
    # What the channel's marketing messages carry to opt out: the unsubscribe links or why there are none, and for
    # e-mail the List-Unsubscribe mailto: or why there is none (lines; never a refusal).
    optout: tuple[str, ...] = ()

    @property
    def fine(self) -> bool:
        return self.status in (CheckStatus.OK, CheckStatus.LOCAL)


def gateway_check(*, sms_url: str | None = None, email_url: str | None = None) -> list[GatewayCheck]:
    """The SMS and the e-mail gateway, each opened and closed; the URLs default to the settings' (as the worker's).
    Sends nothing and writes nothing."""
    urls = {Channel.SMS: settings.MASSPOST_SMS_URL if sms_url is None else sms_url,
            Channel.EMAIL: settings.MASSPOST_EMAIL_URL if email_url is None else email_url}
    return [_with_optout(_check(channel, url)) for channel, url in urls.items()]


def _with_optout(check: GatewayCheck) -> GatewayCheck:
    """`check` with what its channel's marketing messages carry to opt out (GatewayCheck.optout)."""
    problem = optout_links_problem()
    said = [f"unsubscribe links: {optout_url('<key>')}" if problem is None else
            f"unsubscribe links: none ({problem}): " + ("a marketing SMS carries the stop word"
                                                        if check.channel == Channel.SMS else
                                                        "a marketing e-mail asks for a reply")]
    if check.channel == Channel.EMAIL:
        mailto_problem = unsubscribe_mailto_problem()
        said.append(f"List-Unsubscribe mailto: {unsubscribe_mailto()}" if mailto_problem is None else
                    f"List-Unsubscribe mailto: none ({mailto_problem})")
    return dataclasses.replace(check, optout=tuple(said))


def _check(channel: Channel, url: str) -> GatewayCheck:
    said = functools.partial(GatewayCheck, channel=channel, setting=SETTING[channel], scheme=urlsplit(url).scheme)
    try:
        # As the worker has it: a public URL that cannot be used stops an HTTP provider's SMS channel like a bad
        # SMS URL; any other gateway never uses it.
        public = public_url_for(url) if channel == Channel.SMS else ""
    except GatewayConfigError as exc:
        return said(status=CheckStatus.REFUSED, detail=str(exc), setting="MASSPOST_PUBLIC_URL")
    records: tuple[DkimRecord, ...] = ()
    dkim_note = ""
    if channel == Channel.EMAIL:
        try:
            records, dkim_note = _dkim(urlsplit(url).scheme)
        except GatewayConfigError as exc:
            setting = "MASSPOST_DKIM_SELECTOR" if str(exc).startswith("MASSPOST_DKIM_SELECTOR") else \
                "MASSPOST_DKIM_KEY_FILE" if str(exc).startswith("MASSPOST_DKIM") else "the clinic's DKIM key"
            return said(status=CheckStatus.REFUSED, detail=str(exc), setting=setting)
    hooks = _RefusingHooks()
    try:
        gateway = gateway_from_url(url, public_url=public, **hooks.as_kwargs())
    except GatewayConfigError as exc:
        return said(status=CheckStatus.REFUSED, detail=f"the URL cannot be used: {exc}")
    if urlsplit(url).scheme in LOCAL_SCHEMES:
        path = getattr(gateway, "path", None)  # the file gateway's: where the messages would go
        return said(status=CheckStatus.LOCAL,
                    detail="nothing to check (writes locally" + (f", to {path})" if path else ")"),
                    dkim=records, dkim_note=dkim_note)
    status, detail = _opened(gateway)
    if hooks.refused:
        detail += (f"; {hooks.refused} receipt(s) or reply(ies) offered meanwhile were left with the SMSC, "
                   "which delivers them again to a worker")
    if channel != Channel.SMS:
        return said(status=status, detail=detail, dkim=records, dkim_note=dkim_note)
    webhooks, note = _webhooks(url, public, accepted=status == CheckStatus.OK)
    return said(status=status, detail=detail, webhooks=webhooks, note=note)


def _dkim(scheme: str) -> tuple[tuple[DkimRecord, ...], str]:
    """The DKIM records as the worker would sign (the clinics' own keys too, when the database answers) and a
    note; GatewayConfigError for a key that cannot be used — with a gateway that signs, where the worker would
    stop the e-mail channel for it."""
    note = ""
    try:
        try:
            records = dns_records()
        except DatabaseError:  # no database here (yet): the installation's key alone
            records = dns_records(database=False)
            note = "DKIM: the clinics' own keys were not read (the database cannot be reached)"
    except GatewayConfigError as exc:
        if scheme in SIGNING_SCHEMES:
            raise
        return (), f"{DKIM_NOT_HERE.format(scheme=scheme)}; and {exc}"
    if not records:
        return (), DKIM_UNSET
    if scheme not in SIGNING_SCHEMES:
        note = DKIM_NOT_HERE.format(scheme=scheme) + (f"; {note.removeprefix('DKIM: ')}" if note else "")
    elif not NATIVE_RSA:
        note = (note + "; " if note else "DKIM: ") + DKIM_SLOW
    return tuple(records), note


def _opened(gateway: Gateway) -> tuple[CheckStatus, str]:
    """Open and close `gateway`: OK with what was checked, REFUSED or UNREACHABLE with why."""
    with _gateway_warnings() as warnings:
        try:
            gateway.open()
            said, reached = list(warnings), _reached(gateway)  # before `close` undoes it
        except MasspostError as exc:  # GatewayConfigError, or a gateway that says so itself
            return CheckStatus.REFUSED, str(exc)
        finally:
            gateway.close()
    if said or reached is False:
        return CheckStatus.UNREACHABLE, said[0] if said else f"{gateway.name}: not connected"
    return CheckStatus.OK, _described(gateway)


def _reached(gateway: Gateway) -> bool | None:
    """Whether `open` got through, where the gateway says so (SMPP's `connected`, an HTTP provider's `account`);
    None where it does not (SMTP: its warning is what tells)."""
    connected = getattr(gateway, "connected", None)
    if isinstance(connected, bool):
        return connected
    account = getattr(gateway, "account", None)
    if isinstance(account, str):
        return bool(account)
    return None


def _described(gateway: Gateway) -> str:
    """What was checked: an HTTP provider's own words (its `account`), else the host and port — never a user
    name, which is a credential too."""
    account = getattr(gateway, "account", "")
    if account:
        return str(account)
    where = f"{getattr(gateway, 'host', '?')}:{getattr(gateway, 'port', '?')}"
    if gateway.name == "smpp":
        return f"SMPP {where}: bound as transceiver, then unbound"
    if gateway.name == "smtp":
        tls = " over TLS" if getattr(gateway, "implicit_tls", False) or getattr(gateway, "starttls", False) else ""
        login = "logged in (AUTH accepted)" if getattr(gateway, "username", "") else "connected (no AUTH asked)"
        return f"SMTP {where}: {login}{tls}"
    return f"{gateway.name} {where}: opened"


def _webhooks(url: str, public: str, *, accepted: bool) -> tuple[dict[str, str], str]:
    """The webhooks to register with an HTTP SMS provider (none for SMPP and the local gateways), or what is
    missing before they can be."""
    try:
        provider = provider_from_url(url)
    except GatewayConfigError:
        return {}, ""  # not an HTTP provider's URL: it has no webhooks
    if not public:
        return {}, PUBLIC_URL_NEEDED
    if not accepted:
        return {}, WEBHOOKS_LATER
    return provider.webhook_urls(public), ""


class _LeftForTheWorker(Exception):  # noqa: N818 - not an error: a receipt or reply refused on purpose
    """Raised by the check's SMPP hooks: the SMSC gets ESME_RX_T_APPN and delivers again, to a worker."""


class _RefusingHooks:
    """Hooks for a gateway that may be handed receipts or replies while the check holds it open (an SMPP bind):
    each refuses, so that the SMSC keeps them for a worker's bind; `refused` counts the calls."""

    def __init__(self) -> None:
        self.refused = 0

    def refuse(self, *args: Any) -> None:
        self.refused += len(args[0]) if args and isinstance(args[0], list) else 1  # a burst of receipts: each
        raise _LeftForTheWorker

    def as_kwargs(self) -> dict[str, Any]:
        return {"on_delivery_receipt": self.refuse, "on_delivery_receipts": self.refuse, "on_incoming": self.refuse}


class _WarningList(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # A refused hook is logged by the SMPP gateway as a failed one, naming the exception's type: not news here.
        if _LeftForTheWorker.__name__ not in map(str, record.args if isinstance(record.args, tuple) else ()):
            self.messages.append(record.getMessage())


@contextlib.contextmanager
def _gateway_warnings() -> Iterator[list[str]]:
    """The warnings the gateways log meanwhile (what `open` says instead of raising), taken instead of printed:
    the check reports them itself. At WARNING whatever MASSPOST_LOG_LEVEL says, so none is missed."""
    logger = logging.getLogger(GATEWAY_LOGGER)
    handler = _WarningList()
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.level, logger.propagate = saved
