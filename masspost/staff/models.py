"""Clinic staff: a Django user with the clinics they work for and a role (docs/ui.md, "Roles")."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from masspost.clinic.models import Clinic
from masspost.clinic.scope import Role


class StaffMember(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=10, choices=[(r.value, r.value) for r in Role])
    clinics = models.ManyToManyField(Clinic, related_name="staff")
    language = models.CharField(max_length=2, blank=True)  # the UI language the user chose last; "" = none yet

    def __str__(self) -> str:
        return self.user.get_username()
