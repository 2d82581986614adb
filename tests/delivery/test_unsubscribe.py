"""The unsubscribe link's key (delivery.optout): what it names, when it is refused, and unsubscribing through it —
an event in the ledger with source "unsubscribe", the button's words and the campaign, written once."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone, translation

from masspost.campaigns.models import Campaign
from masspost.clinic.models import Clinic, ConsentEvent, Patient
from masspost.delivery.models import OptOutLink
from masspost.delivery.optout import MAX_AGE, button_words, optout_key, optout_target, unsubscribe
from masspost.errors import NotFoundError

pytestmark = pytest.mark.django_db
_tokens = itertools.count(1)
REFUSED = "This link is not valid (any more)."


def make_campaign(*, purpose: str = "marketing", channel: str = "email", **spec: Any) -> Campaign:
    content = {"et": {"sms": "", "email_subject": "Pakkumine: {clinic_name} ootab, {first_name}",
                      "email_body": "Tere"},
               "en": {"sms": "", "email_subject": "An offer from {clinic_name}", "email_body": "Hello"}}
    return Campaign.objects.create(
        name="Autumn offer", purpose=purpose, channel=channel, spec={"content": content, **spec}, audience={},
        token=f"t{next(_tokens)}", deadline=timezone.now() + dt.timedelta(days=3), created_by="mari")


def make_link(patient: Patient, campaign: Campaign, *, channel: str = "email", marketing: bool = True) -> str:
    key = optout_key(campaign_id=campaign.id, patient_id=patient.id, channel=channel)
    OptOutLink.objects.create(key=key, campaign=campaign, patient=patient, channel=channel, marketing=marketing)
    return key


@pytest.fixture
def link(make_patient: Callable[..., Patient]) -> tuple[Patient, Campaign, str]:
    patient = make_patient(language="")  # the clinic's default: Estonian
    campaign = make_campaign()
    return patient, campaign, make_link(patient, campaign)


def test_a_key_names_its_patient_channel_and_campaign_and_nothing_personal(
        link: tuple[Patient, Campaign, str], clinic: Clinic) -> None:
    patient, campaign, key = link
    target = optout_target(key)
    assert (target.patient_id, target.patient_ref, target.channel, target.marketing) == (
        patient.id, patient.external_id, "email", True)
    assert (target.campaign_id, target.campaign_name, target.clinic_name) == (campaign.id, "Autumn offer",
                                                                            "Hammas Tallinn")
    assert target.language == "et" and target.page_language == "et"  # none of their own: the clinic's default
    # The subject as the patient's language has it, the clinic merged, the patient's name not on the page.
    assert target.subject == "Pakkumine: Hammas Tallinn ootab, …"
    assert not target.offers_stopped and not target.all_stopped


def test_a_patient_language_without_a_page_reads_english(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(language="fi")
    target = optout_target(make_link(patient, make_campaign()))
    assert (target.language, target.page_language) == ("fi", "en")


@pytest.mark.parametrize("key", ["", "x" * 12, "abc", "a" * 13, "ÄÄÄÄÄÄÄÄÄÄÄÄ", "../../admin/"])
def test_an_unknown_or_malformed_key_is_refused(key: str) -> None:
    with pytest.raises(NotFoundError) as refused:
        optout_target(key)
    assert str(refused.value) == REFUSED


def test_a_key_whose_campaign_is_deleted_is_refused(link: tuple[Patient, Campaign, str]) -> None:
    _patient, campaign, key = link
    campaign.delete()
    with pytest.raises(NotFoundError) as refused:
        optout_target(key)
    assert str(refused.value) == REFUSED


def test_a_key_older_than_400_days_is_refused(link: tuple[Patient, Campaign, str]) -> None:
    _patient, _campaign, key = link
    OptOutLink.objects.filter(key=key).update(created_at=timezone.now() - MAX_AGE + dt.timedelta(hours=1))
    assert optout_target(key).campaign_id == _campaign.id  # 399 days and 23 hours: still good
    OptOutLink.objects.filter(key=key).update(created_at=timezone.now() - MAX_AGE - dt.timedelta(hours=1))
    with pytest.raises(NotFoundError) as refused:
        optout_target(key)
    assert str(refused.value) == REFUSED


def test_a_link_keeps_working_after_the_secret_key_is_rotated(settings: Any,
                                                              make_patient: Callable[..., Patient]) -> None:
    """MASSPOST_SECRET_KEY changed after a leak: the links already sent still unsubscribe (the stored row is the
    credential), and new messages get keys under the new secret."""
    settings.SECRET_KEY = "test-secret-a-" + "a" * 40
    patient, campaign = make_patient(), make_campaign()
    key = make_link(patient, campaign)
    settings.SECRET_KEY = "test-secret-b-" + "b" * 40
    assert optout_key(campaign_id=campaign.id, patient_id=patient.id, channel="email") != key

    assert optout_target(key).patient_id == patient.id
    assert unsubscribe(key=key, what="all").changed
    patient.refresh_from_db()
    assert not patient.accepts_email


def test_a_key_only_ever_acts_on_its_own_patient(make_patient: Callable[..., Patient]) -> None:
    campaign = make_campaign()
    mine, other = make_patient(), make_patient()
    key = make_link(mine, campaign)
    make_link(other, campaign)

    unsubscribe(key=key, what="all")

    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.accepts_email, other.accepts_email, other.marketing_email) == (False, True, True)
    assert list(ConsentEvent.objects.filter(source="unsubscribe").values_list("patient_id", flat=True)) == [mine.id]


def test_unsubscribing_from_offers_keeps_service_email(link: tuple[Patient, Campaign, str]) -> None:
    patient, campaign, key = link

    done = unsubscribe(key=key, what="marketing")

    assert done.changed and done.what == "marketing"
    patient.refresh_from_db()
    assert (patient.accepts_email, patient.marketing_email, patient.accepts_sms, patient.marketing_sms) == (
        True, False, True, True)
    [event] = ConsentEvent.objects.filter(patient=patient, source="unsubscribe")
    assert (event.channel, event.purpose, event.accepts, event.campaign_id) == ("email", "marketing", False,
                                                                                campaign.id)
    assert event.wording == "Loobu pakkumistest"  # the button as the patient saw it: in Estonian
    target = optout_target(key)
    assert target.offers_stopped and not target.all_stopped


def test_unsubscribing_from_all_email_stops_the_channel(link: tuple[Patient, Campaign, str]) -> None:
    patient, campaign, key = link

    unsubscribe(key=key, what="all")

    patient.refresh_from_db()
    assert (patient.accepts_email, patient.accepts_sms) == (False, True)
    [event] = ConsentEvent.objects.filter(patient=patient, source="unsubscribe")
    assert (event.channel, event.purpose, event.accepts, event.campaign_id, event.wording) == (
        "email", "service", False, campaign.id, "Loobu kõigist e-kirjadest")
    target = optout_target(key)
    assert target.offers_stopped and target.all_stopped  # offers go nowhere without the channel


def test_an_sms_key_stops_sms_in_the_patients_language(make_patient: Callable[..., Patient]) -> None:
    patient = make_patient(language="ru")
    campaign = make_campaign(channel="sms")
    key = make_link(patient, campaign, channel="sms")

    unsubscribe(key=key, what="marketing")

    patient.refresh_from_db()
    assert (patient.marketing_sms, patient.accepts_sms, patient.marketing_email) == (False, True, True)
    [event] = ConsentEvent.objects.filter(patient=patient, source="unsubscribe")
    assert (event.channel, event.purpose, event.wording) == ("sms", "marketing", "Не присылать предложения по SMS")
    assert optout_target(key).subject == ""


def test_unsubscribing_twice_writes_one_event(link: tuple[Patient, Campaign, str]) -> None:
    patient, _campaign, key = link

    first = unsubscribe(key=key, what="marketing")
    again = unsubscribe(key=key, what="marketing")

    assert first.changed and not again.changed
    assert ConsentEvent.objects.filter(patient=patient, source="unsubscribe").count() == 1


def test_the_button_words_are_the_pages() -> None:
    assert button_words(channel="email", what="marketing", language="en") == "Unsubscribe from offers"
    assert button_words(channel="sms", what="all", language="et") == "Loobu kõigist SMS-idest"
    assert button_words(channel="email", what="all", language="de") == "Unsubscribe from all e-mail"
    assert translation.get_language() == "en"  # the words did not change the request's language


def test_what_must_be_marketing_or_all(link: tuple[Patient, Campaign, str]) -> None:
    with pytest.raises(ValueError):
        unsubscribe(key=link[2], what="everything")
    assert not ConsentEvent.objects.filter(source="unsubscribe").exists()
