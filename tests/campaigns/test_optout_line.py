"""The opt-out every marketing message carries (issue 20, 4): the preview counts it in the characters, parts and
cost and shows it with the sample key; the send writes it with the patient's own key, under the preview's token."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from masspost.campaigns import test_send as test_send_module
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic
from masspost.clinic.scope import Scope
from masspost.delivery.models import OptOutLink, OutboxMessage
from masspost.delivery.optout import SAMPLE_KEY, optout_key
from masspost.errors import StaleTokenError
from masspost.sms import measure
from masspost.staff.models import StaffMember
from masspost.staff.selectors import staff_scope
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
OPERATOR = Scope.operator()
PUBLIC = "https://mp.example.ee"
TEXT_155 = "Suvine pakkumine: " + "a" * 137  # 155 GSM-7 characters: one part alone


def spec(**overrides: Any) -> CampaignSpec:
    return CampaignSpec.from_dict(campaign(**overrides))


@pytest.fixture
def public_url(settings: Any) -> str:
    settings.MASSPOST_PUBLIC_URL = PUBLIC
    return PUBLIC


@pytest.fixture
def no_public_url(settings: Any) -> None:
    settings.MASSPOST_PUBLIC_URL = ""


def _rows(campaign_id: int) -> dict[int, OutboxMessage]:
    return {r.patient_id: r for r in OutboxMessage.objects.filter(campaign_id=campaign_id)}


def test_marketing_sms_line_with_link_counts_in_parts_and_the_send_carries_the_real_key(
        public_url: str, make_patient: Any, settings: Any) -> None:
    settings.MASSPOST_SMS_PART_PRICE = "0.05 EUR"
    patient = make_patient(language="en")
    marketing = spec(purpose="marketing", content={"en": {"sms": TEXT_155}})
    assert measure(TEXT_155)[2] == 1
    preview = campaign_preview(spec=marketing, scope=OPERATOR)
    shown = preview.to_dict()
    sample = shown["sms"]["en"]["sample"]
    assert sample["text"] == f"{TEXT_155}\nOpt out: {PUBLIC}/u/{SAMPLE_KEY}"
    assert (sample["encoding"], sample["parts"]) == ("GSM-7", 2)
    assert shown["sms_parts_total"] == 2 and shown["sms_cost"]["total"] == "0.10"
    outcome = campaign_send(spec=marketing, scope=OPERATOR, token=str(preview.token))  # the token holds
    row = _rows(outcome.campaign_id)[patient.id]
    key = optout_key(campaign_id=outcome.campaign_id, patient_id=patient.id, channel="sms")
    assert key != SAMPLE_KEY and len(key) == len(SAMPLE_KEY)
    assert row.body == f"{TEXT_155}\nOpt out: {PUBLIC}/u/{key}"
    assert (row.encoding, row.parts, row.marketing) == ("GSM-7", 2, True)
    link = OptOutLink.objects.get(key=key)
    assert (link.patient_id, link.campaign_id, link.channel, link.marketing) == (
        patient.id, outcome.campaign_id, "sms", True)


def test_ucs2_text_stays_ucs2_and_the_line_is_in_its_parts(public_url: str, make_patient: Any) -> None:
    make_patient(language="et")
    text = "Tõnu, " + "b" * 54  # 60 characters, UCS-2 (õ): one part of 70 alone
    preview = campaign_preview(spec=spec(purpose="marketing", content={"et": {"sms": text}}), scope=OPERATOR)
    sample = preview.to_dict()["sms"]["et"]["sample"]
    assert sample["text"] == f"{text}\nLoobu: {PUBLIC}/u/{SAMPLE_KEY}"
    assert (sample["encoding"], sample["parts"]) == ("UCS-2", 2)
    assert measure(sample["text"])[::2] == ("UCS-2", 2)


def test_without_public_url_the_stop_word_and_the_clinics_reply_number(
        no_public_url: None, make_patient: Any, clinic: Clinic) -> None:
    clinic.sms_reply_number = "+3725551234"
    clinic.save()
    et, ru = make_patient(language="et"), make_patient(language="ru")
    marketing = spec(purpose="marketing")
    preview = campaign_preview(spec=marketing, scope=OPERATOR)
    outcome = campaign_send(spec=marketing, scope=OPERATOR, token=str(preview.token))
    rows = _rows(outcome.campaign_id)
    assert rows[et.id].body == "Tere Mari!\nLoobumiseks vastake STOP numbrile +3725551234"
    assert rows[ru.id].body == "Привет, Mari!\nДля отказа ответьте STOP на номер +3725551234"
    assert not OptOutLink.objects.exists()  # no link, no key
    assert preview.result.optout == {"sms": "stop_word"}


def test_a_changed_reply_number_makes_the_preview_stale(no_public_url: None, make_patient: Any,
                                                        clinic: Clinic) -> None:
    make_patient(language="en")
    marketing = spec(purpose="marketing")
    token = str(campaign_preview(spec=marketing, scope=OPERATOR).token)
    clinic.sms_reply_number = "+3725551234"
    clinic.save()
    with pytest.raises(StaleTokenError):
        campaign_send(spec=marketing, scope=OPERATOR, token=token)


def test_setting_the_public_url_after_the_preview_makes_it_stale(settings: Any, make_patient: Any) -> None:
    settings.MASSPOST_PUBLIC_URL = ""
    make_patient(language="en")
    marketing = spec(purpose="marketing")
    token = str(campaign_preview(spec=marketing, scope=OPERATOR).token)
    settings.MASSPOST_PUBLIC_URL = PUBLIC
    with pytest.raises(StaleTokenError):
        campaign_send(spec=marketing, scope=OPERATOR, token=token)


@pytest.mark.parametrize("url", ["", PUBLIC])
def test_service_sms_has_no_line(settings: Any, make_patient: Any, url: str) -> None:
    settings.MASSPOST_PUBLIC_URL = url
    patient = make_patient(language="en")
    preview = campaign_preview(spec=spec(), scope=OPERATOR)
    assert preview.to_dict()["sms"]["en"]["sample"]["text"] == "Hello Mari!"
    outcome = campaign_send(spec=spec(), scope=OPERATOR, token=str(preview.token))
    row = _rows(outcome.campaign_id)[patient.id]
    assert (row.body, row.marketing) == ("Hello Mari!", False)
    assert not OptOutLink.objects.exists()


def _email(purpose: str, body: str) -> CampaignSpec:
    return spec(purpose=purpose, channel="email", content={"en": {"email_subject": "News", "email_body": body}})


def test_service_email_gets_the_preferences_link_only_with_a_public_url(settings: Any, make_patient: Any) -> None:
    patient = make_patient(language="en")
    settings.MASSPOST_PUBLIC_URL = ""
    preview = campaign_preview(spec=_email("service", "Hello {first_name}"), scope=OPERATOR)
    assert preview.to_dict()["email"]["en"]["sample"]["text"] == "Hello Mari"
    assert preview.result.optout == {} and preview.result.optout_warning == ""
    settings.MASSPOST_PUBLIC_URL = PUBLIC
    preview = campaign_preview(spec=_email("service", "Hello {first_name}"), scope=OPERATOR)
    assert preview.to_dict()["email"]["en"]["sample"]["text"] == (
        f"Hello Mari\n\n-- \nYour e-mail preferences: {PUBLIC}/u/{SAMPLE_KEY}")
    outcome = campaign_send(spec=_email("service", "Hello {first_name}"), scope=OPERATOR,
                            token=str(preview.token))
    key = optout_key(campaign_id=outcome.campaign_id, patient_id=patient.id, channel="email")
    assert _rows(outcome.campaign_id)[patient.id].body == (
        f"Hello Mari\n\n-- \nYour e-mail preferences: {PUBLIC}/u/{key}")
    assert OptOutLink.objects.get(key=key).marketing is False


def test_marketing_html_email_footer_with_the_real_key(public_url: str, make_patient: Any) -> None:
    # (The cleaning of HTML bodies keeps no <body> element: the footer ends the body. Before a </body>:
    # tests/content/test_optout.py.)
    patient = make_patient(language="ru", first_name="<Аня>")
    body = "<p>Привет, {first_name}!</p>"
    marketing = spec(purpose="marketing", channel="email",
                     content={"ru": {"email_subject": "Скидки", "email_body": body}})
    preview = campaign_preview(spec=marketing, scope=OPERATOR)
    footer = '<p style="font-size:small;color:#555"><a href="{url}">Отписаться от предложений</a></p>'
    assert preview.to_dict()["email"]["ru"]["sample"]["text"] == (
        "<p>Привет, &lt;Аня&gt;!</p>" + footer.format(url=f"{PUBLIC}/u/{SAMPLE_KEY}"))
    assert preview.result.optout == {"email": "link"} and preview.result.optout_warning == ""
    outcome = campaign_send(spec=marketing, scope=OPERATOR, token=str(preview.token))
    key = optout_key(campaign_id=outcome.campaign_id, patient_id=patient.id, channel="email")
    assert _rows(outcome.campaign_id)[patient.id].body == (
        "<p>Привет, &lt;Аня&gt;!</p>" + footer.format(url=f"{PUBLIC}/u/{key}"))


def test_marketing_email_without_public_url_asks_for_a_reply_and_the_preview_warns(
        no_public_url: None, make_patient: Any) -> None:
    patient = make_patient(language="en")
    preview = campaign_preview(spec=_email("marketing", "Offers for {first_name}"), scope=OPERATOR)
    assert preview.result.optout_warning == "no_public_url"
    assert preview.result.optout == {"email": "reply"}
    outcome = campaign_send(spec=_email("marketing", "Offers for {first_name}"), scope=OPERATOR,
                            token=str(preview.token))
    assert _rows(outcome.campaign_id)[patient.id].body == (
        "Offers for Mari\n\n-- \nTo stop offers by e-mail, reply to this message.")
    assert not OptOutLink.objects.exists()


def test_each_patient_has_their_own_key_and_the_fallback_language_reads_english(
        public_url: str, make_patient: Any) -> None:
    fi, fi2 = make_patient(language="fi"), make_patient(language="fi")
    marketing = spec(purpose="marketing", fallback_language="en", content={"en": {"sms": "Hi {first_name}"}})
    outcome = campaign_send(spec=marketing, scope=OPERATOR)
    rows = _rows(outcome.campaign_id)
    keys = [optout_key(campaign_id=outcome.campaign_id, patient_id=p.id, channel="sms") for p in (fi, fi2)]
    assert [rows[p.id].body for p in (fi, fi2)] == [f"Hi Mari\nOpt out: {PUBLIC}/u/{k}" for k in keys]
    assert keys[0] != keys[1]
    assert set(OptOutLink.objects.values_list("key", flat=True)) == set(keys)


def test_a_test_send_carries_the_line_with_the_sample_key(public_url: str, make_patient: Any, clinic: Clinic,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    make_patient(language="en")
    user = get_user_model().objects.create_user(username="mari", password="x")
    member = StaffMember.objects.create(user=user, role="sender", phone="+37255512345", email="mari@hammas.example")
    member.clinics.set([clinic])
    scope = staff_scope(user=user)
    assert scope is not None
    sent: list[Any] = []

    def send_direct(messages: list[Any]) -> list[Any]:
        sent.extend(messages)
        return [SimpleNamespace(ok=True, error="") for _ in messages]

    monkeypatch.setattr(test_send_module, "send_direct", send_direct)
    test_send_module.campaign_test_send(spec=spec(purpose="marketing", content={"en": {"sms": TEXT_155}}),
                                        scope=scope)
    assert [m.text for m in sent] == [f"TEST: {TEXT_155}\nOpt out: {PUBLIC}/u/{SAMPLE_KEY}"]
    assert sent[0].parts == 2
    assert not OptOutLink.objects.exists() and not OutboxMessage.objects.exists()  # the sample key names nobody



def test_the_preview_data_says_what_each_channel_carries_and_warns_without_a_public_url(
        settings: Any, make_patient: Any) -> None:
    """`masspost preview --json` and the API's preview carry `optout` and `optout_warning` (docs/campaign.md)."""
    from masspost.campaigns.report import preview_dict

    make_patient(language="en")
    settings.MASSPOST_PUBLIC_URL = ""
    data = preview_dict(result=campaign_preview(spec=_email("marketing", "Offers"), scope=OPERATOR).result,
                        price=None)
    assert (data["optout"], data["optout_warning"]) == ({"email": "reply"}, "no_public_url")
    settings.MASSPOST_PUBLIC_URL = PUBLIC
    data = preview_dict(result=campaign_preview(spec=_email("marketing", "Offers"), scope=OPERATOR).result,
                        price=None)
    assert (data["optout"], data["optout_warning"]) == ({"email": "link"}, None)
