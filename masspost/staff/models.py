"""Clinic staff: a Django user with the clinics they work for and a role (docs/ui.md, "Roles"), and the REST API
tokens that act for them (docs/api.md, "Tokens")."""

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
    # The user's own phone (E.164) and e-mail, for test sends (`masspost test-send`): theirs, never a patient's.
    phone = models.CharField(max_length=20, blank=True, default="", db_default="")
    email = models.CharField(max_length=254, blank=True, default="", db_default="")

    def __str__(self) -> str:
        return self.user.get_username()


class ApiToken(models.Model):
    """A bearer token for the REST API. It acts for its user: their clinics and role as they are at each request
    (a changed role or a disabled user applies at once). Only the SHA-256 of the secret is stored — a token
    is 256 random bits, so a fast hash is enough and the lookup is one index probe; `prefix` (its first
    characters) tells tokens apart in lists without being usable."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The rate limit's state (GCRA): the theoretical arrival time of the next request, in Unix seconds.
    rate_tat = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], condition=models.Q(revoked_at=None),
                                               name="api_token_live_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

