"""Demo data: a realistic Estonian clinic group, deterministic for a seed (docs/import.md, "Demo data").

Three clinics (Tallinn, Tartu, Narva); patients with Estonian, Russian, English and Finnish names and languages
in roughly Estonian proportions; Estonian and Finnish mobile numbers, some landlines, missing or broken phones
and e-mails; opt-outs and missing marketing consent; three years of visits with cancellations and no-shows.
Rows go in through masspost.bulk, so a million patients take seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from faker import Faker

from masspost.bulk import bulk_insert
from masspost.clinic.contact import address_status
from masspost.clinic.models import Clinic, Patient, Visit

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
                   "accepts_sms", "accepts_email",
                   "marketing_consent", "status")
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


def demo_generate(*, patients: int, seed: int, today: dt.date | None = None) -> DemoResult:
    """Replace all clinic data with a demo clinic group (call on an empty or throw-away database)."""
    rng = random.Random(seed)
    today = today or timezone.now().date()
    pools = _names(seed)
    with transaction.atomic():
        clinics = [Clinic.objects.create(code=code, name=name, country="EE", time_zone="Europe/Tallinn",
                                         default_language=lang, phone=phone, email=email, sms_sender=sender)
                   for code, name, lang, phone, email, sender, _ in CLINICS]
        shares = tuple((c.code, share) for c, (*_, share) in zip(clinics, CLINICS, strict=True))
        by_code = {c.code: c for c in clinics}
        bulk_insert(Patient, PATIENT_COLUMNS, _patients(rng, patients, shares, by_code, pools, today))
        ids = list(Patient.objects.order_by("id").values_list("id", "clinic_id"))
        visits = bulk_insert(Visit, VISIT_COLUMNS, _visits(rng, ids, clinics, today))
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
        yield (f"P{i:07d}", clinics[code].id, first, last, birth, country, lang, phone, e164,
               address_status(phone, e164), email, normalized, address_status(email, normalized),
               rng.random() < 0.95, rng.random() < 0.93, rng.random() < 0.6, status)


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
