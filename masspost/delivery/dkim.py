"""DKIM signing of e-mails (RFC 6376; docs/consent.md, "DKIM"): Gmail and Yahoo refuse bulk mail without it.

Two kinds of key: the installation's (MASSPOST_DKIM_SELECTOR + MASSPOST_DKIM_KEY_FILE, a PEM RSA private key) and
a clinic's own (Clinic.dkim_selector + Clinic.dkim_key, PEM text). A clinic with both set signs with its own; every
other clinic's e-mail is signed with the installation's; with neither, e-mails go unsigned. `d=` is always the
domain of the e-mail's From address (the clinic's e-mail), so the TXT record goes under that domain.

Keys are read and checked once, when the SMTP gateway is built for a worker's channel (`email_signer`): each is
parsed and made to sign and verify a small message, so a key that cannot sign stops the e-mail channel at once
with the setting (or the clinic) named — never a message at a time. A key's text is never put into an error, a
log or the audit log; what is shown of it is its public key, the TXT record and the public key's SHA-256
fingerprint.

Signing is dkimpy's (`dkim.DKIM.sign`, as `dkim.sign`): rsa-sha256, relaxed/relaxed, over From, To, Subject, Date,
Message-ID, List-Unsubscribe and List-Unsubscribe-Post — those the e-mail has. dkimpy does the RSA step in pure
Python: 7–9 ms of CPU for a 2048-bit key, with the GIL held, which cut a worker's e-mails to a tenth (35 instead of
340 a second against the test server). Where the `cryptography` package is installed, that one step is OpenSSL's
(`_NativeRsaDKIM`; the same signature, well under a millisecond); everything else stays dkimpy's.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

try:  # OpenSSL for the RSA step, when installed (see the module's docstring)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
except ImportError:  # pragma: no cover - installed with the test extras; dkimpy's own RSA then
    serialization = None  # type: ignore[assignment]

from masspost.errors import GatewayConfigError, NotFoundError

__all__ = ["DOMAIN_PLACEHOLDER", "DkimKey", "DkimKeyError", "DkimRecord", "DkimSigner", "clinic_record",
           "dns_records", "email_signer", "installation_key", "key_from_pem", "selector_problem"]

NATIVE_RSA = serialization is not None  # OpenSSL signs (fast); else dkimpy's pure Python (7–9 ms an e-mail)
SIGNED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")
DOMAIN_PLACEHOLDER = "<your-domain>"  # a record whose domain is not known yet (no clinic e-mail to take it from)
MIN_BITS = 1024  # what receivers (and dkimpy's verify) accept at the least; 2048 is the advice
SIGNING_SCHEMES = frozenset({"smtp", "smtps"})  # the gateways that send e-mails themselves
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_HEADER_NAME = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)
_PROBE = b"From: probe@example.invalid\r\nSubject: probe\r\n\r\nprobe\r\n"


class DkimKeyError(ValueError):
    """A private key that cannot sign; the message says why and never quotes the key."""


def selector_problem(selector: str) -> str:
    """Why `selector` is not a DKIM selector ("" when it is one): DNS labels of letters, digits and hyphens
    (not at either end), dots between them, at most 63 characters in all (the column's size)."""
    if not selector:
        return "empty"
    if len(selector) > 63:
        return "at most 63 characters"
    if not all(_LABEL.fullmatch(label) for label in selector.split(".")):
        return "letters a–z, digits and hyphens (not first or last), with dots between parts, like mail2026"
    return ""


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A selector and a private key that was checked to sign. `pem` never appears in a repr."""

    selector: str
    pem: bytes = field(repr=False)
    public_der: bytes = field(repr=False)  # SubjectPublicKeyInfo, as the TXT record's p= carries it
    bits: int
    native: Any = field(default=None, repr=False, compare=False)  # the key for OpenSSL, when `cryptography` is there

    @property
    def public_key(self) -> str:
        return base64.b64encode(self.public_der).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the public key (SubjectPublicKeyInfo DER), as OpenSSH writes fingerprints."""
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.public_der).digest()).decode("ascii").rstrip("=")

    def txt_value(self) -> str:
        return f"v=DKIM1; k=rsa; p={self.public_key}"


def key_from_pem(selector: str, text: str | bytes, *, probe: bool = True) -> DkimKey:
    """The key in `text` (PEM: "BEGIN RSA PRIVATE KEY" or "BEGIN PRIVATE KEY"), checked by signing and verifying a
    small message (`probe=False`: read only, to show its public key); DkimKeyError saying why not (never quoting
    the key)."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    pem = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").strip() + b"\n"  # a browser's textarea sends CRLF
    if b"ENCRYPTED" in pem:
        raise DkimKeyError("the key is encrypted: give it without a passphrase")
    if not re.match(rb"-----BEGIN (RSA )?PRIVATE KEY-----\n", pem):
        raise DkimKeyError("not a PEM RSA private key (it starts with -----BEGIN PRIVATE KEY----- or "
                           "-----BEGIN RSA PRIVATE KEY-----)")
    try:
        parts = parse_pem_private_key(pem)
    except (UnparsableKeyError, ValueError, IndexError, TypeError):  # dkimpy's message may quote the key's bytes
        raise DkimKeyError("not a PEM RSA private key that can be read") from None
    modulus, exponent = int(parts["modulus"]), int(parts["publicExponent"])
    bits = modulus.bit_length()
    if bits < MIN_BITS:
        raise DkimKeyError(f"the key has {bits} bits; receivers want at least {MIN_BITS} (2048 is the advice)")
    key = DkimKey(selector=selector, pem=pem, public_der=_public_der(modulus, exponent), bits=bits,
                  native=_native(pem) if probe else None)
    if probe:
        _probe(key)
    return key


def _native(pem: bytes) -> Any:
    """The key as `cryptography` holds it, or None (not installed, or a key it reads otherwise than dkimpy)."""
    if serialization is None:
        return None
    try:
        native = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        return None
    return native if isinstance(native, rsa.RSAPrivateKey) else None


class _NativeRsaDKIM(dkim.DKIM):  # type: ignore[misc]
    """dkimpy's DKIM with the RSA step of signing done by OpenSSL: `gen_header` as dkimpy 1.1 writes it for an
    rsa-sha256 signature, but for the one call that signs the hashed headers (PKCS#1 v1.5 over the same SHA-256
    digest: the same signature bytes)."""

    native_key: Any = None

    def gen_header(self, fields: list[tuple[bytes, bytes]], include_headers: tuple[bytes, ...], canon_policy: Any,
                   header_name: bytes, pk: Any, standardize: bool = False) -> bytes:
        if self.native_key is None or standardize or self.signature_algorithm != b"rsa-sha256":
            return bytes(super().gen_header(fields, include_headers, canon_policy, header_name, pk, standardize))
        header_value = b"; ".join(b"=".join(x) for x in fields)
        header_value = dkim.fold(header_value, namelen=len(header_name), linesep=b"\r\n")
        header_value = dkim.RE_BTAG.sub(b"\\1", header_value)
        hashed = dkim.HashThrough(self.hasher(), self.debug_content)
        self.signed_headers = dkim.hash_headers(hashed, canon_policy, canon_policy.canonicalize_headers(self.headers),
                                                include_headers, (header_name, b" " + header_value), dict(fields))
        signature = self.native_key.sign(hashed.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        at = next(i for i, (tag, _) in enumerate(fields) if tag == b"b")
        fields[at] = (b"b", base64.b64encode(signature))
        return bytes(dkim.fold(b"; ".join(b"=".join(x) for x in fields) + self.linesep, namelen=len(header_name),
                               linesep=self.linesep))


def _sign(message: bytes, key: DkimKey, *, domain: bytes, include: list[bytes]) -> bytes:
    """The DKIM-Signature header (CRLF-terminated) for `message`, as `dkim.sign` makes it."""
    signer = _NativeRsaDKIM(message, signature_algorithm=b"rsa-sha256", linesep=b"\r\n")
    signer.native_key = key.native
    return bytes(signer.sign(key.selector.encode("ascii"), domain, key.pem, canonicalize=(b"relaxed", b"relaxed"),
                             include_headers=include))


def _probe(key: DkimKey) -> None:
    """Sign a small message with `key` and verify it against its own public key: a key whose parts do not belong
    together (a damaged file) fails here instead of in every e-mail — with the RSA step that will sign them."""
    domain = b"example.invalid"
    try:
        signature = _sign(_PROBE, key, domain=domain, include=[b"From", b"Subject"])
        record = key.txt_value().encode("ascii")
        ok = dkim.verify(signature + _PROBE, dnsfunc=lambda name, timeout=5: record)
    except (dkim.DKIMException, ValueError, IndexError, TypeError):
        ok = False
    if not ok:
        raise DkimKeyError("the key cannot sign: its parts do not belong together (a damaged key?)")


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))  # a leading 0 byte when the top bit is set


_RSA_ALGORITHM = _der(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")  # rsaEncryption, NULL


def _public_der(modulus: int, exponent: int) -> bytes:
    """The RSA public key as X.509 SubjectPublicKeyInfo (DER): what `p=` holds (RFC 6376 3.6.1)."""
    rsa_public_key = _der(0x30, _der_int(modulus) + _der_int(exponent))
    return _der(0x30, _RSA_ALGORITHM + _der(0x03, b"\x00" + rsa_public_key))


# -- the installation's key and the clinics' own ---------------------------------------------------------------

def installation_key() -> DkimKey | None:
    """MASSPOST_DKIM_SELECTOR + MASSPOST_DKIM_KEY_FILE, or None when neither is set; GatewayConfigError naming the
    setting when only one is, the file cannot be read or holds no usable key."""
    from django.conf import settings

    selector = str(getattr(settings, "MASSPOST_DKIM_SELECTOR", "") or "").strip()
    path = str(getattr(settings, "MASSPOST_DKIM_KEY_FILE", "") or "").strip()
    if not selector and not path:
        return None
    if not path:
        raise GatewayConfigError("MASSPOST_DKIM_SELECTOR is set but MASSPOST_DKIM_KEY_FILE is not: set both (the "
                                 "selector and the PEM private key's file) or neither")
    if not selector:
        raise GatewayConfigError("MASSPOST_DKIM_KEY_FILE is set but MASSPOST_DKIM_SELECTOR is not: set both (the "
                                 "selector and the PEM private key's file) or neither")
    if problem := selector_problem(selector):
        raise GatewayConfigError(f"MASSPOST_DKIM_SELECTOR is not a DKIM selector: {problem}")
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise GatewayConfigError(f"MASSPOST_DKIM_KEY_FILE cannot be read: {exc.strerror or type(exc).__name__} "
                                 f"({path})") from None
    try:
        return key_from_pem(selector, text)
    except DkimKeyError as exc:
        raise GatewayConfigError(f"MASSPOST_DKIM_KEY_FILE ({path}): {exc}") from None


def clinic_key(selector: str, text: str, *, code: str) -> DkimKey:
    """A clinic's own key; GatewayConfigError naming the clinic and the setting when it cannot sign (the settings
    check every key when it is set, so this is a key changed behind their back)."""
    try:
        if problem := selector_problem(selector):
            raise DkimKeyError(f"dkim_selector: {problem}")
        return key_from_pem(selector, text)
    except DkimKeyError as exc:
        raise GatewayConfigError(f"clinic {code}'s DKIM key (its dkim_key setting) cannot be used: {exc}; "
                                 "replace it on the clinic's settings page") from None


def _clinic_keys() -> dict[int, DkimKey]:
    from masspost.clinic.models import Clinic

    rows = Clinic.objects.exclude(dkim_key="").exclude(dkim_selector="").values_list(
        "id", "code", "dkim_selector", "dkim_key")
    return {pk: clinic_key(selector, text, code=code) for pk, code, selector, text in rows}


class DkimSigner:
    """Signs e-mails with the keys loaded once (`email_signer`): a clinic's own, else the installation's."""

    def __init__(self, *, default: DkimKey | None, clinics: Mapping[int, DkimKey] | None = None) -> None:
        self.default = default
        self.clinics = dict(clinics or {})

    def __bool__(self) -> bool:
        return self.default is not None or bool(self.clinics)

    def key_for(self, clinic_id: int | None) -> DkimKey | None:
        return self.clinics.get(clinic_id, self.default) if clinic_id is not None else self.default

    def sign(self, message_bytes: bytes, *, clinic_id: int | None, from_domain: str) -> bytes:
        """The message with a DKIM-Signature header first, or as it is when no key applies. `from_domain`: the
        From address's domain in its ASCII (IDNA) form, the d= tag. Raises dkim.DKIMException for a message that
        cannot be signed."""
        key = self.key_for(clinic_id)
        if key is None or not from_domain:
            return message_bytes
        head = message_bytes.split(b"\r\n\r\n", 1)[0]
        present = {name.lower() for name in _HEADER_NAME.findall(head)}
        include = [name.encode("ascii") for name in SIGNED_HEADERS if name.lower().encode("ascii") in present]
        return _sign(message_bytes, key, domain=from_domain.lower().encode("ascii"), include=include) + message_bytes


def email_signer(url: str) -> DkimSigner | None:
    """The signer for an e-mail gateway built from `url` — the installation's key and every clinic's own, read
    now — or None: the gateway does not send e-mails itself (file:, console:, memory:) or there is no key.
    GatewayConfigError naming the setting for a key that cannot be used (the e-mail channel stops)."""
    if urlsplit(url).scheme not in SIGNING_SCHEMES:
        return None
    signer = DkimSigner(default=installation_key(), clinics=_clinic_keys())
    return signer or None


# -- the DNS records to publish --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DkimRecord:
    """One TXT record to publish: `name TXT "value"`."""

    clinic: str  # the code of the clinic whose own key this is; "" for the installation's
    selector: str
    domain: str  # "" when not known (DOMAIN_PLACEHOLDER is printed)
    value: str
    fingerprint: str
    clinics: tuple[str, ...] = ()  # the clinics whose e-mails it verifies (their e-mail is at `domain`)

    @property
    def name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain or DOMAIN_PLACEHOLDER}"

    def line(self) -> str:
        return f'{self.name} TXT "{self.value}"'


def _domain(email: str) -> str:
    domain = email.rpartition("@")[2].strip().rstrip(".").lower()
    if not domain:
        return ""
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def _record(key: DkimKey, *, domain: str, clinic: str = "", clinics: tuple[str, ...] = ()) -> DkimRecord:
    return DkimRecord(clinic=clinic, selector=key.selector, domain=domain, value=key.txt_value(),
                      fingerprint=key.fingerprint, clinics=clinics)


def clinic_record(clinic: object) -> DkimRecord | None:
    """The record for a clinic's own key (its e-mail's domain), None when it has none; no error for a key that
    cannot be read (the settings page says so instead)."""
    selector, text = str(getattr(clinic, "dkim_selector", "")), str(getattr(clinic, "dkim_key", ""))
    if not selector or not text:
        return None
    try:
        key = key_from_pem(selector, text, probe=False)
    except DkimKeyError:
        return None
    code = str(getattr(clinic, "code", ""))
    return _record(key, domain=_domain(str(getattr(clinic, "email", ""))), clinic=code, clinics=(code,))


def dns_records(*, clinic_code: str | None = None, database: bool = True) -> list[DkimRecord]:
    """The TXT records to publish. The installation's key: one per e-mail domain of the clinics that use it (no key
    of their own), or one with DOMAIN_PLACEHOLDER when none is known; each clinic's own key: one under its e-mail's
    domain. `clinic_code`: that clinic's only (NotFoundError for no such clinic). `database=False`: the
    installation's key alone, with the placeholder. GatewayConfigError for a key that cannot be used."""
    default = installation_key()
    if not database:
        return [_record(default, domain="")] if default else []
    from masspost.clinic.models import Clinic

    clinics = Clinic.objects.order_by("code")
    if clinic_code is not None:
        clinics = clinics.filter(code=clinic_code)
        if not clinics.exists():
            raise NotFoundError(f"no clinic {clinic_code!r}")
    records: list[DkimRecord] = []
    by_domain: dict[str, list[str]] = {}
    for clinic in clinics.only("code", "email", "dkim_selector", "dkim_key"):
        if clinic.dkim_selector and clinic.dkim_key:
            key = clinic_key(clinic.dkim_selector, clinic.dkim_key, code=clinic.code)
            records.append(_record(key, domain=_domain(clinic.email), clinic=clinic.code, clinics=(clinic.code,)))
        else:
            by_domain.setdefault(_domain(clinic.email), []).append(clinic.code)
    if default is not None:
        known = {domain: codes for domain, codes in by_domain.items() if domain}
        if clinic_code is not None and not known and by_domain:
            known = {"": by_domain[""]}  # that clinic has no e-mail yet: the placeholder
        shared = [_record(default, domain=domain, clinics=tuple(codes)) for domain, codes in sorted(known.items())]
        if not shared and clinic_code is None:
            shared = [_record(default, domain="")]
        records = shared + records
    return records
