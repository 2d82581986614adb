"""Audience semantics (DESIGN.md "Semantics") on hand-built data where the answer is obvious."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from masspost.audience.filter import AudienceFilter
from masspost.audience.selectors import audience_not_selected, audience_patients, audience_resolve, birth_cutoff
from masspost.clinic.scope import Scope
from masspost.errors import SpecError

pytestmark = pytest.mark.django_db
REF = "2026-11-25"


def selected(scope: Scope | None = None, **audience: Any) -> set[str]:
    audience.setdefault("reference_date", REF)
    resolved = audience_resolve(audience=AudienceFilter.from_dict(audience), scope=scope or Scope.operator())
    return set(audience_patients(resolved).values_list("external_id", flat=True))


@pytest.mark.parametrize(("birth", "age"), [
    ("2008-11-25", 18),  # 18th birthday on the reference date
    ("2008-11-26", 17),  # one day short
    ("2008-11-24", 18),
    ("1961-11-26", 64),  # the last day of being 64
    ("1961-11-25", 65),  # 65 today
])
def test_age_is_whole_years_on_the_reference_date(make_patient: Any, birth: str, age: int) -> None:
    p = make_patient(birth_date=dt.date.fromisoformat(birth))
    assert (p.external_id in selected(age={"min": 18, "max": 64})) == (18 <= age <= 64)
    assert p.external_id in selected(age={"min": age, "max": age})
    assert p.external_id not in selected(age={"min": age + 1})
    assert p.external_id not in selected(age={"max": age - 1}) or age == 0


@pytest.mark.parametrize(("reference", "is_18"), [
    ("2026-02-27", False),
    ("2026-02-28", False),  # a 29 February birthday comes on 1 March in common years
    ("2026-03-01", True),
])
def test_birthday_on_29_february(make_patient: Any, reference: str, is_18: bool) -> None:
    p = make_patient(birth_date=dt.date(2008, 2, 29))
    assert (p.external_id in selected(age={"min": 18}, reference_date=reference)) == is_18


def test_29_february_reference_date_in_a_leap_year(make_patient: Any) -> None:
    born_leap = make_patient(birth_date=dt.date(2004, 2, 29))  # 24 on 2028-02-29
    born_28 = make_patient(birth_date=dt.date(2004, 2, 28))
    born_mar1 = make_patient(birth_date=dt.date(2004, 3, 1))  # still 23
    got = selected(age={"min": 24}, reference_date="2028-02-29")
    assert got == {born_leap.external_id, born_28.external_id}
    assert born_mar1.external_id not in got


def test_birth_cutoff_clamps_29_february() -> None:
    assert birth_cutoff(dt.date(2028, 2, 29), 1) == dt.date(2027, 2, 28)
    assert birth_cutoff(dt.date(2028, 2, 29), 4) == dt.date(2024, 2, 29)


def test_age_filter_drops_patients_without_birth_date(make_patient: Any) -> None:
    unknown = make_patient(birth_date=None)
    assert unknown.external_id in selected()
    assert unknown.external_id not in selected(age={"min": 0})
    assert unknown.external_id not in selected(age={"max": 150})


def test_archived_and_deceased_are_never_selected(make_patient: Any) -> None:
    active = make_patient()
    make_patient(status="archived")
    make_patient(status="deceased")
    assert selected() == {active.external_id}


def test_country_of_residence(make_patient: Any) -> None:
    ee, fi = make_patient(country="EE"), make_patient(country="FI")
    make_patient(country="")
    assert selected(countries=["FI"]) == {fi.external_id}
    assert selected(countries=["ee", "FI"]) == {ee.external_id, fi.external_id}


def test_clinic_filter_and_scope(make_patient: Any, other_clinic: Any) -> None:
    tln = make_patient()
    trt = make_patient(clinic=other_clinic)
    assert selected() == {tln.external_id, trt.external_id}
    assert selected(clinics=["TRT"]) == {trt.external_id}
    scoped = Scope(actor="reception", clinic_ids=frozenset({other_clinic.id}))
    assert selected(scoped) == {trt.external_id}
    with pytest.raises(SpecError, match="unknown clinic code"):
        selected(scoped, clinics=["TLN"])  # outside the user's clinics: as if it did not exist


def test_visit_on_first_and_last_day_of_range_counts(make_patient: Any, make_visit: Any) -> None:
    first, last, before, after = (make_patient() for _ in range(4))
    make_visit(first, dt.datetime(2024, 1, 1, 8, 0))
    make_visit(last, dt.datetime(2024, 12, 31, 19, 0))
    make_visit(before, dt.datetime(2023, 12, 31, 12, 0))
    make_visit(after, dt.datetime(2025, 1, 1, 12, 0))
    period = {"from": "2024-01-01", "to": "2024-12-31"}
    assert selected(visited=period) == {first.external_id, last.external_id}
    assert selected(not_visited=period) == {before.external_id, after.external_id}


def test_cancelled_and_no_show_visits_never_count(make_patient: Any, make_visit: Any) -> None:
    cancelled, no_show = make_patient(), make_patient()
    make_visit(cancelled, dt.datetime(2024, 6, 1, 10, 0), status="cancelled")
    make_visit(no_show, dt.datetime(2024, 6, 1, 10, 0), status="no_show")
    period = {"from": "2024-01-01", "to": "2024-12-31"}
    assert selected(visited=period) == set()
    assert selected(not_visited=period) == {cancelled.external_id, no_show.external_id}


def test_visit_at_2330_clinic_time_is_that_local_day(make_patient: Any, make_visit: Any) -> None:
    # 23:30 in Tallinn on 31 December is 21:30 UTC (winter): the same date. In summer 00:30 local on 1 July is
    # 21:30 UTC on 30 June: the clinic-local date (1 July) is what counts.
    late = make_patient()
    early = make_patient()
    make_visit(late, dt.datetime(2024, 12, 31, 23, 30))
    make_visit(early, dt.datetime(2024, 7, 1, 0, 30))
    assert selected(visited={"from": "2024-12-31", "to": "2024-12-31"}) == {late.external_id}
    assert selected(visited={"from": "2025-01-01", "to": "2025-01-01"}) == set()
    assert selected(visited={"from": "2024-07-01", "to": "2024-07-01"}) == {early.external_id}
    assert selected(visited={"from": "2024-06-30", "to": "2024-06-30"}) == set()


def test_only_visits_at_chosen_clinics_count(make_patient: Any, make_visit: Any, other_clinic: Any) -> None:
    p = make_patient()
    make_visit(p, dt.datetime(2024, 5, 5, 10, 0), clinic=other_clinic)
    period = {"from": "2024-01-01", "to": "2024-12-31"}
    assert selected(visited=period) == {p.external_id}  # no clinics chosen: visits anywhere count
    assert selected(clinics=["TLN"], visited=period) == set()  # chosen: only visits at TLN count
    assert selected(clinics=["TLN"], not_visited=period) == {p.external_id}


def test_without_chosen_clinics_only_visits_in_the_users_clinics_count(make_patient: Any, make_visit: Any,
                                                                      other_clinic: Any) -> None:
    # A user of TLN only: a visit at TRT (outside their scope) must not make a TLN patient "visited", nor stop
    # them being "not visited". The operator, who reaches every clinic, counts visits anywhere.
    p = make_patient()
    make_visit(p, dt.datetime(2024, 5, 5, 10, 0), clinic=other_clinic)
    tallinn = Scope(actor="reception", clinic_ids=frozenset({p.clinic_id}))
    period = {"from": "2024-01-01", "to": "2024-12-31"}
    assert selected(tallinn, visited=period) == set()
    assert selected(tallinn, not_visited=period) == {p.external_id}
    assert selected(visited=period) == {p.external_id}
    assert selected(not_visited=period) == set()


def test_patients_not_selected_are_counted_by_status(make_patient: Any, other_clinic: Any) -> None:
    make_patient()
    make_patient(status="archived")
    make_patient(status="archived")
    make_patient(status="deceased")
    make_patient(status="deceased", country="FI")  # does not match the filter at all
    make_patient(status="archived", clinic=other_clinic)  # outside the chosen clinics
    resolved = audience_resolve(audience=AudienceFilter.from_dict({"countries": ["EE"], "clinics": ["TLN"],
                                                                   "reference_date": REF}),
                                scope=Scope.operator())
    assert audience_not_selected(resolved) == {"archived": 2, "deceased": 1}


def test_recall_visited_then_not_since(make_patient: Any, make_visit: Any) -> None:
    due, recent, never = make_patient(), make_patient(), make_patient()
    make_visit(due, dt.datetime(2024, 3, 3, 9, 0))
    make_visit(recent, dt.datetime(2024, 3, 3, 9, 0))
    make_visit(recent, dt.datetime(2026, 1, 10, 9, 0))
    got = selected(visited={"from": "2024-01-01", "to": "2024-12-31"},
                   not_visited={"from": "2025-01-01", "to": REF})
    assert got == {due.external_id}
    assert never.external_id not in got


@pytest.mark.parametrize(("audience", "message"), [
    ({"age": {"min": 70, "max": 20}}, "min 70 is greater than max 20"),
    ({"age": {"min": -1}}, "audience.age.min"),
    ({"visited": {"from": "2024-02-30", "to": "2024-03-01"}}, "audience.visited.from"),
    ({"visited": {"from": "2024-05-01", "to": "2024-03-01"}}, "is after"),
    ({"countries": ["XX"]}, "unknown country code 'XX'"),
    ({"reference_date": "25.11.2026"}, "audience.reference_date"),
    ({"clinic": ["TLN"]}, "unknown key(s) clinic"),
])
def test_bad_filters_are_named(audience: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as err:
        AudienceFilter.from_dict(audience)
    assert message in str(err.value)
