"""The outbox: one row per (campaign, patient, channel), the source of truth for every message.

A row carries everything a gateway needs (address, rendered text, sender), so delivery never looks back at
campaigns or audiences. Statuses and their transitions: docs/delivery.md.
"""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

# The SMSC's or SMTP server's id of a message, as stored on its row and on its receipts. SMPP allows 64 characters;
# an id that does not fit is stored by `remote_key`, the same way in both tables and on both databases.
REMOTE_ID_MAX = 100
_DIGEST = 12  # hex digits of a hash that tell apart long ids with the same beginning


def remote_key(remote_id: str) -> str:
    """`remote_id` as the remote_id columns keep it: itself, if it fits and is printable; else its beginning, "~"
    and a hash of the whole id — REMOTE_ID_MAX characters that name only that id (cut alone, two long ids with the
    same first 100 characters would be one message, and a receipt would move both). PostgreSQL refuses what is
    too long and any NUL, SQLite would keep either as it is: one rule for both, and the receipt of a message
    stored this way finds it (docs/delivery.md, "Receipts")."""
    if len(remote_id) <= REMOTE_ID_MAX and remote_id.isprintable():
        return remote_id
    digest = hashlib.blake2b(remote_id.encode("utf-8", "surrogatepass"), digest_size=_DIGEST // 2).hexdigest()
    start = "".join(char if char.isprintable() else "?" for char in remote_id[:REMOTE_ID_MAX - _DIGEST - 1])
    return f"{start}~{digest}"


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
    # A scheduled campaign's start found the patient no longer in its audience (last_error: the reason code —
    # opted_out, no_marketing_consent, moved_clinic, deceased, archived, address_changed). Never sent.
    LEFT_OUT = "left_out"
    # The patient opted out of the channel (or of its marketing) before the message was handed off: an unsubscribe
    # link, a stop word, a provider opt-out, staff or an import (last_error: the reason code, `unsubscribe`,
    # `sms-stop`, `provider`, `staff`, `import`, …; delivery.suppress). Never sent.
    SUPPRESSED = "suppressed"


PENDING = (MessageStatus.QUEUED, MessageStatus.SENDING)


class OutboxMessage(models.Model):
    # Columns a new row does not vary have database defaults: the send COPYs only what differs per message.
    # Neither foreign key has an index of its own: the (campaign, status) index leads with the campaign and the
    # unique (patient, campaign, channel) one with the patient, and every index costs an insertion on each of a
    # message's two or three row updates (a status change is never a HOT update; docs/benchmarks.md).
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="outbox",
                                 db_index=False)
    patient = models.ForeignKey("clinic.Patient", on_delete=models.PROTECT, related_name="+", db_index=False)
    patient_ref = models.CharField(max_length=64)  # external id: what logs and gateways may name
    channel = models.CharField(max_length=5)
    address = models.CharField(max_length=254)
    language = models.CharField(max_length=2)
    subject = models.TextField(blank=True, db_default="")
    body = models.TextField()
    encoding = models.CharField(max_length=5, blank=True, db_default="")
    parts = models.PositiveSmallIntegerField(default=1)
    sender = models.CharField(max_length=254, blank=True)
    sender_name = models.CharField(max_length=200, blank=True, db_default="")
    status = models.CharField(max_length=12, choices=MessageStatus.choices, db_default=MessageStatus.QUEUED)
    attempts = models.PositiveIntegerField(db_default=0)
    next_attempt_at = models.DateTimeField(db_default=Now())
    deadline = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=100, blank=True, db_default="")
    remote_id = models.CharField(max_length=REMOTE_ID_MAX, blank=True, db_default="")  # remote_key(…)
    last_error = models.TextField(blank=True, db_default="")
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())
    sent_at = models.DateTimeField(null=True, blank=True)
    # The patient's clinic when the campaign was sent: whose sending windows (SendingWindow) the row waits for.
    # None on rows written before windows existed: no window applies to them.
    clinic_id = models.IntegerField(null=True, blank=True)
    # A marketing campaign's message: an opt-out of the channel's marketing suppresses it; an e-mail gets the
    # RFC 8058 List-Unsubscribe headers. False for service messages and rows written before consent by purpose.
    marketing = models.BooleanField(db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "campaign", "channel"], name="outbox_one_per_patient_channel"),
        ]
        indexes = [
            # Workers claim a channel's due queued rows oldest first (delivery.turn): read in index order, a claim
            # stops after its group instead of sorting every queued row. Expired leases are looked up too. Both
            # are a small part of the table.
            models.Index(fields=["channel", "next_attempt_at", "id"], name="outbox_due_by_channel",
                         condition=Q(status="queued")),
            models.Index(fields=["lease_until"], name="outbox_leased", condition=Q(status="sending")),
            models.Index(fields=["campaign", "status"], name="outbox_campaign_status"),
            # A campaign's messages in the order written, a page at a time (the API's cursor, after=ID).
            models.Index(fields=["campaign", "id"], name="outbox_campaign_id"),
            models.Index(fields=["remote_id"], name="outbox_remote_id", condition=~Q(remote_id="")),
        ]


class ReceiptStatus(models.TextChoices):
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"


class DeliveryReceipt(models.Model):
    """A delivery receipt as it came in (SMPP deliver_sm, an HTTP provider's status webhook), kept so that one
    arriving before the worker recorded the submit's result still finds its message (docs/delivery.md,
    "Receipts")."""

    remote_id = models.CharField(max_length=REMOTE_ID_MAX)  # remote_key(…)
    status = models.CharField(max_length=12, choices=ReceiptStatus.choices)
    stat = models.CharField(max_length=10)  # the SMSC's word: DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED
    # The provider's error code and text for an undelivered message ("twilio 30003: …"): its row's last_error once
    # the receipt is applied. Never patient data (the provider modules word it from codes).
    error = models.TextField(blank=True, db_default="")
    # The provider said the recipient opted out with it (Twilio 21610): once the receipt finds its message, the
    # patient's SMS opt-out is recorded (source "provider"), also when it came before the send's result.
    opt_out = models.BooleanField(db_default=False)
    received_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["remote_id"], name="receipt_remote_id"),
                   models.Index(fields=["received_at"], name="receipt_received_at")]


class GatewayRate(models.Model):
    """The next free send slot of a rate-limited gateway, shared by every worker through the database."""

    name = models.CharField(max_length=200, primary_key=True)
    next_slot = models.DateTimeField(db_default=Now())


class HeldCampaign(models.Model):
    """A paused campaign: workers claim none of its messages while this row exists.

    Held per campaign, not per message, so that a message that comes back to the queue while the campaign is
    paused — a retry, a stopping worker's unsent claim, a dead worker's reclaimed one — is held too."""

    campaign = models.OneToOneField("campaigns.Campaign", on_delete=models.CASCADE, primary_key=True,
                                    related_name="+")
    held_at = models.DateTimeField(db_default=Now())



class CampaignGate(models.Model):
    """A campaign that may not start yet: "scheduled" until its start (`until`, when the start's check lets it
    go: delivery.windows.outbox_start_due) and "approval" until a second sender approves it. Claims skip a
    campaign with any gate, as they skip a paused one (HeldCampaign)."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=10)  # "scheduled" | "approval"
    until = models.DateTimeField(null=True, blank=True)  # "scheduled": the start
    marketing = models.BooleanField(default=False)  # the campaign's purpose, for the start's consent check

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "reason"], name="campaign_gate_reason")]


class SendingWindow(models.Model):
    """When a campaign's messages of one clinic may be handed to a gateway: its open intervals (UTC) between the
    campaign's start and its deadline, from the clinic's window for the campaign's purpose, its time zone and its
    country's public holidays (masspost.schedule), fixed when the campaign is sent. A row of the campaign and
    clinic (OutboxMessage.clinic_id) is claimed only inside one of them; outside, it is held, not failed."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+",
                                 db_index=False)
    clinic_id = models.IntegerField()
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["campaign", "clinic_id", "opens_at"], name="sending_window_lookup")]


class InboundKind(models.TextChoices):
    STOP = "stop"  # the whole text is a stop word (delivery.inbound.is_stop_word)
    OTHER = "other"


class InboundMessage(models.Model):
    """An SMS sent to the clinic (an SMPP deliver_sm that is not a receipt, an HTTP provider's reply webhook), kept
    whether or not it matched a patient: nothing that comes in is lost (docs/delivery.md, "Stop words"). The source
    and the text are patient data: they are kept here and nowhere else — never in a log."""

    received_at = models.DateTimeField(db_default=Now())
    source = models.CharField(max_length=16, blank=True)  # the E.164 number it was read as (matched first); "" none
    raw_source = models.TextField()  # as the SMSC sent it
    source_ton = models.PositiveSmallIntegerField()  # the SMSC's type of number: 0 unknown, 1 international, 2 …
    text = models.TextField()
    kind = models.CharField(max_length=5, choices=InboundKind.choices)
    patients = models.PositiveIntegerField()  # patients with that number when it came (0: it matched nobody)
    opted_out = models.PositiveIntegerField(default=0)  # of them, those it turned SMS off for
    # The provider's id of the message (an HTTP provider's reply; SMPP gives none: ""), remote_key(…). Unique when
    # given: a provider retries a webhook it got no answer to, and the reply is stored — and acted on — once.
    remote_id = models.CharField(max_length=REMOTE_ID_MAX, blank=True, db_default="")

    class Meta:
        indexes = [models.Index(fields=["received_at"], name="inbound_received_at")]
        constraints = [models.UniqueConstraint(fields=["remote_id"], condition=~Q(remote_id=""),
                                               name="inbound_one_per_remote_id")]


class OptOutLink(models.Model):
    """The key of one message's unsubscribe / preferences link (`MASSPOST_PUBLIC_URL`/u/<key>; delivery.optout):
    opaque (an HMAC of the message's campaign, patient and channel, so a send's retry writes the same key), no
    patient data, no guessable id. Written by the send with its outbox rows; it names the patient, the channel,
    the purpose and the campaign."""

    key = models.CharField(max_length=32, primary_key=True)
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_index=False)
    patient = models.ForeignKey("clinic.Patient", on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.CharField(max_length=5)
    marketing = models.BooleanField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        # One link per message, as the outbox has one row per (patient, campaign, channel): the worker's claim reads
        # a marketing e-mail's key through it (delivery.turn), and a campaign's delete cascades through it. The
        # patient index serves a patient's delete (an erasure, a data reset), which cascades here too.
        constraints = [models.UniqueConstraint(fields=["campaign", "patient", "channel"],
                                               name="optout_link_one_per_message")]
        indexes = [models.Index(fields=["patient"], name="optout_link_patient")]
