"""Clinics, patients and visits: the data every audience is drawn from (docs/import.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class Clinic(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)  # ISO 3166-1 alpha-2
    time_zone = models.CharField(max_length=64, default="Europe/Tallinn")
    default_language = models.CharField(max_length=2)  # ISO 639-1
    phone = models.CharField(max_length=40, blank=True)
    email = models.CharField(max_length=254, blank=True)
    sms_sender = models.CharField(max_length=16, blank=True)
    # When messages may go, in the clinic's own time zone (masspost.schedule; docs/campaign.md, "Quiet hours"):
    # "Mon-Sat 09:00-20:00" (English day abbreviations, local 24-hour time; "Mon-Sun 00:00-24:00" = always open).
    marketing_window = models.CharField(max_length=100, default="Mon-Sat 09:00-20:00",
                                        db_default="Mon-Sat 09:00-20:00")
    service_window = models.CharField(max_length=100, default="Mon-Sun 08:00-21:00",
                                      db_default="Mon-Sun 08:00-21:00")
    holidays = models.BooleanField(default=True, db_default=True)  # the country's public holidays: no marketing
    # A campaign with more recipients than this needs a second sender's approval (None: never).
    approval_over = models.PositiveIntegerField(null=True, blank=True)
    # A marketing campaign whose SMS cost more than this (in MASSPOST_SMS_PRICE's currency) needs one too.
    approval_cost_over = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # A marketing send is refused until a test of the same campaign went to a staff member's own phone/e-mail.
    test_before_marketing = models.BooleanField(default=False, db_default=False)
    # Marketing leaves out patients who got a marketing message within this many days (0: off).
    recently_messaged_days = models.PositiveSmallIntegerField(default=14, db_default=14)
    # DKIM (docs/consent.md, "DKIM"): this clinic's own selector and PEM private key, overriding
    # MASSPOST_DKIM_SELECTOR / MASSPOST_DKIM_KEY_FILE. Both blank: the installation's. The key is write-only in
    # every interface (shown as its public key's fingerprint, never returned).
    dkim_selector = models.CharField(max_length=63, blank=True, default="", db_default="")
    dkim_key = models.TextField(blank=True, default="", db_default="")
    # The number patients can text STOP to, named in a marketing SMS's opt-out line when there is no
    # MASSPOST_PUBLIC_URL for a link (blank: the line says only "reply STOP").
    sms_reply_number = models.CharField(max_length=20, blank=True, default="", db_default="")

    def __str__(self) -> str:
        return self.code


class AddressStatus(models.IntegerChoices):
    """A phone's or e-mail's flag, set at import: none given, usable, or given but unusable."""

    NONE = 0
    VALID = 1
    INVALID = 2


class PatientStatus(models.TextChoices):
    ACTIVE = "active"
    ARCHIVED = "archived"
    DECEASED = "deceased"


class Patient(models.Model):
    external_id = models.CharField(max_length=64, unique=True)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2, residence
    language = models.CharField(max_length=2, blank=True)  # ISO 639-1; blank = the clinic's default
    # The phone and e-mail as the clinic wrote them, their usable form ("" when there is none or it cannot be
    # used) and the flag that says which (`no_address` / `invalid_address` in a preview). The flag is stored, not
    # derived in each query: audience counts group by it, and PostgreSQL plans a GROUP BY over small flag
    # columns far better than over expressions on the address columns (docs/benchmarks.md).
    phone = models.CharField(max_length=64, blank=True)
    phone_e164 = models.CharField(max_length=20, blank=True)
    phone_status = models.PositiveSmallIntegerField(choices=AddressStatus.choices, default=AddressStatus.NONE)
    email = models.CharField(max_length=254, blank=True)
    email_normalized = models.CharField(max_length=254, blank=True)
    email_status = models.PositiveSmallIntegerField(choices=AddressStatus.choices, default=AddressStatus.NONE)
    accepts_sms = models.BooleanField(default=True)
    accepts_email = models.BooleanField(default=True)
    # Derived from the consent ledger (ConsentEvent), kept in step with it in the same transaction by
    # masspost.clinic.ledger — never written anywhere else. accepts_* is the channel as a whole (purpose
    # "service": withdrawn, nothing goes on the channel); marketing_* is offers on the channel.
    marketing_sms = models.BooleanField(default=False)
    marketing_email = models.BooleanField(default=False, db_default=False)
    # The consents as the clinic's last import of this patient gave them (None: no import has said). A re-import
    # changes a consent only where the clinic's value changed since then: a full export knows nothing of an SMS
    # STOP or of a change made here, and must not undo it (docs/import.md, "Consent").
    imported_accepts_sms = models.BooleanField(null=True)
    imported_accepts_email = models.BooleanField(null=True)
    imported_marketing_sms = models.BooleanField(null=True)
    imported_marketing_email = models.BooleanField(null=True)
    status = models.CharField(max_length=10, choices=PatientStatus.choices, default=PatientStatus.ACTIVE)
    # The one who gets the message when patients share a phone or an e-mail address and the campaign sends one
    # per address (`one_per_address`); none marked: the oldest (docs/campaign.md, "Shared addresses").
    household_contact = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            # Audience queries always start from the active patients of some clinics.
            models.Index(fields=["clinic", "birth_date"], name="patient_active_clinic_birth",
                         condition=Q(status="active")),
        ]

    def __str__(self) -> str:
        return self.external_id


class VisitStatus(models.TextChoices):
    ATTENDED = "attended"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Visit(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="visits")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="visits")
    start = models.DateTimeField()  # UTC
    # The visit's date in its clinic's time zone, fixed at import: the audience's visit ranges are clinic-local
    # dates, and a stored date keeps that comparison a plain indexed range.
    local_date = models.DateField()
    status = models.CharField(max_length=10, choices=VisitStatus.choices)

    class Meta:
        constraints = [
            # Visits have no id of their own in the clinic's export; re-importing one updates it.
            models.UniqueConstraint(fields=["patient", "clinic", "start"], name="visit_unique_patient_clinic_start"),
        ]
        indexes = [
            # "visited / not visited in [from, to]" is an EXISTS over attended visits of one patient.
            models.Index(fields=["patient", "local_date", "clinic"], name="visit_attended_patient_date",
                         condition=Q(status="attended")),
        ]


class ConsentChannel(models.TextChoices):
    """The channel a consent event is about."""

    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"


class ConsentPurpose(models.TextChoices):
    """What a consent event is about on its channel: "service" is the channel as a whole (withdrawn: no message of
    any purpose goes on it — a hard opt-out), "marketing" offers only (withdrawn: service messages still go)."""

    SERVICE = "service", "Service"
    MARKETING = "marketing", "Marketing"


# (channel, purpose) → the Patient column that holds the consent derived from the ledger.
CONSENT_COLUMNS = {("sms", "service"): "accepts_sms", ("email", "service"): "accepts_email",
                   ("sms", "marketing"): "marketing_sms", ("email", "marketing"): "marketing_email"}


IMPORT_SOURCE = "import"
UNSUBSCRIBE_SOURCE = "unsubscribe"  # the patient's unsubscribe link (page or one-click POST)
SMS_STOP_SOURCE = "sms-stop"
API_SOURCE = "api:"  # + the token's user name: recorded through the REST API (staff_id set too)
MIGRATED_SOURCE = "migrated"  # a consent masspost held before the ledger, with no event to show for it
# The wordings masspost itself writes (stored in English, one text as proof; the web UI says them in its language:
# web.consent_words.wording_words). Migration 0007 keeps its own copy of MIGRATED_WORDING, as migrations must.
IMPORT_FILE_WORDING = "file "  # + the file's name: an import's events
NO_FILE_NAME = "(no name)"  # the name of a file that came without one (standard input)
DEMO_WORDING = "demo data"  # the demo's events
MIGRATED_WORDING = "consent as masspost held it before the ledger (no record of how it was given)"
# An SMS provider refused a message because the patient opted out with the provider (Twilio 21610).
PROVIDER_SOURCE = "provider"
# The sources that are the patient's own word: an import never switches back on what one of these switched off.
PATIENT_OWN_SOURCES = frozenset({"sms-stop", "unsubscribe", PROVIDER_SOURCE})


class ConsentMethod(models.TextChoices):
    """How a patient gave staff their consent (or withdrew it): what a consent event recorded by staff states."""

    IN_PERSON = "in-person", "in person"
    SIGNED_FORM = "signed-form", "signed form"
    PHONE = "phone", "phone call"
    EMAIL = "email", "e-mail"
    OTHER = "other", "other"


STAFF_SOURCE = "staff:"  # + the user name, as it was when the event was recorded


class AppendOnlyError(Exception):
    """An attempt to change or delete a consent event: the ledger is proof, and proof is not edited."""


class ConsentEventQuerySet(models.QuerySet["ConsentEvent"]):
    """No update or delete through the ORM (the database refuses an UPDATE too: clinic migration 0007).
    Deleting a patient still takes their events with them: the cascade of Patient.delete and the resets'
    `_raw_delete` delete rows without QuerySet.delete (the GDPR's erasure, the demo's reset)."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("consent events are append-only: no update")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("consent events are append-only: no delete (delete the patient to erase them)")


class ConsentEvent(models.Model):
    """Append-only (masspost.clinic.ledger is the only writer; no interface updates or deletes one, and the
    database refuses an UPDATE). A change of a patient's consent, with when and where it came from: "sms-stop"
    (an SMS STOP),
    "unsubscribe" (an e-mail's unsubscribe link), "provider" (the SMS provider refused a message because the
    patient opted out with it: Twilio 21610), "import" (the clinic's file), "staff:<user>" (recorded by staff on
    the patient's page: `staff`, `method` and `note` say who and how; masspost.clinic.consent)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(max_length=10, choices=ConsentChannel.choices)
    accepts = models.BooleanField()
    source = models.CharField(max_length=100)
    at = models.DateTimeField(auto_now_add=True)
    # Staff events only. The user by id (a name can be reused after a rename); `source` keeps the name as it was.
    # Defaults in the database too: the import writes its events with a plain INSERT of its own columns.
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    method = models.CharField(max_length=12, choices=ConsentMethod.choices, blank=True, default="", db_default="")
    note = models.CharField(max_length=200, blank=True, default="", db_default="")
    purpose = models.CharField(max_length=10, choices=ConsentPurpose.choices, default=ConsentPurpose.SERVICE,
                               db_default="service")
    # The words the patient was shown and agreed to (an unsubscribe page's button, an import's file name: "file
    # patients-2026-12.csv"), as proof; blank where there were none.
    wording = models.TextField(blank=True, default="", db_default="")
    campaign_id = models.BigIntegerField(null=True, blank=True)  # the campaign the event came from, if any

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        indexes = [
            # Each worker looks for the withdrawals since its last look every 15 s (delivery.suppress): a small
            # part of the ledger, by time.
            models.Index(fields=["at"], name="consent_event_withdrawn_at", condition=models.Q(accepts=False)),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("consent events are append-only: an event is written once")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("consent events are append-only: no delete (delete the patient to erase them)")
