""""Send a test to me" on the preview (issue 19): POST /bulk/test/ sends the preview's samples to the signed-in
user's own phone and e-mail through the configured gateways (here the memory gateway) and answers with a partial
listing each message, or why not — a missing address with a link to the profile page. No patient gets it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from masspost.clinic.models import Clinic, Patient
from masspost.delivery.gateways.memory import MemoryGateway
from masspost.delivery.models import OutboxMessage
from masspost.staff.models import StaffMember
from tests.web.conftest import preview, token_of

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def gateways(settings: Any) -> Any:
    settings.MASSPOST_SMS_URL = "memory:test-sms"
    settings.MASSPOST_EMAIL_URL = "memory:test-email"
    MemoryGateway.reset()
    yield
    MemoryGateway.reset()


def own(username: str, *, phone: str = "", email: str = "") -> None:
    StaffMember.objects.filter(user__username=username).update(phone=phone, email=email)


def html(response: Any) -> str:
    return str(response.content.decode())


def test_the_samples_go_to_the_users_own_phone_and_no_patient(alice: Client, patients: dict[str, Patient]) -> None:
    own("alice", phone="+37255501234", email="alice@clinic.example")
    response = preview(alice, sms_ru="Здравствуйте, {first_name}!")
    answer = alice.post("/bulk/test/", {"token": token_of(response)}, **HTMX)
    assert answer.status_code == 200
    page = html(answer)
    assert 'data-testid="test-results"' in page and "+37255501234" in page and "<b>sent</b>" in page
    sent = MemoryGateway.outboxes.get("test-sms", [])
    assert {m.to for m in sent} == {"+37255501234"} and len(sent) == 2  # Estonian and Russian
    assert not OutboxMessage.objects.exists()
    assert "<html" not in page  # a partial for htmx


def test_no_phone_of_ones_own_says_so_with_the_profile_link(alice: Client, patients: dict[str, Patient]) -> None:
    own("alice")
    response = preview(alice)
    answer = alice.post("/bulk/test/", {"token": token_of(response)}, **HTMX)
    page = html(answer)
    assert 'data-testid="test-missing-sms"' in page and "no phone number of your own" in page
    assert 'href="/account/"' in page
    assert not MemoryGateway.outboxes.get("test-sms")


def test_in_russian_the_result_is_in_russian(make_staff: Any, clinic: Clinic, patients: dict[str, Patient]) -> None:
    ivan = make_staff("ivan", "preparer", clinic, language="ru")
    own("ivan", phone="+37255501235")
    response = preview(ivan)
    page = html(ivan.post("/bulk/test/", {"token": token_of(response)}, **HTMX))
    assert "отправлено" in page and "sent<" not in page


def test_without_htmx_the_result_is_a_page_with_the_way_back(alice: Client, patients: dict[str, Patient]) -> None:
    own("alice", phone="+37255501234")
    response = preview(alice)
    answer = alice.post("/bulk/test/", {"token": token_of(response)})
    assert answer.status_code == 200 and "<html" in html(answer) and 'href="/bulk/preview/"' in html(answer)


def test_a_test_opens_the_send_the_clinic_held_for_it(alice: Client, clinic: Clinic,
                                                      patients: dict[str, Patient]) -> None:
    clinic.test_before_marketing = True
    clinic.save()
    own("alice", phone="+37255501234")
    response = preview(alice, purpose="marketing")
    assert 'data-testid="test-first"' in html(response)
    answer = html(alice.post("/bulk/test/", {"token": token_of(response), "required": "1", "total": "3"}, **HTMX))
    assert 'id="send-open"' in answer and 'hx-swap-oob="true"' in answer and 'data-testid="send-open"' in answer
    again = preview(alice, purpose="marketing")
    assert 'data-testid="test-first"' not in html(again) and 'data-testid="tested"' in html(again)
    sent = alice.post("/bulk/send/", {"token": token_of(again)})
    assert sent.status_code == 302


def test_a_get_is_405_and_signed_out_goes_to_sign_in(alice: Client, patients: dict[str, Patient]) -> None:
    assert alice.get("/bulk/test/").status_code == 405
    anonymous = Client().post("/bulk/test/", {"token": "x"})
    assert anonymous.status_code == 302 and "sign-in" in anonymous["Location"]


def test_without_a_preview_it_says_to_preview_again(alice: Client) -> None:
    assert get_user_model().objects.filter(username="alice").exists()
    page = html(alice.post("/bulk/test/", {"token": "x"}, **HTMX))
    assert 'data-testid="test-gone"' in page


def test_a_preview_gone_stale_says_what_changed_in_the_box_and_sends_nothing(
        make_staff: Any, clinic: Clinic, make_patient: Any, patients: dict[str, Patient]) -> None:
    ivan = make_staff("ivan", "sender", clinic, language="ru")
    own("ivan", phone="+37255501235")
    response = preview(ivan)
    make_patient(first_name="Uus")  # a new patient matches the filters since the preview
    answer = ivan.post("/bulk/test/", {"token": token_of(response)}, **HTMX)
    page = html(answer)
    assert answer.status_code == 200 and "<html" not in page
    assert 'data-testid="test-stale"' in page and "Ничего не отправлено" in page
    assert "Изменились получатели" in page  # what changed, in the user's language (stale_view)
    assert "Nothing" not in page and "changed" not in page and "preview" not in page
    assert 'data-testid="test-missing-sms"' not in page
    assert not MemoryGateway.outboxes.get("test-sms")


def test_nobody_to_send_to_says_there_is_no_sample(alice: Client, patients: dict[str, Patient]) -> None:
    own("alice", phone="+37255501234")
    response = preview(alice, age_min="120")
    answer = alice.post("/bulk/test/", {"token": token_of(response)}, **HTMX)
    page = html(answer)
    assert answer.status_code == 200 and "<html" not in page
    assert 'data-testid="test-nothing"' in page and 'data-testid="test-missing-sms"' not in page


def test_a_refusal_other_than_no_address_is_not_said_as_one(alice: Client, patients: dict[str, Patient],
                                                            monkeypatch: Any) -> None:
    from masspost.errors import SpecError
    from masspost.web.views import bulk

    def refuse(**_kwargs: Any) -> Any:
        raise SpecError("clinic TLN is not one of yours")

    own("alice", phone="+37255501234")
    response = preview(alice)
    monkeypatch.setattr(bulk, "campaign_test_send", refuse)
    page = html(alice.post("/bulk/test/", {"token": token_of(response)}, **HTMX))
    assert 'data-testid="test-refused"' in page and "phone number" not in page and "not one of yours" not in page
