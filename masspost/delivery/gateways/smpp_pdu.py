"""SMPP PDU fields as masspost reads them: command_status names, delivery receipts, MO texts. No Django."""

from __future__ import annotations

import re
from typing import Any

import smpplib.consts

from masspost import sms

ESME_ROK = 0x00
ESME_RSYSERR = 0x08
ESME_RINVDSTADR = 0x0B
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
TRANSIENT_STATUSES = frozenset({ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RX_T_APPN})
_STATUS_NAMES = {
    value: name.removeprefix("SMPP_")
    for name, value in vars(smpplib.consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}
_MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD",
                   7: "UNKNOWN", 8: "REJECTD"}  # fmt: skip
FINAL_STATES = frozenset({"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "REJECTD"})  # a message's last word
_RECEIPT_ID = re.compile(rb"\bid:(\S+)", re.IGNORECASE)
_RECEIPT_STAT = re.compile(rb"\bstat:(\w+)", re.IGNORECASE)
def status_text(status: int) -> str:
    """``ESME_RTHROTTLED (0x00000058)``: the form kept in errors."""
    return f"{_STATUS_NAMES.get(status, 'unknown status')} (0x{status:08X})"


def receipt_of(pdu: Any) -> tuple[str, str, str] | None:
    """(remote_id, stat, raw text) of a delivery receipt; None for any other deliver_sm."""
    raw = bytes(pdu.short_message or b"")
    receipted = getattr(pdu, "receipted_message_id", None)
    if int(pdu.esm_class or 0) & 0x3C not in (0x04, 0x20) and not receipted:
        return None
    remote_id = text_of(receipted) if receipted else _first(_RECEIPT_ID, raw)
    stat = _first(_RECEIPT_STAT, raw) or _MESSAGE_STATES.get(int(pdu.message_state or 0), "")
    return remote_id, stat.upper(), raw.decode("latin-1")


def text_of(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return value or ""


def _first(pattern: re.Pattern[bytes], raw: bytes) -> str:
    found = pattern.search(raw)
    return found.group(1).decode("ascii", "replace") if found else ""


_GSM_BASIC = dict(enumerate(sms.BASIC_TABLE))


def decode_incoming(payload: bytes, data_coding: int) -> str:
    """Text of an MO message: GSM-7 unpacked septets (0), Latin-1 (3) or UCS-2 (8); else Latin-1."""
    if data_coding == 8:
        return payload.decode("utf-16-be", "replace")
    if data_coding == 0:
        chars, escape = [], False
        for byte in payload:
            if escape:
                chars.append(sms.EXTENSION_TABLE.get(byte, " "))
                escape = False
            elif byte == 0x1B:
                escape = True
            else:
                chars.append(_GSM_BASIC.get(byte, "?"))
        return "".join(chars)
    return payload.decode("latin-1")
