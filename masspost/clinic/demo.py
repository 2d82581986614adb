"""Demo data: a realistic Estonian clinic group, deterministic for a seed (docs/import.md, "Demo data").

Three clinics (Tallinn, Tartu, Narva); patients with Estonian, Russian, English and Finnish names and languages
in roughly Estonian proportions; Estonian and Finnish mobile numbers, some landlines, missing or broken phones
and e-mails; opt-outs and missing marketing consent; three years of visits with cancellations and no-shows.
Rows go in through masspost.bulk, so a million patients take seconds, not minutes. Each patient's consent is in
their ledger too: an event (source "import", wording "demo data") for each consent that is not what a patient with
no events has, so that the consent columns are the ledger's fold, as everywhere else (docs/consent.md).

The demo records what it made in the audit log (a `demo.generate` event with the clinics' ids and the id ranges
of its patients and visits), so that `demo_reset` can delete exactly that — and the campaigns sent to it — and
refuse a database holding anything else. The audit log itself is never deleted.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Model, QuerySet
from django.utils import timezone
from faker import Faker

from masspost.bulk import bulk_insert, statistics_refresh
from masspost.clinic.contact import address_status
from masspost.clinic.models import DEMO_WORDING, IMPORT_SOURCE, Clinic, ConsentEvent, Patient, Visit
from masspost.clinic.scope import ActorKind
from masspost.consent import FIELDS, NONE_RECORDED
from masspost.errors import MasspostError
from masspost.wording import count

CLINICS = [
    # code, name, time zone, default language, phone, e-mail, SMS sender, share of patients
    ("TLN", "Hammas Tallinn", "et", "+372 600 1000", "tallinn@hammas.example", "HammasTLN", 0.5),
    ("TRT", "Hammas Tartu", "et", "+372 700 2000", "tartu@hammas.example", "HammasTRT", 0.3),
    ("NRV", "Hammas Narva", "ru", "+372 350 3000", "narva@hammas.example", "HammasNRV", 0.2),
]
# Communication languages per clinic (Narva is mostly Russian-speaking), "" = not set (clinic default).
LANGUAGES = {
    "TLN": (("et", 0.60), ("ru", 0.25), ("en", 0.05), ("fi", 0.04), ("", 0.06)),
    "TRT": (("et", 0.80), ("ru", 0.08), ("en", 0.05), ("fi", 0.03), ("", 0.04)),
    "NRV": (("ru", 0.80), ("et", 0.12), ("en", 0.02), ("fi", 0.01), ("", 0.05)),
}
LOCALES = {"et": "et_EE", "ru": "ru_RU", "en": "en_GB", "fi": "fi_FI", "": "et_EE"}
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ["a", "b", "v", "g", "d", "e", "jo", "zh", "z", "i", "j", "k", "l", "m", "n", "o", "p", "r", "s",
                      "t", "u", "f", "h", "ts", "tš", "š", "štš", "", "õ", "", "e", "ju", "ja"], strict=True))
VISIT_STATUSES = (("attended", 0.85), ("cancelled", 0.10), ("no_show", 0.05))
PATIENT_COLUMNS = ("external_id", "clinic_id", "first_name", "last_name", "birth_date", "country", "language",
                   "phone", "phone_e164", "phone_status", "email", "email_normalized", "email_status",
                   "accepts_sms", "accepts_email", "marketing_sms", "marketing_email", "status")
VISIT_COLUMNS = ("patient_id", "clinic_id", "start", "local_date", "status")


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoResult:
    clinics: int
    patients: int
    visits: int


def transliterate(name: str) -> str:
    """Russian names as Estonian records write them (Estonian transliteration)."""
    out = "".join(_CYRILLIC.get(ch.lower(), ch) if ch.lower() in _CYRILLIC else ch for ch in name)
    return out[:1].upper() + out[1:]


def _names(seed: int) -> dict[str, tuple[list[str], list[str]]]:
    pools = {}
    for lang, locale in LOCALES.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        firsts = sorted({fake.first_name() for _ in range(400)})
        lasts = sorted({fake.last_name() for _ in range(400)})
        if lang == "ru":
            firsts, lasts = [transliterate(n) for n in firsts], [transliterate(n) for n in lasts]
        pools[lang] = (firsts, lasts)
    return pools


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    x, acc = rng.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if x < acc:
            return value
    return weighted[-1][0]


def demo_generate(*, patients: int, seed: int, today: dt.date | None = None, actor: str = "") -> DemoResult:
    """Add a demo clinic group to an empty database (`demo_reset` empties one the demo filled), and record in the
    audit log what was made."""
    rng = random.Random(seed)
    today = today or timezone.now().date()
    pools = _names(seed)
    with transaction.atomic():
        # Everything after these ids is the demo's: ranges stay two numbers at a million patients.
        after = {label: _last_id(label) for label in ("clinic.Patient", "clinic.Visit", "campaigns.Campaign",
                                                      "delivery.DeliveryReceipt")}
        clinics = [Clinic.objects.create(code=code, name=name, country="EE", time_zone="Europe/Tallinn",
                                         default_language=lang, phone=phone, email=email, sms_sender=sender)
                   for code, name, lang, phone, email, sender, _ in CLINICS]
        shares = tuple((c.code, share) for c, (*_, share) in zip(clinics, CLINICS, strict=True))
        by_code = {c.code: c for c in clinics}
        bulk_insert(Patient, PATIENT_COLUMNS, _patients(rng, patients, shares, by_code, pools, today))
        _consent_events(after=after["clinic.Patient"], clinics=clinics)
        ids = list(Patient.objects.filter(id__gt=after["clinic.Patient"], clinic__in=clinics)
                   .order_by("id").values_list("id", "clinic_id"))
        visits = bulk_insert(Visit, VISIT_COLUMNS, _visits(rng, ids, clinics, today))
        _audit(actor=actor, action=DEMO_GENERATE, detail={
            "clinics": {c.code: c.id for c in clinics}, "patients": patients, "visits": visits, "seed": seed,
            "patient_ids": [ids[0][0], ids[-1][0]] if ids else None,
            "visit_ids": [after["clinic.Visit"] + 1, _last_id("clinic.Visit")],
            "campaigns_after": after["campaigns.Campaign"], "receipts_after": after["delivery.DeliveryReceipt"]})
    statistics_refresh([Clinic, Patient, Visit])
    return DemoResult(clinics=len(clinics), patients=patients, visits=visits)


def _patients(rng: random.Random, n: int, shares: tuple[tuple[str, float], ...], clinics: dict[str, Clinic],
              pools: dict[str, tuple[list[str], list[str]]], today: dt.date) -> Iterator[tuple[object, ...]]:
    for i in range(1, n + 1):
        code = _pick(rng, shares)
        lang = _pick(rng, LANGUAGES[code])
        firsts, lasts = pools[lang]
        first, last = rng.choice(firsts), rng.choice(lasts)
        country = "FI" if lang == "fi" and rng.random() < 0.5 else ("EE" if rng.random() < 0.97 else "LV")
        birth = None if rng.random() < 0.01 else today - dt.timedelta(days=rng.randint(0, 95 * 365))
        phone, e164 = _phone(rng, lang, country)
        email, normalized = _email(rng, first, last, i)
        status = _pick(rng, (("active", 0.94), ("archived", 0.04), ("deceased", 0.02)))
        # Marketing is one draw for both channels, as before there were two: a seed gives the patients it gave.
        accepts_sms, accepts_email, marketing = rng.random() < 0.95, rng.random() < 0.93, rng.random() < 0.6
        yield (f"P{i:07d}", clinics[code].id, first, last, birth, country, lang, phone, e164,
               address_status(phone, e164), email, normalized, address_status(email, normalized),
               accepts_sms, accepts_email, marketing, marketing, status)


def _consent_events(*, after: int, clinics: list[Clinic]) -> None:
    """The demo patients' consents as ledger events, written by the database from the columns just inserted: one
    INSERT … SELECT per consent, as fast as the patients' own COPY. Like the import (clinic.services), a sanctioned
    bulk writer of the ledger besides masspost.clinic.ledger, in the same transaction as the columns."""
    quote = connection.ops.quote_name
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    events, patients = quote(ConsentEvent._meta.db_table), quote(Patient._meta.db_table)
    clinic_ids = ", ".join(str(int(c.id)) for c in clinics)
    columns = ", ".join(quote(c) for c in ("patient_id", "channel", "purpose", "accepts", "source", "wording", "at"))
    with connection.cursor() as cursor:
        for (channel, purpose), column in FIELDS.items():
            # Only a consent that is not a patient with no events' (the fold's start) needs an event.
            cursor.execute(
                f"INSERT INTO {events} ({columns}) SELECT {quote('id')}, %s, %s, {quote(column)}, %s, %s, %s "
                f"FROM {patients} WHERE {quote('id')} > %s AND {quote('clinic_id')} IN ({clinic_ids}) "
                f"AND {quote(column)} = %s ORDER BY {quote('id')}",
                [channel, purpose, IMPORT_SOURCE, DEMO_WORDING, at, after, not NONE_RECORDED.get(channel, purpose)])


def _phone(rng: random.Random, lang: str, country: str) -> tuple[str, str]:
    x = rng.random()
    if x < 0.05:
        return "", ""
    if x < 0.07:
        return rng.choice(["12345", "5", "+372 123"]), ""  # broken
    if x < 0.09:
        return f"6{rng.randint(100000, 999999)}", ""  # a Tallinn landline: valid, but takes no SMS
    if lang == "fi" and rng.random() < 0.7:
        digits = f"40{rng.randint(1000000, 9999999)}"
        return f"+358 {digits}", f"+358{digits}"
    digits = f"5{rng.randint(1000000, 9999999)}"
    # A national number is read in the patient's country (docs/import.md): only EE residents' may be written so.
    return (digits if country == "EE" and rng.random() < 0.6 else f"+372 {digits}"), f"+372{digits}"


def _email(rng: random.Random, first: str, last: str, i: int) -> tuple[str, str]:
    x = rng.random()
    if x < 0.25:
        return "", ""
    if x < 0.28:
        return f"{first.lower()}.{last.lower()}@", ""  # broken
    local = f"{first}.{last}.{i}".lower().translate(str.maketrans("õäöüšž", "oaousz")).replace(" ", "")
    address = f"{local}@{rng.choice(['mail.ee', 'gmail.com', 'hot.ee', 'example.fi'])}"
    return address, address


def _visits(rng: random.Random, patients: list[tuple[int, int]], clinics: list[Clinic],
            today: dt.date) -> Iterator[tuple[object, ...]]:
    zone = ZoneInfo("Europe/Tallinn")
    first_day = today - dt.timedelta(days=3 * 365)
    span = (today - first_day).days
    for patient_id, home in patients:
        seen: set[tuple[int, dt.datetime]] = set()
        for _ in range(rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10))):
            clinic_id = home if rng.random() < 0.9 else rng.choice(clinics).id
            day = first_day + dt.timedelta(days=rng.randrange(span))
            local = dt.datetime(day.year, day.month, day.day, rng.randint(8, 19), rng.choice((0, 30)), tzinfo=zone)
            if (clinic_id, local) in seen:
                continue
            seen.add((clinic_id, local))
            yield (patient_id, clinic_id, local.astimezone(dt.UTC), day, _pick(rng, VISIT_STATUSES))


# --- reset: only what the demo made -----------------------------------------------------------------------------

DEMO_GENERATE = "demo.generate"
DEMO_RESET = "demo.reset"
# Children before parents: a plain DELETE per table (the ORM's collector would load every row), in an order no
# foreign key objects to. The audit log is not in it: its rows are kept, their campaign set to NULL.
RESET_ORDER = ("clinic.ConsentEvent", "clinic.Visit", "delivery.DeliveryReceipt", "delivery.HeldCampaign",
               "delivery.CampaignGate", "delivery.SendingWindow", "delivery.OutboxMessage", "delivery.OptOutLink",
               "campaigns.Campaign", "clinic.Patient", "clinic.Clinic")


class DemoDataError(MasspostError):
    """The database holds data the demo did not make, or changed while a reset was being confirmed."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoCounts:
    clinics: int = 0
    patients: int = 0
    visits: int = 0
    campaigns: int = 0
    messages: int = 0
    consent_events: int = 0

    def any(self) -> bool:
        return any((self.clinics, self.patients, self.visits, self.campaigns, self.messages, self.consent_events))

    def describe(self) -> str:
        """As a question names them: "60 demo patients (with 310 visits), 3 clinics and 1 campaign"."""
        with_ = _listing([_n(self.visits, "visit"), _n(self.consent_events, "consent event")])
        patients = _n(self.patients, "demo patient") + (f" (with {with_})" if with_ else "")
        return _listing([patients if self.patients else "", _n(self.clinics, "clinic"),
                         _n(self.campaigns, "campaign"), _n(self.messages, "message")])


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoInventory:
    demo: DemoCounts  # what a reset deletes
    foreign: DemoCounts  # what the demo did not make: while there is any, a reset refuses
    recorded: bool  # the audit log records a demo whose data is still here

    def refusal(self) -> str:
        what = _listing([_n(self.foreign.clinics, "clinic"), _n(self.foreign.patients, "patient"),
                         _n(self.foreign.visits, "visit"), _n(self.foreign.campaigns, "campaign")])
        # A demo database of a version that kept no record is told apart by nothing but its file: deleting that
        # is the user's call.
        return f"this database holds {what} that the demo did not create" + (
            "" if self.recorded else " (its audit log records no demo)")


def demo_inventory() -> DemoInventory:
    return _survey()[1]


def demo_reset(*, confirmed: DemoInventory, actor: str) -> DemoCounts:
    """Delete what the demo made and what was sent to it, as `confirmed` counted it; keep the audit log (one more
    event, `demo.reset`, with the counts). Refuses a database holding anything else, or one that changed since."""
    try:
        with transaction.atomic():
            rows, inventory = _survey()
            if inventory.foreign.any():
                raise DemoDataError(f"{inventory.refusal()}; refusing to reset")
            if inventory != confirmed:
                raise DemoDataError("the demo data changed since the question; nothing deleted (run it again)")
            for label in RESET_ORDER:
                if label == "campaigns.Campaign":
                    _manager("campaigns.AuditEvent").filter(campaign__in=rows[label]).update(campaign=None)
                    # An API retry of one of these sends would find nothing: its key goes with the campaign.
                    _manager("campaigns.IdempotentSend").filter(campaign__in=rows[label])._raw_delete(
                        using=rows[label].db)
                if label == "clinic.Clinic":
                    # Staff keep their accounts; they just no longer work for the clinics that are gone.
                    links = apps.get_model("staff", "StaffMember").clinics.through.objects
                    links.filter(clinic_id__in=rows[label].values("id")).delete()
                rows[label]._raw_delete(using=rows[label].db)
            counts = inventory.demo
            _audit(actor=actor, action=DEMO_RESET, detail={
                "clinics": counts.clinics, "patients": counts.patients, "visits": counts.visits,
                "campaigns": counts.campaigns, "messages": counts.messages, "consent_events": counts.consent_events})
    except IntegrityError:
        # A row written meanwhile refers to the demo's (PostgreSQL checks the keys at commit): all rolled back.
        raise DemoDataError("the database changed during the reset; nothing deleted (run it again)") from None
    return counts


def _survey() -> tuple[dict[str, QuerySet[Any]], DemoInventory]:
    """The rows of the latest demo (by RESET_ORDER label) and the counts of what is and is not the demo's."""
    audit = _manager("campaigns.AuditEvent")
    campaigns = _manager("campaigns.Campaign")
    event = audit.filter(action=DEMO_GENERATE).order_by("-id").first()
    recorded = event is not None and not audit.filter(action=DEMO_RESET, id__gt=event.id).exists()
    if event is None or not recorded:
        rows = {label: _manager(label).none() for label in RESET_ORDER}
    else:
        d = event.detail
        # A clinic the demo made and an import then changed holds the clinic's real data now.
        clinic_ids = [c.id for c in Clinic.objects.filter(id__in=d["clinics"].values()) if _as_generated(c)]
        codes = {code for code, pk in d["clinics"].items() if pk in clinic_ids}
        patients = Patient.objects.filter(id__range=d["patient_ids"] or (0, -1), clinic_id__in=clinic_ids)
        sent = [pk for pk, audience in campaigns.filter(id__gt=d["campaigns_after"]).values_list("id", "audience")
                if set(audience.get("clinics", ())) <= codes]
        rows = {
            "clinic.ConsentEvent": ConsentEvent.objects.filter(patient__in=patients),
            "clinic.Visit": Visit.objects.filter(id__range=d["visit_ids"], patient__in=patients),
            "delivery.DeliveryReceipt": _manager("delivery.DeliveryReceipt").filter(id__gt=d["receipts_after"]),
            "delivery.HeldCampaign": _manager("delivery.HeldCampaign").filter(campaign_id__in=sent),
            "delivery.CampaignGate": _manager("delivery.CampaignGate").filter(campaign_id__in=sent),
            "delivery.SendingWindow": _manager("delivery.SendingWindow").filter(campaign_id__in=sent),
            "delivery.OutboxMessage": _manager("delivery.OutboxMessage").filter(campaign_id__in=sent),
            "delivery.OptOutLink": _manager("delivery.OptOutLink").filter(campaign_id__in=sent),
            "campaigns.Campaign": campaigns.filter(id__in=sent),
            "clinic.Patient": patients,
            "clinic.Clinic": Clinic.objects.filter(id__in=clinic_ids),
        }
    demo = DemoCounts(clinics=rows["clinic.Clinic"].count(), patients=rows["clinic.Patient"].count(),
                      visits=rows["clinic.Visit"].count(), campaigns=rows["campaigns.Campaign"].count(),
                      messages=rows["delivery.OutboxMessage"].count(),
                      consent_events=rows["clinic.ConsentEvent"].count())
    foreign = DemoCounts(clinics=Clinic.objects.count() - demo.clinics,
                         patients=Patient.objects.count() - demo.patients,
                         visits=Visit.objects.count() - demo.visits, campaigns=campaigns.count() - demo.campaigns)
    return rows, DemoInventory(demo=demo, foreign=foreign, recorded=recorded)


def _as_generated(clinic: Clinic) -> bool:
    return any((clinic.code, clinic.name, clinic.default_language, clinic.phone, clinic.email, clinic.sms_sender)
               == row[:6] for row in CLINICS) and (clinic.country, clinic.time_zone) == ("EE", "Europe/Tallinn")


def _manager(label: str) -> Any:
    # By label, as clinic.services does: the clinic package stays importable without campaigns and delivery.
    model: type[Model] = apps.get_model(label)
    return model._default_manager


def _last_id(label: str) -> int:
    return int(_manager(label).aggregate(last=Max("id"))["last"] or 0)


def _audit(*, actor: str, action: str, detail: dict[str, Any]) -> None:
    # Only the command line makes and resets a demo: `actor` is its OS user (Scope.operator().actor).
    _manager("campaigns.AuditEvent").create(actor=actor, actor_kind=ActorKind.COMMAND_LINE.value, action=action,
                                            detail=detail)


def _n(n: int, noun: str) -> str:
    return count(n, noun, grouped=True) if n else ""


def _listing(items: list[str]) -> str:
    items = [item for item in items if item]
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)
