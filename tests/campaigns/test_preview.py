"""The preview tells the truth: who gets which text, in which language, how many parts, who is left out."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from masspost.campaigns import changes
from masspost.campaigns.export import CsvExport
from masspost.campaigns.selectors import campaign_counts, campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Patient
from masspost.clinic.scope import Scope
from masspost.errors import SpecError, StaleTokenError
from masspost.web.presenting import LEFT_OUT, reason_sentence
from masspost.web.stale_words import say
from tests.conftest import campaign

pytestmark = pytest.mark.django_db


def preview(**overrides: Any) -> dict[str, Any]:
    return campaign_preview(spec=CampaignSpec.from_dict(campaign(**overrides)), scope=Scope.operator()).to_dict()


def test_each_patient_gets_their_language(make_patient: Any) -> None:
    make_patient(language="et")
    make_patient(language="ru")
    make_patient(language="ru")
    make_patient(language="en")
    data = preview()
    assert data["recipients"] == {"en": {"sms": 1, "email": 0}, "et": {"sms": 1, "email": 0},
                                  "ru": {"sms": 2, "email": 0}}
    assert data["sms"]["ru"]["sample"]["text"] == "Привет, Mari!"
    assert data["excluded"]["sms"] == dict.fromkeys(
        ["opted_out", "no_marketing_consent", "no_content", "no_address", "invalid_address", "recently_messaged",
         "shared_address", "no_sender"], 0)


def test_patient_without_language_gets_the_clinic_default(make_patient: Any) -> None:
    make_patient(language="")
    assert preview()["recipients"] == {"en": {"sms": 0, "email": 0}, "et": {"sms": 1, "email": 0},
                                       "ru": {"sms": 0, "email": 0}}


def test_language_without_text_gets_nothing_and_is_shown(make_patient: Any) -> None:
    make_patient(language="fi")
    make_patient(language="fi")
    data = preview(content={"et": {"sms": "Tere!"}, "fi": {"sms": "  "}})
    assert data["recipients"] == {"et": {"sms": 0, "email": 0}}
    assert data["excluded"]["sms"]["no_content"] == 2
    assert data["no_content_languages"]["sms"] == {"fi": 2}
    assert data["messages_total"] == 0


def test_fallback_language_reaches_the_left_out(make_patient: Any) -> None:
    make_patient(language="fi")
    make_patient(language="et")
    data = preview(content={"et": {"sms": "Tere!"}, "en": {"sms": "Hello!"}}, fallback_language="en")
    assert data["recipients"]["en"]["sms"] == 1
    assert data["fallback"] == {"sms": 1}
    assert data["excluded"]["sms"]["no_content"] == 0


def test_fallback_without_text_for_the_channel_is_refused() -> None:
    with pytest.raises(SpecError, match="fallback_language 'en' has no SMS text"):
        CampaignSpec.from_dict(campaign(fallback_language="en", content={"et": {"sms": "Tere"}}))


def test_exclusion_reasons_in_order(make_patient: Any) -> None:
    # Every patient here has several reasons; only the first in DESIGN.md's order is counted.
    make_patient(accepts_sms=False, marketing_sms=False, language="fi", phone="", phone_e164="")
    make_patient(marketing_sms=False, language="fi", phone="", phone_e164="")
    make_patient(language="fi", phone="", phone_e164="")
    make_patient(phone="", phone_e164="")
    make_patient(phone="12345", phone_e164="")
    make_patient()
    data = preview(purpose="marketing")
    assert data["excluded"]["sms"] == {"opted_out": 1, "no_marketing_consent": 1, "no_content": 1,
                                       "no_address": 1, "invalid_address": 1, "recently_messaged": 0,
                                       "shared_address": 0, "no_sender": 0}
    assert data["recipients"]["et"]["sms"] == 1


BOTH = {"et": {"sms": "Tere {first_name}", "email_subject": "Tere", "email_body": "Tere {last_name}"}}


def test_service_messages_ignore_marketing_consent(make_patient: Any) -> None:
    make_patient(marketing_sms=False, marketing_email=False)
    service = preview(purpose="service", channel="both", content=BOTH)
    assert service["recipients"]["et"] == {"sms": 1, "email": 1}
    assert service["excluded"]["sms"]["no_marketing_consent"] == 0
    assert service["excluded"]["email"]["no_marketing_consent"] == 0
    marketing = preview(purpose="marketing", channel="both", content=BOTH)
    assert marketing["excluded"]["sms"]["no_marketing_consent"] == 1
    assert marketing["excluded"]["email"]["no_marketing_consent"] == 1
    assert marketing["recipients"]["et"] == {"sms": 0, "email": 0}


def test_marketing_needs_the_channels_own_consent(make_patient: Any, tmp_path: Path) -> None:
    """Consent to offers by e-mail only: the marketing SMS leaves the patient out (`no_marketing_consent`, on the
    SMS row), the e-mail reaches them; consent by SMS only, the other way round. The live count says the same."""
    email_only = make_patient(marketing_sms=False, marketing_email=True)
    sms_only = make_patient(marketing_sms=True, marketing_email=False)
    spec = CampaignSpec.from_dict(campaign(purpose="marketing", channel="both", content=BOTH))
    with CsvExport(tmp_path) as export:
        data = campaign_preview(spec=spec, scope=Scope.operator(), on_recipient=export.recipient,
                                on_excluded=export.excluded).to_dict()
    assert data["recipients"]["et"] == {"sms": 1, "email": 1}
    assert data["excluded"]["sms"]["no_marketing_consent"] == 1
    assert data["excluded"]["email"]["no_marketing_consent"] == 1
    assert data["messages_total"] == 2
    with (tmp_path / "excluded.csv").open(newline="") as handle:
        excluded = {(r["external_id"], r["channel"], r["reason"]) for r in csv.DictReader(handle)}
    assert excluded == {(email_only.external_id, "sms", "no_marketing_consent"),
                        (sms_only.external_id, "email", "no_marketing_consent")}
    with (tmp_path / "recipients.csv").open(newline="") as handle:
        got = {(r["external_id"], r["channel"]) for r in csv.DictReader(handle)}
    assert got == {(email_only.external_id, "email"), (sms_only.external_id, "sms")}
    counts = campaign_counts(spec=spec, scope=Scope.operator())
    assert counts["excluded"] == data["excluded"]
    assert counts["recipients"]["et"] == {"sms": 1, "email": 1}


def test_a_hard_sms_opt_out_stops_service_sms_too(make_patient: Any) -> None:
    """`accepts_sms` false is the channel as a whole: a service SMS leaves the patient out as opted_out, whatever
    their marketing consent says; their e-mail still goes."""
    make_patient(accepts_sms=False, marketing_sms=True, marketing_email=True)
    for purpose in ("service", "marketing"):
        data = preview(purpose=purpose, channel="both", content=BOTH)
        assert data["excluded"]["sms"]["opted_out"] == 1
        assert data["excluded"]["sms"]["no_marketing_consent"] == 0
        assert data["recipients"]["et"] == {"sms": 0, "email": 1}


def test_both_channels_are_decided_separately(make_patient: Any) -> None:
    make_patient(accepts_email=False)
    make_patient(phone="", phone_e164="")
    make_patient(email="mari@", email_normalized="")
    content = {"et": {"sms": "Tere {first_name}", "email_subject": "Tere", "email_body": "Tere {last_name}"}}
    data = preview(channel="both", content=content)
    assert data["recipients"] == {"et": {"sms": 2, "email": 1}}
    assert data["excluded"]["sms"]["no_address"] == 1
    assert data["excluded"]["email"]["opted_out"] == 1
    assert data["excluded"]["email"]["invalid_address"] == 1
    assert data["emails_total"] == 1
    assert data["email"]["et"]["sample"]["text"] == "Tere Maasikas"


def test_sms_parts_follow_each_recipients_name(make_patient: Any) -> None:
    base = "x" * 150 + " {first_name}"  # 151 + name: GSM-7 fits one part up to 160
    make_patient(first_name="Ann")  # 154 septets: 1 part
    make_patient(first_name="Maximilian")  # 161 septets: 2 parts
    make_patient(first_name="Tõnu")  # õ forces UCS-2: 155 units → 3 parts of 67
    data = preview(content={"et": {"sms": base}})
    sms = data["sms"]["et"]
    assert (sms["parts_min"], sms["parts_max"], sms["parts_total"]) == (1, 3, 6)
    assert sms["encodings"] == {"GSM-7": 2, "UCS-2": 1}
    assert sms["longest"]["parts"] == 3
    assert data["sms_parts_total"] == 6


def test_merge_fields_render_clinic_values(make_patient: Any) -> None:
    make_patient(first_name="Jaan", last_name="Tamm")
    data = preview(content={"et": {"sms": "{first_name} {last_name}, {clinic_name} {clinic_phone} {{x}}"}})
    assert data["sms"]["et"]["sample"]["text"] == "Jaan Tamm, Hammas Tallinn +372 600 1000 {x}"


@pytest.mark.parametrize(("text", "message"), [
    ("Tere {firstname}", "content.et SMS: position 6: unknown merge field '{firstname}'"),
    ("Tere {first_name.__class__}", "position 6: merge field '{first_name.__class__}' is not a plain name"),
    ("Tere {first_name!r}", "is not a plain name"),
    ("Tere {0}", "is not a plain name"),
    ("Tere {first_name", "position 6: '{' is not closed"),
    ("Tere first_name}", "position 16: '}' without '{'"),
    ("Tere {}", "empty merge field"),
])
def test_template_errors_name_language_channel_and_position(make_patient: Any, text: str, message: str) -> None:
    make_patient()
    with pytest.raises(SpecError) as err:
        preview(content={"et": {"sms": text}})
    assert message in str(err.value)


def test_email_subject_errors_are_named(make_patient: Any) -> None:
    content = {"ru": {"email_subject": "Привет {имя}", "email_body": "Текст"}}
    with pytest.raises(SpecError, match="content.ru e-mail subject: position 8"):
        preview(channel="email", content=content)


def test_counts_query_agrees_with_the_full_preview(make_patient: Any, other_clinic: Any) -> None:
    variants: list[dict[str, Any]] = [
        {}, {"language": "ru"}, {"language": "fi"}, {"language": ""}, {"accepts_sms": False},
        {"marketing_sms": False}, {"marketing_email": False}, {"marketing_sms": False, "marketing_email": False},
        {"accepts_sms": False, "marketing_email": False}, {"phone": "", "phone_e164": ""},
        {"phone": "1", "phone_e164": ""},
        {"email": "", "email_normalized": ""}, {"clinic": other_clinic, "language": "en"}, {"accepts_email": False},
    ]
    for v in variants:
        make_patient(**v)
    content = {"et": {"sms": "T {first_name}", "email_subject": "S", "email_body": "B"}, "ru": {"sms": "П"}}
    for purpose in ("service", "marketing"):
        for fallback in (None, "et"):
            spec = CampaignSpec.from_dict(campaign(channel="both", purpose=purpose, content=content,
                                                   fallback_language=fallback))
            full = campaign_preview(spec=spec, scope=Scope.operator()).to_dict()
            counts = campaign_counts(spec=spec, scope=Scope.operator())
            assert counts["excluded"] == full["excluded"]
            assert counts["audience"]["patients"] == full["audience"]["patients"] == len(variants)
            assert {k: v for k, v in counts["recipients"].items() if any(v.values())} == \
                   {k: v for k, v in full["recipients"].items() if any(v.values())}


def test_preview_is_scoped_to_the_users_clinics(make_patient: Any, other_clinic: Any) -> None:
    make_patient()
    make_patient(clinic=other_clinic)
    scope = Scope(actor="reception", clinic_ids=frozenset({other_clinic.id}))
    data = campaign_preview(spec=CampaignSpec.from_dict(campaign()), scope=scope).to_dict()
    assert data["audience"]["patients"] == 1
    assert data["sms"]["et"]["sample"]["text"] == "Tere Mari!"
    assert data["audience"]["clinics"] == ["TRT"]


def test_language_codes_are_accepted_in_any_case(make_patient: Any) -> None:
    make_patient(language="ru")
    make_patient(language="fi")
    spec = CampaignSpec.from_dict(campaign(content={"ET": {"sms": "Tere"}, "Ru": {"sms": "Привет"}},
                                           fallback_language="ET"))
    assert [lang for lang, _ in spec.content] == ["et", "ru"]
    assert spec.fallback_language == "et"
    data = campaign_preview(spec=spec, scope=Scope.operator()).to_dict()
    assert data["recipients"] == {"et": {"sms": 1, "email": 0}, "ru": {"sms": 1, "email": 0}}


def test_two_content_keys_of_the_same_language_are_refused() -> None:
    with pytest.raises(SpecError, match="content: 'et' and 'ET' are the same language"):
        CampaignSpec.from_dict(campaign(content={"et": {"sms": "Tere"}, "ET": {"sms": "Tere!"}}))


@pytest.mark.parametrize(("change", "message"), [
    ({"channel": "fax"}, "channel: 'fax' is not one of sms | email | both"),
    ({"purpose": "spam"}, "purpose"),
    ({"content": {"xx": {"sms": "a"}}}, "unknown language code 'xx'"),
    ({"content": {"et": {"sms": ""}}}, "empty campaign: no language has an SMS text"),
    ({"content": {}}, "content: give the texts per language"),
    ({"name": " "}, "name: a campaign needs a name"),
    ({"fallback_language": "zz"}, "fallback_language: unknown language code 'zz'"),
    ({"content": {"et": {"email_subject": "S"}}, "channel": "email"}, "needs both a subject and a body"),
    ({"colour": "red"}, "unknown key(s) colour"),
])
def test_bad_campaigns_are_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as err:
        CampaignSpec.from_dict(campaign(**change))
    assert message in str(err.value)


def test_each_channel_says_which_marketing_consent_is_missing(make_patient: Any, tmp_path: Path) -> None:
    """The reason code is one (`no_marketing_consent`); its words name the channel's consent: on the command
    line's screen and on the page, in et, ru and en."""
    make_patient(marketing_sms=False, marketing_email=True)
    make_patient(marketing_sms=True, marketing_email=False)
    make_patient(marketing_sms=False, marketing_email=False)
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(campaign(purpose="marketing", channel="both", content=BOTH)), encoding="utf-8")
    out = io.StringIO()
    call_command("preview", str(path), stdout=out, stderr=io.StringIO())
    assert "left out of sms: 2 — no consent to SMS marketing\n" in out.getvalue()
    assert "left out of email: 2 — no consent to e-mail marketing\n" in out.getvalue()
    said = {"en": ("No consent to SMS marketing", "No consent to e-mail marketing",
                   "2 patients have not agreed to SMS marketing"),
            "et": ("SMS-turunduse nõusolekut pole", "E-posti turunduse nõusolekut pole",
                   "2 patsiendil pole SMS-turunduse nõusolekut"),
            "ru": ("Нет согласия на маркетинговые SMS", "Нет согласия на маркетинговые письма",
                   "2 пациента не давали согласия на маркетинговые SMS")}
    for lang, (sms_label, email_label, sentence) in said.items():
        with translation.override(lang):
            assert (str(LEFT_OUT["sms"]["no_marketing_consent"]),
                    str(LEFT_OUT["email"]["no_marketing_consent"])) == (sms_label, email_label)
            assert reason_sentence("sms", "no_marketing_consent", 2) == sentence
            assert reason_sentence("email", "no_marketing_consent", 2) != sentence


def test_a_send_after_an_sms_marketing_withdrawal_says_the_sms_lost_its_consent(make_patient: Any) -> None:
    """A patient withdraws offers by SMS after the preview: the send is refused, and what changed names the SMS
    and the reason (the code for the command line and the API, the channel's own words on the page); their
    e-mail is not said to have changed."""
    patient = make_patient()
    make_patient()
    spec = CampaignSpec.from_dict(campaign(purpose="marketing", channel="both", content=BOTH))
    token = str(campaign_preview(spec=spec, scope=Scope.operator()).token)
    Patient.objects.filter(id=patient.id).update(marketing_sms=False)
    with pytest.raises(StaleTokenError) as refused:
        campaign_send(spec=spec, scope=Scope.operator(), token=token)
    [recipients] = refused.value.said
    [left_out] = recipients.params["items"]
    assert (left_out.code, left_out.params) == (changes.LEFT_OUT, {"n": 1, "channel": "sms",
                                                                   "reasons": {"no_marketing_consent": 1}})
    assert str(left_out) == "1 recipient is now left out of SMS (no_marketing_consent 1)"
    with translation.override("en"):
        assert say(left_out) == "1 recipient is now left out of the SMS (1 patient has not agreed to SMS marketing)"
    with translation.override("et"):
        assert "SMS-turunduse nõusolekut" in say(left_out)
