"""Changing clinic data as a whole (imports live in clinic.importer)."""

from __future__ import annotations

from django.apps import apps
from django.db import transaction

from masspost.clinic.models import Clinic


def clinic_data_exists() -> bool:
    return Clinic.objects.exists()


def clinic_data_reset() -> None:
    """Delete all clinic data and everything that refers to it (the demo's --reset)."""
    with transaction.atomic():
        for label in ("delivery.OutboxMessage", "campaigns.AuditEvent", "campaigns.Campaign", "clinic.Visit",
                      "clinic.Patient", "clinic.Clinic"):
            # A plain DELETE per table, children first: the ORM's cascade collector would load every row.
            apps.get_model(label).objects.all()._raw_delete(using="default")
