"""Messages an opt-out suppressed, as the campaign's page and the API show them: "Opted out before sending: N" with
how they opted out (et, ru, en), `suppressed: {reason: n}` on GET /campaigns/{id}, a final state (the campaign is
done, nothing to cancel), and in the messages' CSV with the reason."""

from __future__ import annotations

import html as markup
import re
from typing import Any

import pytest
from django.test import Client

from masspost.campaigns.selectors import campaign_preview, campaign_status
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Role, Scope
from masspost.delivery.models import OutboxMessage
from masspost.delivery.suppress import opt_out
from masspost.staff.services import staff_add
from masspost.staff.tokens import token_create
from tests.conftest import campaign

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def text(html: str) -> str:
    return markup.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def sent(clinic: Clinic, make_patient: Any) -> tuple[int, list[Patient]]:
    """A campaign to four patients, previewed and sent as alice (sender of Tallinn): two opt out before their
    messages go — one by SMS STOP, one recorded by staff — and the other two's messages are sent."""
    patients = [make_patient() for _ in range(4)]
    scope = Scope(actor="alice", clinic_ids=frozenset({clinic.id}), role=Role.SENDER)
    spec = CampaignSpec.from_dict(campaign())
    preview = campaign_preview(spec=spec, scope=scope)
    campaign_id = campaign_send(spec=spec, scope=scope, token=str(preview.token)).campaign_id
    opt_out(patient_ids=[patients[0].id], channel="sms", purpose="service", source="sms-stop")
    opt_out(patient_ids=[patients[1].id], channel="sms", purpose="service", source="staff:ada", wording="phone")
    OutboxMessage.objects.filter(campaign_id=campaign_id, status="queued").update(status="sent")
    return campaign_id, patients


@pytest.mark.parametrize(("language", "words", "stop", "staff"), [
    ("en", "Opted out before sending: 2", "The patient's SMS STOP", "Recorded by staff"),
    ("et", "Loobus enne saatmist: 2", "Patsiendi SMS STOP", "Märkis töötaja"),
    ("ru", "Отказались до отправки: 2", "SMS STOP от пациента", "Отмечено сотрудником"),
])
def test_the_campaign_page_says_who_opted_out_before_sending_and_how(
        clinic: Clinic, sent: tuple[int, list[Patient]], language: str, words: str, stop: str, staff: str) -> None:
    campaign_id, _ = sent
    member = staff_add(username="alice", password=PASSWORD, clinics=[clinic.code], role="sender",
                       scope=Scope.operator())
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(member.user)

    response = client.get(f"/campaigns/{campaign_id}/")

    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('data-testid="suppressed"')
    shown = text(html[start:html.index("</div>", start)])
    assert words in shown
    assert re.search(rf"{re.escape(stop)} 1\b", shown) and re.search(rf"{re.escape(staff)} 1\b", shown)
    # The status counts name them too, so that they add up to the total.
    assert 'data-count="suppressed">2<' in html and 'data-count="total">4<' in html
    if language != "en":
        assert "Opted out" not in shown and "staff" not in shown and "sending" not in shown


def test_a_campaign_with_nothing_suppressed_says_nothing_of_it(clinic: Clinic, make_patient: Any) -> None:
    make_patient()
    scope = Scope(actor="alice", clinic_ids=frozenset({clinic.id}), role=Role.SENDER)
    campaign_id = campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=scope).campaign_id
    member = staff_add(username="alice", password=PASSWORD, clinics=[clinic.code], role="sender",
                       scope=Scope.operator())
    client = Client()
    client.force_login(member.user)
    assert 'data-testid="suppressed"' not in client.get(f"/campaigns/{campaign_id}/").content.decode()


def test_the_api_gives_the_suppressed_messages_by_reason(clinic: Clinic, sent: tuple[int, list[Patient]]) -> None:
    campaign_id, patients = sent
    staff_add(username="alice", password=PASSWORD, clinics=[clinic.code], role="sender", scope=Scope.operator())
    token = token_create(scope=Scope.operator(), username="alice", name="test").secret
    headers = {"Authorization": f"Bearer {token}"}

    body = Client().get(f"/api/v1/campaigns/{campaign_id}", headers=headers).json()

    assert body["suppressed"] == {"sms-stop": 1, "staff": 1}
    assert body["messages"]["suppressed"] == 2
    assert body["status"] == "done"  # suppressed is final: nothing pending
    assert body["progress"]["pending"] == 0
    listed = Client().get(f"/api/v1/campaigns/{campaign_id}/messages", {"status": "suppressed"},
                          headers=headers).json()["items"]
    assert sorted((m["external_id"], m["reason"]) for m in listed) == sorted(
        [(patients[0].external_id, "sms-stop"), (patients[1].external_id, "staff")])
    schema = Client().get("/api/openapi.json").json()
    assert "suppressed" in schema["components"]["schemas"]["CampaignOut"]["properties"]


def test_suppressed_is_final_for_the_controls_and_the_csv(clinic: Clinic, sent: tuple[int, list[Patient]]) -> None:
    campaign_id, patients = sent
    status = campaign_status(campaign_id=campaign_id, scope=Scope.operator())
    assert status["status"] == "done" and status["messages"]["suppressed"] == 2
    from masspost.campaigns.downloads import campaign_messages_csv

    _, lines = campaign_messages_csv(campaign_id=campaign_id, scope=Scope.operator())
    rows = "".join(lines).splitlines()
    assert any(row.startswith(f"{patients[0].external_id},sms,") and ",suppressed,sms-stop," in row for row in rows)
