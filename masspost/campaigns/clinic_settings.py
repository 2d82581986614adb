"""A clinic's sending rules (docs/campaign.md): its windows for marketing and service messages, public holidays,
approval thresholds, the test-before-marketing rule and the recently-messaged days. Admins change them on the
clinic settings page, over the API (`PATCH /api/v1/clinics/{code}`) and in the clinics import; each change audited
("clinic_settings", the fields changed, never values that are patient data — there are none here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope

FIELDS = ("marketing_window", "service_window", "holidays", "approval_over", "approval_cost_over",
          "test_before_marketing", "recently_messaged_days")


def clinic_settings_list(*, scope: Scope) -> list[Clinic]:
    """The clinics `scope` reaches, by code."""
    raise NotImplementedError


def clinic_settings_change(*, scope: Scope, code: str, values: Mapping[str, Any]) -> Clinic:
    """Change the given FIELDS of clinic `code` (admin of that clinic; another clinic: NotFoundError). Windows are
    checked with masspost.schedule.parse_window and stored as it writes them; SpecError names the field and why,
    and nothing is changed."""
    raise NotImplementedError
