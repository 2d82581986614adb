"""The outbox: one row per (campaign, patient, channel), the source of truth for every message.

A row carries everything a gateway needs (address, rendered text, sender), so delivery never looks back at
campaigns or audiences. Statuses and their transitions: docs/delivery.md.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class MessageStatus(models.TextChoices):
    QUEUED = "queued"  # due at next_attempt_at (a retry waits here too, with attempts > 0)
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"  # accepted by the gateway
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"  # permanent error; last_error keeps the reason
    UNKNOWN = "unknown"  # the worker died between the gateway call and recording it: never re-sent by itself
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the campaign's deadline passed before it could be sent


PENDING = (MessageStatus.QUEUED, MessageStatus.SENDING)


class OutboxMessage(models.Model):
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="outbox")
    patient = models.ForeignKey("clinic.Patient", on_delete=models.PROTECT, related_name="+")
    patient_ref = models.CharField(max_length=64)  # external id: what logs and gateways may name
    channel = models.CharField(max_length=5)
    address = models.CharField(max_length=254)
    language = models.CharField(max_length=2)
    subject = models.TextField(blank=True)
    body = models.TextField()
    encoding = models.CharField(max_length=5, blank=True)
    parts = models.PositiveSmallIntegerField(default=1)
    sender = models.CharField(max_length=254, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    deadline = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=100, blank=True)
    remote_id = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "patient", "channel"], name="outbox_one_per_patient_channel"),
        ]
        indexes = [
            # Workers look for due queued rows and for expired leases; both are a small part of the table.
            models.Index(fields=["next_attempt_at"], name="outbox_due", condition=Q(status="queued")),
            models.Index(fields=["lease_until"], name="outbox_leased", condition=Q(status="sending")),
            models.Index(fields=["campaign", "status"], name="outbox_campaign_status"),
            models.Index(fields=["remote_id"], name="outbox_remote_id", condition=~Q(remote_id="")),
        ]
