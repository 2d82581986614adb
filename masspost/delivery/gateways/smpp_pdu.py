"""SMPP PDU fields as masspost writes and reads them: submit_sm parameters, command_status names, delivery
receipts, MO texts. No Django."""

from __future__ import annotations

import re
from typing import Any

import smpplib.consts

from masspost import sms
from masspost.delivery.gateways.base import OutgoingMessage

ESME_ROK = 0x00
ESME_RSYSERR = 0x08
ESME_RINVDSTADR = 0x0B
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
TRANSIENT_STATUSES = frozenset({ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RX_T_APPN})
# A bind refused with these will be refused again until the account's settings change (docs/delivery.md).
BIND_REFUSALS = frozenset({ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID})
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


def submit_params(message: OutgoingMessage, *, reference: int, source_ton: int | None = None,
                  source_npi: int | None = None) -> list[dict[str, Any]]:
    """The submit_sm fields of every part of `message`, encoded by `masspost.sms`, with a UDH carrying `reference`
    in each part when there are several; raises ValueError for what no SMSC would take (a destination that is not
    E.164, a bad sender id, more than 255 parts)."""
    destination = message.to.removeprefix("+")
    if not destination.isdigit() or not 6 <= len(destination) <= 15:
        raise ValueError("destination is not an E.164 number")
    source, source_ton, source_npi = source_address(message.sender, source_ton, source_npi)
    segmentation = sms.segment(message.text)
    parts = segmentation.parts
    if len(parts) > 255:
        raise ValueError(f"{len(parts)} parts: more than a concatenated SMS can carry")
    submits = []
    for index, part in enumerate(parts, start=1):
        payload = sms.encode_part(part, segmentation.encoding)
        if len(parts) > 1:
            payload = bytes([0x05, 0x00, 0x03, reference, len(parts), index]) + payload
        submits.append(
            {
                "source_addr_ton": source_ton,
                "source_addr_npi": source_npi,
                "source_addr": source,
                "dest_addr_ton": 1,
                "dest_addr_npi": 1,
                "destination_addr": destination,
                "esm_class": 0x40 if len(parts) > 1 else 0x00,
                "registered_delivery": 1,
                "data_coding": sms.DATA_CODING[segmentation.encoding],
                "short_message": payload,
            }
        )
    return submits


def source_address(sender: str, source_ton: int | None = None,
                   source_npi: int | None = None) -> tuple[str, int, int]:
    """The source address and its TON/NPI: international number (1/1) or alphanumeric (5/0), unless set."""
    if not sender:
        return "", source_ton or 0, source_npi or 0
    number = sender.removeprefix("+")
    if number.isdigit():
        if len(number) > 20:
            raise ValueError("numeric sender longer than 20 digits")
        ton, npi, source = 1, 1, number
    else:
        if len(sender) > 11 or not sender.isascii() or not sender.isprintable():
            raise ValueError("alphanumeric sender must be at most 11 printable ASCII characters")
        ton, npi, source = 5, 0, sender
    return (
        source,
        source_ton if source_ton is not None else ton,
        (source_npi if source_npi is not None else npi),
    )
