"""Bulk Mail's "When and how often" (issue 19): the four fields go into the campaign as the campaign file's keys,
their errors sit on their field keeping what was typed, the preview says when each clinic's messages go, and the
campaign's page and list say it is scheduled or waiting for approval — approve, reject and reschedule included."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from masspost.campaigns.models import Campaign
from masspost.clinic.models import Clinic, Patient
from masspost.errors import ConflictError
from masspost.web.refusals import conflict_message
from tests.web.conftest import form_data, preview, token_of

pytestmark = pytest.mark.django_db


def html(response: Any) -> str:
    return str(response.content.decode())


def local(days: int = 1, hour: int = 10) -> str:
    """A datetime-local value in Tallinn `days` from today at `hour`:00, as the browser posts it."""
    day = timezone.localtime(timezone.now(), dt.timezone(dt.timedelta(hours=2))).date() + dt.timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00"


def test_the_fields_go_into_the_campaign_as_its_file_keys(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, send_at=local(2, 10), deadline=local(3, 18), recently_messaged_days="7",
                       purpose="marketing")
    assert response.status_code == 200, response.context and response.context.get("form", {}).errors
    draft = alice.session["bulk_draft"]
    assert draft["send_at"] == [local(2, 10)] and draft["recently_messaged_days"] == ["7"]
    spec = response.context["p"]
    assert spec["schedule"]["send_at"] == local(2, 10) + ":00"  # naive: the local time in each clinic's zone
    assert spec["schedule"]["scheduled"] is True


def test_one_per_address_is_said_only_when_it_differs_from_the_purpose(alice: Client, clinic: Clinic,
                                                                         patients: dict[str, Patient]) -> None:
    from masspost.web.forms import BulkForm

    def spec(**overrides: Any) -> Any:
        form = BulkForm(data=form_data(**overrides), clinics=[clinic], languages=[("et", "eesti")])
        made = form.spec()
        assert made is not None, form.errors
        return made

    assert spec(purpose="marketing", one_per_address="on").one_per_address is None  # the default: on
    assert spec(purpose="marketing").one_per_address is False  # ticked off
    assert spec(purpose="service").one_per_address is None
    assert spec(purpose="service", one_per_address="on").one_per_address is True
    assert spec().recently_messaged_days is None and spec(recently_messaged_days="0").recently_messaged_days == 0


def test_the_form_ticks_one_per_address_for_a_marketing_start() -> None:
    from masspost.web.forms import spec_as_form_data
    assert spec_as_form_data({"name": "A", "purpose": "marketing"}).get("one_per_address") == "on"
    assert "one_per_address" not in spec_as_form_data({"name": "A", "purpose": "service"})
    assert "one_per_address" not in spec_as_form_data({"name": "A", "purpose": "marketing",
                                                       "one_per_address": False})
    # a past campaign's time has passed: the new one starts at once
    assert "send_at" not in spec_as_form_data({"name": "A", "send_at": "2026-01-01T09:00"})


@pytest.mark.parametrize(("typed", "field", "words"), [
    ({"send_at": "2020-01-01T09:00"}, "send_at", "This time has passed"),
    ({"send_at": "soon"}, "send_at", "Give a date and a time"),
    ({"send_at": local(2, 10), "deadline": local(2, 9)}, "deadline", "The deadline must be after the start"),
    ({"deadline": "2020-01-01T09:00"}, "deadline", "the deadline must be to come"),
    ({"send_at": local(120, 10)}, "send_at", "At most 90 days ahead"),
    ({"recently_messaged_days": "-1"}, "recently_messaged_days", ""),
])
def test_an_error_sits_on_its_field_and_keeps_what_was_typed(alice: Client, patients: dict[str, Patient],
                                                             typed: dict[str, str], field: str, words: str) -> None:
    response = alice.post("/bulk/preview/", form_data(**typed))
    assert response.status_code == 422
    form = response.context["form"]
    assert list(form.errors) == [field]
    page = html(response)
    assert f'id="errors-{field}"' in page
    if words:
        assert words in " ".join(form.errors[field])
    for value in typed.values():
        assert f'value="{value}"' in page  # as typed


def test_the_errors_are_in_estonian_on_an_estonian_page(make_staff: Any, clinic: Clinic,
                                                        patients: dict[str, Patient]) -> None:
    kati = make_staff("kati", "sender", clinic, language="et")
    response = kati.post("/bulk/preview/", form_data(send_at="2020-01-01T09:00"))
    assert "See aeg on möödas" in html(response)
    assert "Saatmise aeg" in html(response) and "Send at" not in html(response)


def test_the_preview_says_when_each_clinic_goes_and_the_deadline(alice: Client, clinic: Clinic, settings: Any,
                                                                  patients: dict[str, Patient]) -> None:
    settings.MASSPOST_SENDING_WINDOWS = "clinics"  # the tests' default is "always"
    response = preview(alice, send_at=local(1, 23), purpose="service")  # after the service window (08–21)
    page = html(response)
    assert 'data-testid="when"' in page
    when = response.context["timing"]
    assert when["scheduled"] and [c["name"] for c in when["clinics"]] == ["Hammas Tallinn"]
    assert "after the quiet hours" in when["clinics"][0]["words"]
    assert 'data-testid="deadline"' in page
    assert "Schedule this campaign?" in page and "Scheduled for" in page


def test_at_once_when_no_time_is_given(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice)
    timing = response.context["timing"]
    assert not timing["scheduled"]
    assert {c["words"] for c in timing["clinics"]} == {"at once"}  # windows are "always" in the tests
    assert "Send now?" in html(response)


def test_a_scheduled_campaign_page_and_list_say_so_and_it_can_be_rescheduled(alice: Client,
                                                                             patients: dict[str, Patient]) -> None:
    response = preview(alice, send_at=local(2, 10))
    sent = alice.post("/bulk/send/", {"token": token_of(response)})
    assert sent.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.send_at is not None
    page = html(alice.get(f"/campaigns/{campaign.id}/"))
    assert 'data-testid="schedule"' in page and 'data-testid="reschedule"' in page
    listing = html(alice.get("/campaigns/"))
    assert 'data-testid="badge-scheduled"' in listing
    bad = alice.post(f"/campaigns/{campaign.id}/reschedule/", {"send_at": "2020-01-01T09:00", "deadline": ""})
    assert bad.status_code == 422 and 'value="2020-01-01T09:00"' in html(bad)
    moved = alice.post(f"/campaigns/{campaign.id}/reschedule/", {"send_at": local(3, 11), "deadline": ""})
    assert moved.status_code == 302 and "done=reschedule" in moved["Location"]
    campaign.refresh_from_db()
    assert timezone.localtime(campaign.send_at, dt.timezone(dt.timedelta(hours=2))).day == int(local(3, 11)[8:10])


def test_a_campaign_over_the_approval_rule_waits_and_another_sender_approves_it(
        alice: Client, make_staff: Any, clinic: Clinic, bob: Client, patients: dict[str, Patient]) -> None:
    clinic.approval_over = 0  # one recipient is over it
    clinic.save()
    response = preview(alice)
    assert "Needs a second approver" in html(response)
    alice.post("/bulk/send/", {"token": token_of(response)})
    campaign = Campaign.objects.get()
    assert campaign.approval == "pending"
    own = html(alice.get(f"/campaigns/{campaign.id}/"))
    assert 'data-testid="approval-refusal"' in own and "another user with the sender role" in own
    assert 'data-testid="control-approve"' not in own
    assert 'data-testid="badge-approval"' in html(alice.get("/campaigns/"))
    assert 'data-testid="control-approve"' not in html(bob.get(f"/campaigns/{campaign.id}/"))  # a preparer
    refused = alice.post(f"/campaigns/{campaign.id}/approve/")
    assert refused.status_code == 409 and "another user with the sender role" in html(refused)
    mart = make_staff("mart", "sender", clinic)
    assert 'data-testid="control-approve"' in html(mart.get(f"/campaigns/{campaign.id}/"))
    done = mart.post(f"/campaigns/{campaign.id}/approve/")
    assert done.status_code == 302
    campaign.refresh_from_db()
    assert campaign.approval == "approved"
    assert "Approved by mart" in html(alice.get(f"/campaigns/{campaign.id}/"))


@pytest.mark.parametrize(("reason", "et"), [
    ("test_required", "Saatke esmalt endale test"), ("own_campaign", "Selle kampaania koostasite teie"),
    ("not_pending", "ei oota enam kinnitamist"), ("stale", "seda kampaaniat ei saa kinnitada"),
    ("started", "on juba alanud"),
])
def test_the_refusals_in_words(reason: str, et: str) -> None:
    from django.utils import translation
    with translation.override("et"):
        assert et in conflict_message(ConflictError("x", reason=reason))
    with translation.override("ru"):
        assert conflict_message(ConflictError("x", reason=reason)) != "x"


def test_a_marketing_send_before_the_test_the_clinic_asks_for_is_refused_in_words(
        alice: Client, clinic: Clinic, patients: dict[str, Patient]) -> None:
    clinic.test_before_marketing = True
    clinic.save()
    response = preview(alice, purpose="marketing")
    page = html(response)
    assert 'data-testid="test-first"' in page and "disabled" in page
    refused = alice.post("/bulk/send/", {"token": token_of(response)})
    assert refused.status_code == 409
    assert "Send a test to yourself first" in html(refused)
    assert not Campaign.objects.exists()


def test_another_sender_rejects_a_pending_campaign_and_nothing_goes(
        alice: Client, make_staff: Any, clinic: Clinic, patients: dict[str, Patient]) -> None:
    from masspost.delivery.models import OutboxMessage
    clinic.approval_over = 0
    clinic.save()
    alice.post("/bulk/send/", {"token": token_of(preview(alice))})
    campaign = Campaign.objects.get()
    mart = make_staff("mart", "sender", clinic, language="et")
    page = html(mart.get(f"/campaigns/{campaign.id}/"))
    assert 'data-testid="control-reject"' in page and "Lükka tagasi" in page
    assert mart.post(f"/campaigns/{campaign.id}/reject/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.approval == "rejected"
    assert not OutboxMessage.objects.filter(campaign_id=campaign.id, status="queued").exists()
    after = html(mart.get(f"/campaigns/{campaign.id}/"))
    assert 'data-testid="approval-rejected"' in after and "Tagasi lükkas mart" in after
    again = mart.post(f"/campaigns/{campaign.id}/approve/")
    assert again.status_code == 409 and "ei oota enam kinnitamist" in html(again)


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "152 of these 154 patients got “Recall A” 8 minutes ago."),
    ("et", "Neist 154 patsiendist 152 said „Recall A“ 8 minutit tagasi."),
    ("ru", "152 из этих 154 пациентов получили «Recall A» 8 минут назад."),
])
def test_the_24_hour_warning_in_words(lang: str, words: str) -> None:
    from django.utils import translation

    from masspost.web.presenting import recent_view
    now = timezone.now()
    with translation.override(lang):
        said = recent_view({"campaign_id": 7, "name": "Recall A", "sent_at": now - dt.timedelta(minutes=8),
                            "patients": 152, "of": 154}, now)
    assert said == {"campaign_id": 7, "sentence": words}


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "3 of these 4 patients are to get “Recall C” tomorrow 09:00."),
    ("et", "Neist 4 patsiendist 3 saavad „Recall C“ homme 09:00."),
    ("ru", "3 из этих 4 пациентов получат «Recall C» завтра в 09:00."),
])
def test_a_scheduled_campaign_not_started_is_about_to_reach_them(lang: str, words: str) -> None:
    from django.utils import translation

    from masspost.web.presenting import recent_view
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(9, 0)))
    with translation.override(lang):
        said = recent_view({"campaign_id": 8, "name": "Recall C", "sent_at": timezone.now(), "patients": 3,
                            "of": 4, "starts_at": start.isoformat()})
    assert said == {"campaign_id": 8, "sentence": words}


def test_a_clinic_held_by_a_holiday_or_with_no_opening_says_so() -> None:
    from masspost.web.presenting import opening_words
    start = timezone.now() + dt.timedelta(days=5)
    assert opening_words(held="holiday", opens_at=start, starts_at=start, scheduled=True).endswith(
        ", after the public holiday")
    assert "will not be sent" in opening_words(held="", opens_at=None, starts_at=start, scheduled=True)
    assert opening_words(held="", opens_at=start, starts_at=start, scheduled=False) == "at once"
