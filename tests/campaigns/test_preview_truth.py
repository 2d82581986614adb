"""The preview's numbers are what the gateways will be asked to send, and it says what will cost or look wrong:
clinics without a sender, patients not selected, empty merge fields, UCS-2 characters, cheaper punctuation, cost."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from masspost.campaigns.selectors import campaign_counts, campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.delivery.models import OutboxMessage
from masspost.errors import MasspostError
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
OPERATOR = Scope.operator()
BOTH = {"et": {"sms": "Tere {first_name}!", "email_subject": "Tere", "email_body": "Tere {first_name}!"}}


def preview(**overrides: Any) -> dict[str, Any]:
    return campaign_preview(spec=CampaignSpec.from_dict(campaign(**overrides)), scope=OPERATOR).to_dict()


# --- point 6: no sender -------------------------------------------------------------------------------------

def test_clinic_without_an_email_address_sends_no_email(make_patient: Any, clinic: Clinic,
                                                        other_clinic: Clinic) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(email="")
    make_patient()
    make_patient()
    make_patient(clinic=other_clinic)
    make_patient(email="", email_normalized="")  # their own reason comes first
    data = preview(channel="both", content=BOTH)
    assert data["excluded"]["email"]["no_sender"] == 2
    assert data["excluded"]["email"]["no_address"] == 1
    assert data["excluded"]["sms"]["no_sender"] == 0
    assert data["recipients"]["et"] == {"sms": 4, "email": 1}
    assert data["no_sender_clinics"]["email"] == {"TLN": {"problem": "the clinic has no e-mail address",
                                                          "messages": 2}}
    assert data["no_sender_clinics"]["sms"] == {}
    # The send writes exactly the previewed messages: none from TLN by e-mail.
    outcome = campaign_send(spec=CampaignSpec.from_dict(campaign(channel="both", content=BOTH)), scope=OPERATOR,
                            token=data["token"])
    rows = OutboxMessage.objects.filter(campaign_id=outcome.campaign_id)
    assert rows.filter(channel="email").count() == 1 and rows.filter(channel="sms").count() == 4
    assert set(rows.filter(channel="email").values_list("sender", flat=True)) == {"tartu@hammas.example"}


@pytest.mark.parametrize(("fields", "problem"), [
    ({"email": "reception at hammas"}, "sender is not a valid address"),
    ({"email": "vastuvõtt@hammas.example"}, "non-ASCII local part"),
    ({"name": "Hammas\nTallinn"}, "sender contains a line break"),  # the From's display name
])
def test_clinic_whose_email_cannot_be_a_from_address_sends_no_email(make_patient: Any, clinic: Clinic,
                                                                     fields: dict[str, str], problem: str) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(**fields)
    make_patient()
    data = preview(channel="email", content=BOTH)
    assert data["excluded"]["email"]["no_sender"] == 1
    assert problem in data["no_sender_clinics"]["email"]["TLN"]["problem"]


@pytest.mark.parametrize(("sender", "excluded"), [
    ("HammasTLN", 0),
    ("", 0),  # SMPP's empty source address: the SMSC's own default sender
    ("+3726001000", 0),
    ("Hammas Tallinn", 1),  # an alphanumeric sender has at most 11 characters
    ("Hämmas", 1),  # and only ASCII
])
def test_sms_sender_follows_the_gateways_rule(make_patient: Any, clinic: Clinic, sender: str,
                                              excluded: int) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(sms_sender=sender)
    make_patient()
    data = preview()
    assert data["excluded"]["sms"]["no_sender"] == excluded
    assert ("TLN" in data["no_sender_clinics"]["sms"]) == bool(excluded)


def test_no_sender_agrees_between_counts_and_preview(make_patient: Any, clinic: Clinic,
                                                     other_clinic: Clinic) -> None:
    Clinic.objects.filter(pk=clinic.pk).update(email="", sms_sender="Hammas Tallinn")
    for _ in range(3):
        make_patient()
    make_patient(clinic=other_clinic)
    make_patient(accepts_email=False)
    spec = CampaignSpec.from_dict(campaign(channel="both", content=BOTH))
    full = campaign_preview(spec=spec, scope=OPERATOR).to_dict()
    counts = campaign_counts(spec=spec, scope=OPERATOR)
    assert counts["excluded"] == full["excluded"]
    assert full["excluded"]["sms"]["no_sender"] == 4 and full["excluded"]["email"]["no_sender"] == 3
    assert counts["recipients"] == {"et": {"sms": 1, "email": 1}}


# --- point 7: the numbers add up, and warnings --------------------------------------------------------------

def test_archived_and_deceased_patients_are_shown_as_not_selected(make_patient: Any) -> None:
    make_patient()
    make_patient(status="archived")
    make_patient(status="deceased")
    make_patient(status="deceased")
    make_patient(status="deceased", country="FI")  # does not match the filter
    spec = CampaignSpec.from_dict(campaign(audience={"countries": ["EE"], "reference_date": "2026-11-25"}))
    data = campaign_preview(spec=spec, scope=OPERATOR).to_dict()
    assert data["audience"]["patients"] == 1
    assert data["audience"]["not_selected"] == {"archived": 1, "deceased": 2}
    assert data["audience"]["matched"] == 4
    assert campaign_counts(spec=spec, scope=OPERATOR)["audience"] == {
        "patients": 1, "matched": 4, "not_selected": {"archived": 1, "deceased": 2}, "languages": {"et": 1}}


def test_recipients_whose_merge_fields_render_empty_are_a_warning(make_patient: Any, other_clinic: Clinic) -> None:
    Clinic.objects.filter(pk=other_clinic.pk).update(phone="")
    nameless = make_patient(first_name="")
    blank = make_patient(first_name="   ")
    make_patient()
    trt = make_patient(clinic=other_clinic)
    content = {"et": {"sms": "Tere {first_name}! Helista {clinic_phone}",
                      "email_subject": "Tere", "email_body": "Tere {last_name}"}}
    data = preview(channel="both", content=content)
    sms = data["empty_merge_fields"]["sms"]["et"]
    assert sms["recipients"] == 3
    assert sms["fields"] == {"first_name": 2, "clinic_phone": 1}
    assert sorted(sms["patients"]) == sorted([nameless.external_id, blank.external_id, trt.external_id])
    assert data["empty_merge_fields"]["email"] == {}  # every last name is there
    # The full list (--csv-dir) has them per recipient.
    listed: list[Any] = []
    campaign_preview(spec=CampaignSpec.from_dict(campaign(channel="both", content=content)), scope=OPERATOR,
                     on_recipient=listed.append)
    assert {(r.patient_ref, r.channel): r.empty_fields for r in listed if r.empty_fields} == {
        (nameless.external_id, "sms"): ("first_name",), (blank.external_id, "sms"): ("first_name",),
        (trt.external_id, "sms"): ("clinic_phone",)}


def test_empty_merge_field_list_is_capped(make_patient: Any) -> None:
    for _ in range(25):
        make_patient(first_name="")
    data = preview()
    warning = data["empty_merge_fields"]["sms"]["et"]
    assert warning["recipients"] == 25 and len(warning["patients"]) == 20


def test_characters_that_force_ucs2_are_named_per_language(make_patient: Any) -> None:
    make_patient(first_name="Tõnu")
    make_patient(first_name="Mari")
    make_patient(language="en", first_name="Ann")
    data = preview(content={"et": {"sms": "Tere {first_name}! Aeg on kell 14:00 — tule!"},
                            "en": {"sms": "Hello {first_name}!"}})
    chars = {c["char"]: c for c in data["sms"]["et"]["ucs2_characters"]}
    assert set(chars) == {"—", "õ"}
    assert chars["—"] == {"char": "—", "code": "U+2014", "name": "EM DASH", "source": "text"}
    assert chars["õ"]["source"] == "merge values"
    assert data["sms"]["en"]["ucs2_characters"] == []


def test_cheaper_punctuation_is_suggested_when_it_saves_parts(make_patient: Any) -> None:
    make_patient(first_name="Mari")
    make_patient(first_name="Jaan")
    make_patient(first_name="Tõnu")  # UCS-2 anyway: nothing saved for them
    text = ("Tere {first_name}! Teie aeg hambaarsti juures on homme kell 14:00. Kui aeg ei sobi, helistage meile "
            "– aitäh!")
    data = preview(content={"et": {"sms": text}})
    et = data["sms"]["et"]
    assert et["encodings"] == {"UCS-2": 3}
    suggestion = et["suggestion"]
    assert suggestion["replacements"] == [{"position": text.index("–") + 1, "original": "–", "replacement": "-"}]
    assert suggestion["text"] == text.replace("–", "-")
    assert (et["parts_total"], suggestion["parts_total"], suggestion["parts_saved"]) == (6, 4, 2)


def test_no_suggestion_when_it_saves_nothing(make_patient: Any) -> None:
    make_patient(language="ru")
    data = preview(content={"ru": {"sms": "Привет, {first_name} – до встречи!"}})
    assert data["sms"]["ru"]["suggestion"] is None


def test_cost_per_language_and_in_total(make_patient: Any) -> None:
    make_patient(first_name="Tõnu")
    make_patient(language="ru")
    make_patient(language="ru")
    content = {"et": {"sms": "x" * 150 + " {first_name}"}, "ru": {"sms": "Привет"}}
    with override_settings(MASSPOST_SMS_PART_PRICE="0.065 EUR"):
        data = preview(content=content)
    assert data["sms"]["et"]["parts_total"] == 3 and data["sms"]["ru"]["parts_total"] == 2
    assert data["sms_cost"] == {"currency": "EUR", "part_price": "0.065", "total": "0.325",
                                "per_language": {"et": "0.195", "ru": "0.130"}}
    assert data["sms"]["et"]["cost"] == "0.195"


def test_no_price_configured_shows_no_cost(make_patient: Any) -> None:
    make_patient()
    with override_settings(MASSPOST_SMS_PART_PRICE=""):
        data = preview()
    assert data["sms_cost"] is None and data["sms"]["et"]["cost"] is None


@pytest.mark.parametrize("price", ["0,065 EUR", "0.065", "EUR 0.065", "0.065 XYZ", "-1 EUR", "NaN EUR",
                                   "Infinity EUR", "0.065 EUR EUR"])
def test_a_bad_price_is_a_configuration_error(make_patient: Any, price: str) -> None:
    make_patient()
    with override_settings(MASSPOST_SMS_PART_PRICE=price), pytest.raises(MasspostError) as err:
        preview()
    assert "MASSPOST_SMS_PART_PRICE" in str(err.value) and "0.065 EUR" in str(err.value)
