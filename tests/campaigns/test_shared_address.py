"""`shared_address` (issue 19): when a campaign sends one message per address (`one_per_address`, on by default for
marketing), patients who would get a channel's message at the same phone or e-mail address get one between them —
the household contact's, else the oldest's (an unknown birth date counts as youngest), ties by the lowest external
id — and the others are left out naming who got it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from masspost.campaigns.downloads import preview_list_csv
from masspost.campaigns.selectors import campaign_counts, campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.campaigns.sweep import Exclusion
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from tests.campaigns.test_recently_messaged import sent_before
from tests.conftest import campaign

pytestmark = pytest.mark.django_db

PHONE = {"phone": "5555 1234", "phone_e164": "+37255551234"}
EMAIL = {"email": "home@example.com", "email_normalized": "home@example.com"}
BOTH = {"et": {"sms": "Tere {first_name}!", "email_subject": "Tere", "email_body": "Tere {first_name}!"}}


def preview(**fields: Any) -> tuple[dict[str, Any], list[Exclusion]]:
    left_out: list[Exclusion] = []
    data = campaign_preview(spec=CampaignSpec.from_dict(campaign(**fields)), scope=Scope.operator(),
                            on_excluded=left_out.append).to_dict()
    return data, left_out


def shared(left_out: list[Exclusion]) -> dict[str, str]:
    return {e.patient_ref: e.got_it for e in left_out if e.reason == "shared_address"}


def family(make_patient: Any, **extra: Any) -> tuple[Any, Any, Any]:
    parent = make_patient(birth_date=dt.date(1975, 3, 1), **PHONE, **extra)
    older = make_patient(birth_date=dt.date(2010, 6, 1), **PHONE, **extra)
    younger = make_patient(birth_date=dt.date(2014, 9, 1), **PHONE, **extra)
    return parent, older, younger


def test_a_parent_and_two_children_on_one_phone_get_one_sms_the_parents(make_patient: Any) -> None:
    parent, older, younger = family(make_patient)
    make_patient()  # a phone of their own
    data, left_out = preview(purpose="marketing")
    assert data["recipients"]["et"]["sms"] == 2
    assert data["excluded"]["sms"]["shared_address"] == 2
    assert shared(left_out) == {older.external_id: parent.external_id, younger.external_id: parent.external_id}


def test_the_household_contact_gets_it_whatever_their_age(make_patient: Any) -> None:
    parent, older, younger = family(make_patient)
    younger.household_contact = True
    younger.save()
    _, left_out = preview(purpose="marketing")
    assert shared(left_out) == {parent.external_id: younger.external_id, older.external_id: younger.external_id}


def test_an_unknown_birth_date_counts_as_youngest_and_ties_go_to_the_lowest_external_id(make_patient: Any) -> None:
    unknown = make_patient(external_id="A1", birth_date=None, **PHONE)
    twin_b = make_patient(external_id="B2", birth_date=dt.date(2000, 1, 1), **PHONE)
    twin_a = make_patient(external_id="B1", birth_date=dt.date(2000, 1, 1), **PHONE)
    _, left_out = preview(purpose="marketing")
    assert shared(left_out) == {unknown.external_id: twin_a.external_id, twin_b.external_id: twin_a.external_id}


def test_external_ids_of_digits_tie_by_number_before_any_other_id(make_patient: Any, clinic: Any) -> None:
    born = {"birth_date": dt.date(2000, 1, 1), **PHONE}
    ten, nine, letters = make_patient(external_id="10", **born), make_patient(external_id="9", **born), \
        make_patient(external_id="0A", **born)  # text order would give it to "0A", then "10"
    _, left_out = preview(purpose="marketing")
    assert shared(left_out) == {ten.external_id: nine.external_id, letters.external_id: nine.external_id}
    spec = CampaignSpec.from_dict(campaign(purpose="marketing"))
    assert campaign_counts(spec=spec, scope=Scope.operator())["excluded"]["sms"]["shared_address"] == 2
    outcome = campaign_send(spec=spec, scope=Scope.operator())
    assert list(OutboxMessage.objects.filter(campaign_id=outcome.campaign_id).values_list("patient_ref", flat=True)
                ) == [nine.external_id]


def test_patients_sharing_an_email_address_get_one_email(make_patient: Any) -> None:
    first = make_patient(birth_date=dt.date(1960, 1, 1), **EMAIL)
    second = make_patient(birth_date=dt.date(1990, 1, 1), **EMAIL)
    data, left_out = preview(purpose="marketing", channel="both", content=BOTH)
    assert data["recipients"]["et"] == {"sms": 2, "email": 1}  # their phones are their own
    assert data["excluded"]["email"]["shared_address"] == 1 and data["excluded"]["sms"]["shared_address"] == 0
    assert [(e.patient_ref, e.channel, e.got_it) for e in left_out] == [
        (second.external_id, "email", first.external_id)]


def test_one_per_address_false_sends_to_everyone_and_service_does_by_default(make_patient: Any) -> None:
    family(make_patient)
    data, _ = preview(purpose="marketing", one_per_address=False)
    assert data["recipients"]["et"]["sms"] == 3 and data["excluded"]["sms"]["shared_address"] == 0
    data, _ = preview(purpose="service")
    assert data["recipients"]["et"]["sms"] == 3
    data, _ = preview(purpose="service", one_per_address=True)
    assert data["recipients"]["et"]["sms"] == 1 and data["excluded"]["sms"]["shared_address"] == 2


def test_a_sharer_left_out_for_their_own_reason_takes_nothing_from_the_others(make_patient: Any) -> None:
    parent, older, younger = family(make_patient)
    parent.accepts_sms = False
    parent.save()
    data, left_out = preview(purpose="marketing")
    assert data["excluded"]["sms"]["opted_out"] == 1
    assert data["recipients"]["et"]["sms"] == 1
    assert shared(left_out) == {younger.external_id: older.external_id}


def test_a_sharer_messaged_lately_leaves_the_message_to_the_next(make_patient: Any) -> None:
    parent, older, younger = family(make_patient)
    sent_before([parent])
    data, left_out = preview(purpose="marketing")
    assert data["excluded"]["sms"]["recently_messaged"] == 1
    assert shared(left_out) == {younger.external_id: older.external_id}


def test_the_excluded_list_names_who_got_it(make_patient: Any) -> None:
    parent, older, _ = family(make_patient)
    out = io.BytesIO()
    spec = CampaignSpec.from_dict(campaign(purpose="marketing"))
    assert preview_list_csv(spec=spec, scope=Scope.operator(), kind="excluded", out=out, reason="shared_address") == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    assert {r["external_id"]: (r["reason"], r["got_it"]) for r in rows}[older.external_id] == (
        "shared_address", parent.external_id)


def test_who_gets_it_is_part_of_the_token(make_patient: Any) -> None:
    parent, _, younger = family(make_patient)
    before, _ = preview(purpose="marketing")
    younger.household_contact = True
    younger.save()
    after, _ = preview(purpose="marketing")
    assert before["messages_total"] == after["messages_total"] == 1
    assert before["token"] != after["token"]


def test_the_live_count_agrees_with_the_preview_under_both_rules(make_patient: Any, clinic: Any,
                                                                 other_clinic: Any) -> None:
    parent, older, _ = family(make_patient)
    family(make_patient, language="ru")
    lately = make_patient()
    no_sender_lately = make_patient(clinic=other_clinic)
    other_clinic.sms_sender = "Hammas Tartu!"  # not an SMPP sender id
    other_clinic.save()
    sent_before([lately, older, no_sender_lately], clinics=("TLN", "TRT"))
    spec = CampaignSpec.from_dict(campaign(purpose="marketing"))
    counts = campaign_counts(spec=spec, scope=Scope.operator())  # the live count applies both rules itself
    data, _ = preview(purpose="marketing")
    # six on one phone, one of them messaged lately: one gets it, four share
    assert data["excluded"]["sms"]["recently_messaged"] == 3 and data["excluded"]["sms"]["shared_address"] == 4
    assert counts["excluded"] == data["excluded"]
    def given(recipients: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        return {lang: n for lang, n in recipients.items() if any(n.values())}  # the preview lists every text's

    assert given(counts["recipients"]) == given(data["recipients"]) == {"et": {"sms": 1, "email": 0}}
