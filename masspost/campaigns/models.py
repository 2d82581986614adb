"""Campaigns (what was confirmed) and the audit log. Their messages live in the delivery outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from masspost.clinic.scope import ActorKind


class CampaignState(models.TextChoices):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class Approval(models.TextChoices):
    """Whether a second sender must approve the campaign before it goes (a clinic's `approval_over` rule)."""

    NONE = ""  # no approval needed
    PENDING = "pending"  # held (delivery.CampaignGate "approval") until approved or rejected
    APPROVED = "approved"
    REJECTED = "rejected"  # its messages were cancelled


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=10)
    channel = models.CharField(max_length=5)
    fallback_language = models.CharField(max_length=2, blank=True)
    # The campaign file as confirmed, and the audience as it resolved (reference dates included).
    spec = models.JSONField()
    audience = models.JSONField()
    # The preview token the send was confirmed with: a second confirmation of the same preview finds this
    # campaign instead of making another (unique, so two racing confirmations cannot both win).
    token = models.CharField(max_length=120, unique=True)
    state = models.CharField(max_length=10, choices=CampaignState.choices, default=CampaignState.ACTIVE)
    messages = models.PositiveIntegerField(default=0)
    deadline = models.DateTimeField()
    # When it starts (None: at once, when it was sent). Until then it is held by a CampaignGate "scheduled" and can
    # be rescheduled or cancelled; at the start its audience is checked again (left_out rows, with the reason).
    send_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # when the start's check ran (None: not yet)
    approval = models.CharField(max_length=10, choices=Approval.choices, blank=True, default="", db_default="")
    approved_by = models.CharField(max_length=150, blank=True, default="", db_default="")
    approved_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                         on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    # Who sent it: a user's name as it was, or "command line (OS USER)" (no user name can be that: staff.names);
    # the user by id (None: the command line). By id without a foreign-key constraint: a log outlives accounts.
    created_by = models.CharField(max_length=150)
    created_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                        db_constraint=False, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"campaign {self.pk}"


class AuditEvent(models.Model):
    """Who did what, when, from where. Ids and counts only: never a message body or patient data. Append-only:
    nothing in masspost updates or deletes a row (campaigns.audit writes them)."""

    at = models.DateTimeField(auto_now_add=True)
    # Who: their kind, the user by id (the log's visibility keys on it, never on a name), and a name to show as it
    # was then — the user's name; the OS user at the command line ("" unknown); the name a visitor typed. A failed
    # sign-in under a staff user's name carries that user's id: it concerns their account.
    actor = models.CharField(max_length=150)
    actor_kind = models.CharField(max_length=10, choices=[(k.value, k.value) for k in ActorKind])
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    action = models.CharField(max_length=50)
    campaign = models.ForeignKey(Campaign, null=True, on_delete=models.SET_NULL, related_name="audit_events")
    detail = models.JSONField(default=dict)
    address = models.CharField(max_length=45, blank=True)  # the client's IP address; "" at the command line
    via = models.CharField(max_length=120, blank=True)  # "api:NAME" for a REST API token named NAME; "" otherwise

    class Meta:
        indexes = [models.Index(fields=["at"], name="audit_at")]


class PreviewSnapshot(models.Model):
    """What a preview saw per patient, as small hashes (campaigns.snapshot), under its token: a stale send says
    exactly what changed. Kept a day. No patient data: internal ids and 16-bit hashes."""

    token = models.CharField(max_length=200)
    # Whose preview it was: a short hash of Scope.actor_key (no name in the table), so that each actor's
    # snapshots can be capped (campaigns.snapshot.KEEP_PER_ACTOR).
    actor = models.CharField(max_length=16)
    created_at = models.DateTimeField(db_index=True)
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "actor"], name="preview_snapshot_token_actor")]
        indexes = [models.Index(fields=["actor", "created_at"], name="preview_snapshot_actor")]


class IdempotentSend(models.Model):
    """A send made under an Idempotency-Key (`POST /api/v1/campaigns`): the same key and body again get this
    answer and nothing more is sent; the same key with another body is refused. A key belongs to its user — by id:
    `actor` is `Scope.actor_key`, "user:12" ("cli" for the command line) — so any token of theirs, a renewed one
    too, may retry, and no other user's key can ever meet it. `campaign` is null while the send is under way: a
    second request with the key then waits its turn (409). Kept a week."""

    actor = models.CharField(max_length=150)
    key = models.CharField(max_length=200)
    body_digest = models.CharField(max_length=64)
    campaign = models.ForeignKey(Campaign, null=True, on_delete=models.CASCADE, related_name="+")
    messages = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["actor", "key"], name="idempotent_send_key")]


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the file was imported (with skip_invalid, perhaps without its bad rows)
    REFUSED = "refused"  # nothing was imported: a bad row, or a fault of the whole file
    FAILED = "failed"  # masspost failed, or the job's process ended before it did


class ImportJob(models.Model):
    """A large import over the REST API, run by its own process (`masspost import-run`) outside any request's time
    limit (docs/api.md, "Large files"). Its user alone sees it. `upload` is the file, owner-only, while the job
    has it; it is deleted when the job ends. `report` is the import's report, ids and counts only."""

    kind = models.CharField(max_length=10)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    via = models.CharField(max_length=120, blank=True)  # "api:NAME", the token it came through
    address = models.CharField(max_length=45, blank=True)
    skip_invalid = models.BooleanField(default=False)
    encoding = models.CharField(max_length=10, default="utf-8")
    upload = models.CharField(max_length=500, blank=True)
    # The upload's own name (a multipart filename), for the consent events the import writes; "" when none.
    file_name = models.CharField(max_length=200, blank=True, default="", db_default="")
    status = models.CharField(max_length=10, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED)
    phase = models.CharField(max_length=10, blank=True)  # "checking" the file, then "writing" it
    rows_read = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    report = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)  # a refused file's fault, or why a job failed
    host = models.CharField(max_length=255, blank=True)  # where its process runs, and its pid: a dead one is seen
    pid = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
