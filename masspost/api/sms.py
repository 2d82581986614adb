"""`POST /sms/measure`: the SMS counter of the UI and of `masspost sms-info`, as JSON."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from masspost.api.schemas import MeasureIn, MeasureOut
from masspost.errors import MasspostError
from masspost.sms.report import sms_report

router = Router(tags=["sms"])


@router.post("/sms/measure", response=MeasureOut, summary="How an SMS text goes out")
def sms_measure(request: HttpRequest, body: MeasureIn) -> Any:
    """Encoding (GSM-7 or UCS-2), units and parts with their limit, every character that forces UCS-2, and the
    cheaper text replacing look-alike characters would give (null when it saves no part). docs/sms.md."""
    try:
        return sms_report(body.text)
    except ValueError as exc:
        raise MasspostError(f"text: {exc}") from None
