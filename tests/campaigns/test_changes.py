"""A refused send gives what changed as codes with numbers (campaigns.changes.Change), for an interface that says it
in its own words; their str() is the English sentence the CLI and the API print."""

from __future__ import annotations

from typing import Any

import pytest

from masspost.campaigns import changes as c
from masspost.campaigns.changes import Change
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.services import campaign_send
from masspost.clinic.models import Patient
from masspost.errors import StaleTokenError
from tests.campaigns.test_send import OPERATOR, spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def patients(make_patient: Any) -> list[Patient]:
    return [make_patient(language="et"), make_patient(language="ru"), make_patient(language="en"),
            make_patient(language="fi"), make_patient(accepts_sms=False)]


def refusal(token: str, **overrides: Any) -> StaleTokenError:
    with pytest.raises(StaleTokenError) as err:
        campaign_send(spec=spec(**overrides), scope=OPERATOR, token=token)
    return err.value


def test_what_changed_for_the_recipients_is_codes_with_their_numbers(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    Patient.objects.filter(pk=patients[0].pk).update(accepts_sms=False)
    Patient.objects.filter(pk=patients[4].pk).update(accepts_sms=True)
    Patient.objects.filter(pk=patients[1].pk).update(phone="55555555", phone_e164="+37255555555")
    refused = refusal(token)
    assert refused.changes == [Change(c.RECIPIENTS, {"then": 3, "now": 3, "items": [
        Change(c.ADDRESSES, {"n": 1, "channel": "sms"}),
        Change(c.LEFT_OUT, {"n": 1, "channel": "sms", "reasons": {"opted_out": 1}}),
        Change(c.NOW_GETS, {"n": 1, "channel": "sms"}),
    ]})]
    assert refused.said == refused.changes
    assert str(refused) == ("preview again: the recipients changed: 1 recipient's phone number changed; 1 recipient "
                            "is now left out of SMS (opted_out 1); 1 patient now gets SMS (3 messages at preview, "
                            "3 now)")


def test_changes_to_the_campaign_itself_are_codes_too(patients: list[Patient]) -> None:
    token = str(campaign_preview(spec=spec(), scope=OPERATOR).token)
    refused = refusal(token, name="Other", content={"et": {"sms": "Tere"}, "ru": {"sms": "Привет"}})
    assert [change.code for change in refused.changes] == [c.SETTINGS, c.TEXTS]
    assert str(refused) == ("preview again: the campaign's name, purpose, channel or fallback language changed; "
                            "the texts changed")


@pytest.mark.parametrize(("token", "code"), [("v3.abc", c.TOKEN_MALFORMED), ("v1.a.b.c.d.e", c.TOKEN_OLD)])
def test_a_token_that_cannot_be_compared_says_why_with_no_changes(patients: list[Patient], token: str,
                                                                  code: str) -> None:
    refused = refusal(token)
    assert refused.changes == [] and refused.unreadable == Change(code)
    assert refused.said == [Change(code)]
    assert str(refused) == str(Change(code))


def test_a_change_as_json_names_its_code_and_numbers() -> None:
    change = Change(c.RECIPIENTS, {"then": 1873, "now": 1874, "items": [Change(c.NEW, {"n": 1})]})
    assert str(change) == ("the recipients changed: 1 patient newly matches the audience (1873 messages at preview, "
                           "1874 now)")
    assert change.as_dict() == {"code": "recipients_changed", "params": {
        "then": 1873, "now": 1874, "items": [{"code": "patients_new", "params": {"n": 1}}]}}

