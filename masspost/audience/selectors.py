"""The audience as one database query (docs/campaign.md, "Audience"). No patient is filtered in Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from masspost.audience.filter import AudienceFilter, DateRange, Period
from masspost.clinic.models import AddressStatus, Clinic, Patient, PatientStatus, Visit, VisitStatus
from masspost.clinic.scope import Scope
from masspost.errors import SpecError

NO_ADDRESS, VALID_ADDRESS, INVALID_ADDRESS = AddressStatus.NONE, AddressStatus.VALID, AddressStatus.INVALID

ROW_FIELDS = ("id", "ref", "first_name", "last_name", "lang", "decides", "sms_to", "email_to")
GROUP_FIELDS = ("lang", "accepts_sms", "accepts_email", "marketing_sms", "marketing_email", "phone_status",
                "email_status")


@dataclass(frozen=True, kw_only=True, slots=True)
class ResolvedAudience:
    filter: AudienceFilter
    clinics: tuple[Clinic, ...]  # the clinics patients are drawn from: chosen ∩ scope, or the whole scope
    chosen: bool  # clinics were named in the filter
    reference_dates: dict[int, dt.date]  # per clinic id: the date ages are counted on
    # Only visits at these clinics count for visited / not visited: the chosen ones, or the user's scope when none
    # were chosen (a visit at a clinic the user cannot reach says nothing they may act on). None: visits anywhere
    # count (the operator, who reaches every clinic, chose none).
    visit_clinics: frozenset[int] | None = None

    def fingerprint(self) -> dict[str, object]:
        """What the audience means today: the filter plus the dates it resolved to."""
        return {"filter": self.filter.to_dict(),
                "clinics": sorted(c.code for c in self.clinics),
                "reference_dates": sorted({d.isoformat() for d in self.reference_dates.values()})}

    def pinned(self) -> dict[str, object]:
        """What `audience_resolve` needs besides the fingerprint to resolve this audience again as it is now (a
        sent campaign keeps it): each clinic's reference date, and whether visits at any clinic count."""
        codes = {c.id: c.code for c in self.clinics}
        return {"reference_dates": {codes[cid]: d.isoformat() for cid, d in sorted(self.reference_dates.items())},
                "visits_anywhere": self.visit_clinics is None}


def audience_resolve(*, audience: AudienceFilter, scope: Scope, clinics: Sequence[str] | None = None,
                     reference_dates: Mapping[str, dt.date] | None = None,
                     visits_anywhere: bool | None = None) -> ResolvedAudience:
    """The filter's clinics (all reachable in `scope`, else SpecError) or, when it names none, the scope's.

    For a pass over a sent campaign as its author resolved it (an approval's check): `clinics`, the clinic codes
    it resolved to, stand for the scope's when the filter names none (each must be reachable in `scope`);
    `reference_dates`, per clinic code, the dates ages were counted on then (a clinic without one: today);
    `visits_anywhere`, whether visits at any clinic counted (None: as `scope` decides)."""
    reachable = {c.code: c for c in scope.clinics()}
    unknown = [code for code in audience.clinics if code not in reachable]
    if not audience.clinics and clinics is not None:
        unknown = [code for code in clinics if code not in reachable]
    if unknown:
        raise SpecError(f"audience.clinics: unknown clinic code(s) {', '.join(map(repr, unknown))}")
    if audience.clinics:
        chosen = tuple(reachable[c] for c in audience.clinics)
    elif clinics is not None:
        pinned = set(clinics)
        chosen = tuple(c for c in reachable.values() if c.code in pinned)  # in the scope's order, as at the send
    else:
        chosen = tuple(reachable.values())
    now = timezone.now()
    fixed = reference_dates or {}
    dates = {c.id: audience.reference_date or fixed.get(c.code) or now.astimezone(ZoneInfo(c.time_zone)).date()
             for c in chosen}
    restricted = bool(audience.clinics) or scope.clinic_ids is not None
    if visits_anywhere is not None and not audience.clinics:
        restricted = not visits_anywhere
    return ResolvedAudience(filter=audience, clinics=chosen, chosen=bool(audience.clinics),
                            reference_dates=dates,
                            visit_clinics=frozenset(c.id for c in chosen) if restricted else None)


def birth_cutoff(reference: dt.date, years: int) -> dt.date:
    """The last birth date of someone at least `years` old on `reference`.

    A birthday on 29 February comes on 1 March in other years: whole years are counted by comparing
    (month, day), so the cutoff for a 29 February reference in a common year is 28 February.
    """
    year = reference.year - years
    try:
        return reference.replace(year=year)
    except ValueError:
        return dt.date(year, 2, 28)


# On SQLite an age range this wide or wider is read by a plain scan: through the (clinic, birth date) index the
# rows come one random read each, slower than reading them all past ~20% of the patients (docs/benchmarks.md).
SQLITE_SCAN_AGE_SPAN = 20


class _Unindexed(Func):
    """`+column`: SQLite's own way to keep a term from choosing an index (the value is unchanged)."""

    template = "+%(expressions)s"


def _age_q(resolved: ResolvedAudience, field: str = "birth_date") -> Q:
    f = resolved.filter
    by_date: dict[dt.date, list[int]] = {}
    for clinic_id, day in resolved.reference_dates.items():
        by_date.setdefault(day, []).append(clinic_id)
    q = Q(pk__in=[])
    for day, clinic_ids in by_date.items():
        part = Q(clinic_id__in=clinic_ids, birth_date__isnull=False)
        if f.age_min is not None:
            part &= Q(**{f"{field}__lte": birth_cutoff(day, f.age_min)})
        if f.age_max is not None:
            part &= Q(**{f"{field}__gt": birth_cutoff(day, f.age_max + 1)})
        q |= part
    return q


def _visited(resolved: ResolvedAudience, period: DateRange) -> Exists:
    visits = Visit.objects.filter(patient=OuterRef("pk"), status=VisitStatus.ATTENDED,
                                  local_date__gte=period.start, local_date__lte=period.end)
    if resolved.visit_clinics is not None:
        visits = visits.filter(clinic_id__in=sorted(resolved.visit_clinics))
    return Exists(visits)


def _had_visit(resolved: ResolvedAudience, period: Period, *, had: bool) -> Q:
    """Patients who had (`had`) or had not an attended visit in `period`. A relative period (the last N months)
    ends on each patient's clinic's reference date, as ages are counted: one term per distinct date."""
    if isinstance(period, DateRange):
        exists = _visited(resolved, period)
        return Q(exists) if had else ~Q(exists)
    by_date: dict[dt.date, list[int]] = {}
    for clinic_id, day in resolved.reference_dates.items():
        by_date.setdefault(day, []).append(clinic_id)
    q = Q(pk__in=[])
    for day, clinic_ids in sorted(by_date.items()):
        exists = _visited(resolved, period.on(day))
        q |= Q(clinic_id__in=clinic_ids) & (Q(exists) if had else ~Q(exists))
    return q


def audience_patients(resolved: ResolvedAudience) -> QuerySet[Patient]:
    return _matching(resolved, Patient.objects.filter(status=PatientStatus.ACTIVE))


def audience_not_selected(resolved: ResolvedAudience) -> dict[str, int]:
    """Patients the filter matches who are never selected, by status (archived, deceased): one GROUP BY, so
    that a preview's numbers add up (matched = selected + not selected)."""
    counts = dict.fromkeys((s for s in PatientStatus if s != PatientStatus.ACTIVE), 0)
    qs = _matching(resolved, Patient.objects.exclude(status=PatientStatus.ACTIVE))
    for status, n in qs.values_list("status").annotate(n=Count("id")).order_by():
        counts[status] = n
    return {str(k): v for k, v in counts.items()}


def _matching(resolved: ResolvedAudience, qs: QuerySet[Patient]) -> QuerySet[Patient]:
    f = resolved.filter
    qs = qs.filter(clinic_id__in=[c.id for c in resolved.clinics])
    if f.countries:
        qs = qs.filter(country__in=f.countries)
    if f.age_min is not None or f.age_max is not None:
        span = (f.age_max if f.age_max is not None else 130) - (f.age_min or 0)
        if connections[qs.db].vendor == "sqlite" and span >= SQLITE_SCAN_AGE_SPAN:
            qs = qs.alias(birth_scan=_Unindexed(F("birth_date"), output_field=DateField()))
            qs = qs.filter(_age_q(resolved, "birth_scan"))
        else:
            qs = qs.filter(_age_q(resolved))
    if f.visited:
        qs = qs.filter(_had_visit(resolved, f.visited, had=True))
    if f.not_visited:
        qs = qs.filter(_had_visit(resolved, f.not_visited, had=False))
    return qs


def communication_language() -> Any:
    """A patient's communication language: their own, else their clinic's default."""
    return Coalesce(NullIf(F("language"), Value("")), F("clinic__default_language"))


def _annotated(resolved: ResolvedAudience) -> QuerySet[Patient]:
    return audience_patients(resolved).annotate(lang=communication_language())


def audience_languages(*, scope: Scope) -> dict[str, int]:
    """Active patients of the scope's clinics per communication language (a clinic's default where the patient
    has none): the language tabs of the Bulk Mail screen, before any filter."""
    resolved = audience_resolve(audience=AudienceFilter(), scope=scope)
    rows = _annotated(resolved).values("lang").annotate(n=Count("id")).order_by()  # type: ignore[misc]
    return dict(sorted((r["lang"], r["n"]) for r in rows))


def audience_countries(*, scope: Scope) -> dict[str, int]:
    """Active patients of the scope's clinics per country of residence (those with one): the countries the Bulk
    Mail screen offers to choose from, by name."""
    resolved = audience_resolve(audience=AudienceFilter(), scope=scope)
    rows = (audience_patients(resolved).exclude(country="").values("country").annotate(n=Count("id"))
            .order_by())
    return dict(sorted((r["country"], r["n"]) for r in rows))


def audience_groups(resolved: ResolvedAudience, *, by_clinic: bool = False
                    ) -> list[tuple[int | None, str, bool, bool, bool, bool, int, int, int, int]]:
    """Patient counts grouped by everything that decides who gets what: one GROUP BY query. Each row starts with
    the clinic id when `by_clinic` (a clinic's sender can decide too), None otherwise, then GROUP_FIELDS (the
    language, the two channels, marketing consent per channel, the two address flags), and ends with how many of
    the group have no language of their own (`lang` is their clinic's for those), then the group's count. The
    former is a filtered count, not a grouping column: the groups and their sort stay as they were."""
    fields = (("clinic_id",) if by_clinic else ()) + GROUP_FIELDS
    rows = _annotated(resolved).values(*fields).annotate(
        unset=Count("id", filter=Q(language="")), n=Count("id")).order_by()
    return [(r.get("clinic_id"),) + tuple(r[k] for k in GROUP_FIELDS) + (r["unset"], r["n"])  # type: ignore[misc]
            for r in rows]


@dataclass(frozen=True, slots=True)
class Decides:
    """What decides a patient's outcome on every channel besides their language, unpacked from a row's `decides`."""

    clinic_id: int
    accepts_sms: bool
    accepts_email: bool
    # Consent to marketing on the channel (masspost.consent): a marketing campaign needs the channel's own.
    marketing_sms: bool
    marketing_email: bool
    phone_status: int
    email_status: int
    language_unset: bool = False  # no language of their own: the row's language is their clinic's default
    # Messaged lately on the channel by a campaign of the same purpose (audience_rows' `recent`).
    recent_sms: bool = False
    recent_email: bool = False
    # Another patient who shares the channel's address gets the one message: never set by the database, only by
    # the caller that knows who shares (the sweep ORs SHARED_SMS / SHARED_EMAIL into a row's value).
    shared_sms: bool = False
    shared_email: bool = False

    @classmethod
    def unpack(cls, code: int) -> Decides:
        return cls(clinic_id=code >> _CLINIC_SHIFT, accepts_sms=bool(code & _ACCEPTS_SMS),
                   accepts_email=bool(code & _ACCEPTS_EMAIL), marketing_sms=bool(code & _MARKETING_SMS),
                   marketing_email=bool(code & _MARKETING_EMAIL), phone_status=(code >> _PHONE_SHIFT) & 3,
                   email_status=(code >> _EMAIL_SHIFT) & 3, language_unset=bool(code & _LANGUAGE_UNSET),
                   recent_sms=bool(code & _RECENT_SMS), recent_email=bool(code & _RECENT_EMAIL),
                   shared_sms=bool(code & SHARED_SMS), shared_email=bool(code & SHARED_EMAIL))


# The bits of `decides`, lowest first: four consents, two 2-bit address flags (AddressStatus: 0-2), then one bit
# each; the clinic id above them all. Python's integers and the database's bigint (the clinic id is one) hold it.
_ACCEPTS_SMS, _ACCEPTS_EMAIL, _MARKETING_SMS, _MARKETING_EMAIL = 1, 2, 4, 8
_PHONE_SHIFT, _EMAIL_SHIFT = 4, 6
_LANGUAGE_UNSET = 1 << 8
_RECENT_SMS, _RECENT_EMAIL = 1 << 9, 1 << 10
SHARED_SMS = 1 << 11
SHARED_EMAIL = 1 << 12
_CLINIC_SHIFT = 13


def _language_unset() -> Any:
    """1 for a patient without a communication language of their own (they get their clinic's), else 0."""
    return Cast(ExpressionWrapper(Q(language=""), output_field=BooleanField()), IntegerField())


def _flag(condition: Q) -> Any:
    return Cast(ExpressionWrapper(condition, output_field=BooleanField()), IntegerField())


def _decides(recent: Mapping[str, Q] | None = None) -> Any:
    """The columns of `Decides` as one integer computed by the database: a row carries one value, not one per
    column, and patients alike in all of them share it (the sweep decides once per distinct value and language).
    `recent`: per channel, the condition of being recently messaged on it (absent: never)."""
    def flag(name: str) -> Any:
        return Cast(name, IntegerField())
    code = (flag("accepts_sms") + flag("accepts_email") * _ACCEPTS_EMAIL
            + flag("marketing_sms") * _MARKETING_SMS + flag("marketing_email") * _MARKETING_EMAIL
            + F("phone_status") * (1 << _PHONE_SHIFT) + F("email_status") * (1 << _EMAIL_SHIFT)
            + _language_unset() * _LANGUAGE_UNSET + F("clinic_id") * (1 << _CLINIC_SHIFT))
    for channel, bit in (("sms", _RECENT_SMS), ("email", _RECENT_EMAIL)):
        if recent and recent.get(channel) is not None:
            code = code + _flag(recent[channel]) * bit
    return code


def audience_rows(resolved: ResolvedAudience, *, refs: bool = True, phones: bool = True, emails: bool = True,
                  prefetch: bool = False, recent: Mapping[str, Q] | None = None) -> Iterator[list[tuple[Any, ...]]]:
    """Every selected patient as a ROW_FIELDS tuple, streamed (server-side cursor on PostgreSQL) in lists of up to
    5,000 rows (a loop over a million rows spends less per row on a list than on a generator). `decides` packs
    the clinic, consents, address flags, whether the language is the clinic's and, per channel of `recent` (a
    condition on the patient: campaigns.recent), whether it holds (`Decides.unpack`). What the
    caller will not use — the external id, the phone, the e-mail — comes as '' and costs nothing to carry.

    `prefetch` (PostgreSQL only): the next chunk is fetched on a thread while the caller works on this one, so the
    wait for the server overlaps the work. The caller must then not use the database connection until it has
    taken the last chunk (a COPY, say, would meet the fetch on the wire)."""
    empty = Value("", output_field=CharField())
    qs = _annotated(resolved).annotate(
        decides=_decides(recent),
        ref=F("external_id") if refs else empty,
        sms_to=F("phone_e164") if phones else empty,
        email_to=F("email_normalized") if emails else empty,
    ).values_list(*ROW_FIELDS).order_by()
    # The query's own SQL on a streamed cursor: the rows as the driver gives them (str, int), without the ORM's
    # per-value converters, which cost more than the rest of a preview's pass over a row together.
    sql, params = qs.query.sql_with_params()
    connection = connections[qs.db]
    with connection.chunked_cursor() as cursor:
        if recent and connection.vendor == "postgresql":
            # PostgreSQL runs the outbox EXISTS of `recent` hashed, once, but costs it as one index probe per row:
            # an estimate that has the query JIT-compiled, which took longer than the whole query (200,000
            # patients: 0.85 s of JIT for a 0.25 s query). Off for this query only.
            _session_setting("SET jit = off", connection)
            try:
                cursor.execute(sql, params)
            finally:
                _session_setting("RESET jit", connection)
        else:
            cursor.execute(sql, params)
        if not (prefetch and connection.vendor == "postgresql"):
            while rows := cursor.fetchmany(_CHUNK):
                yield rows
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audience") as pool:
            ahead = pool.submit(cursor.fetchmany, _CHUNK)
            while rows := ahead.result():
                ahead = pool.submit(cursor.fetchmany, _CHUNK)
                yield rows


_CHUNK = 5000  # rows per fetch


def _session_setting(statement: str, connection: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def patient_refs(ids: Iterable[int]) -> dict[int, str]:
    """External ids by patient id, for the few patients a preview names (samples, warnings)."""
    return dict(Patient.objects.filter(id__in=sorted(set(ids))).values_list("id", "external_id"))


def audience_sharers(resolved: ResolvedAudience, *, address: str, where: Q
                     ) -> list[tuple[int, str, str, bool, dt.date | None, str]]:
    """The patients of the audience who meet `where` (a condition that may use the annotated `lang`) and share
    `address` (phone_e164 or email_normalized) with another such patient: (id, external id, address, household
    contact, birth date, communication language), in no order. One query, one pass over the patients: a count
    per address as a window (twice as fast on PostgreSQL as a GROUP BY of the addresses joined back)."""
    candidates = audience_patients(resolved).annotate(lang=communication_language()).filter(where).exclude(
        **{address: ""})
    rows = candidates.annotate(sharers=Window(Count("id"), partition_by=[F(address)])).filter(sharers__gt=1)
    return list(rows.values_list("id", "external_id", address, "household_contact", "birth_date", "lang")
                .order_by())
