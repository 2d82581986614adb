"""The reschedule form on a scheduled campaign's page (issue 19, review S3): it shows the campaign's current start
and deadline as local times that the form reads in EACH clinic's own zone, so that saving it unchanged moves
nothing — a deadline the user set is kept when only the start is moved; an empty deadline is 3 days after the new
start."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from masspost.campaigns.models import Campaign
from masspost.campaigns.services import campaign_reschedule
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Scope
from tests.web.conftest import preview, token_of

pytestmark = pytest.mark.django_db

TALLINN = ZoneInfo("Europe/Tallinn")
LONDON = ZoneInfo("Europe/London")


def local(days: int, hour: int) -> str:
    """A datetime-local value `days` from today at `hour`:00, as the browser posts it."""
    day = timezone.localtime(timezone.now(), TALLINN).date() + dt.timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00"


def scheduled(client: Client, **fields: Any) -> Campaign:
    sent = client.post("/bulk/send/", {"token": token_of(preview(client, **fields))})
    assert sent.status_code == 302, sent
    return Campaign.objects.get()


def shown(client: Client, campaign: Campaign) -> dict[str, str]:
    """The reschedule form's values as the page shows them."""
    response = client.get(f"/campaigns/{campaign.id}/")
    form = response.context["reschedule"]
    values = {name: str(form[name].value() or "") for name in ("send_at", "deadline")}
    page = response.content.decode()
    assert all(f'value="{v}"' in page for v in values.values() if v)
    return values


def save(client: Client, campaign: Campaign, values: dict[str, str]) -> None:
    answer = client.post(f"/campaigns/{campaign.id}/reschedule/", values)
    assert answer.status_code == 302 and "done=reschedule" in answer["Location"], answer


def unchanged_after_saving(client: Client, campaign: Campaign) -> dict[str, str]:
    campaign.refresh_from_db()
    before = (campaign.send_at, campaign.deadline)
    values = shown(client, campaign)
    save(client, campaign, values)
    campaign.refresh_from_db()
    assert (campaign.send_at, campaign.deadline) == before
    return values


def test_the_form_shows_the_campaigns_own_times_and_saving_them_moves_nothing(
        alice: Client, patients: dict[str, Patient]) -> None:
    campaign = scheduled(alice, send_at=local(2, 10), deadline=local(4, 18))
    assert unchanged_after_saving(alice, campaign) == {"send_at": local(2, 10), "deadline": local(4, 18)}


def test_moving_only_the_start_keeps_the_deadline_the_user_set(alice: Client, patients: dict[str, Patient]) -> None:
    campaign = scheduled(alice, send_at=local(2, 10), deadline=local(5, 18))
    values = shown(alice, campaign)
    save(alice, campaign, values | {"send_at": local(3, 9)})
    campaign.refresh_from_db()
    assert campaign.deadline == dt.datetime.fromisoformat(local(5, 18)).replace(tzinfo=TALLINN)
    assert campaign.send_at == dt.datetime.fromisoformat(local(3, 9)).replace(tzinfo=TALLINN)


def test_no_deadline_given_shows_3_days_on_and_an_empty_one_is_3_days_after_the_new_start(
        alice: Client, patients: dict[str, Patient]) -> None:
    campaign = scheduled(alice, send_at=local(2, 10))
    assert unchanged_after_saving(alice, campaign)["deadline"] == local(5, 10)
    save(alice, campaign, {"send_at": local(3, 8), "deadline": ""})
    campaign.refresh_from_db()
    assert campaign.send_at is not None and campaign.deadline == campaign.send_at + dt.timedelta(days=3)
    response = alice.get(f"/campaigns/{campaign.id}/")
    assert "Empty: 3 days after the new start." in response.content.decode()


def test_after_a_reschedule_the_form_shows_the_new_times(alice: Client, patients: dict[str, Patient]) -> None:
    campaign = scheduled(alice, send_at=local(2, 10), deadline=local(4, 18))
    save(alice, campaign, {"send_at": local(3, 11), "deadline": local(6, 12)})
    assert unchanged_after_saving(alice, campaign) == {"send_at": local(3, 11), "deadline": local(6, 12)}


def test_a_clinic_in_another_zone_than_the_pages_keeps_its_time(alice: Client, clinic: Clinic,
                                                                patients: dict[str, Patient]) -> None:
    Clinic.objects.filter(id=clinic.id).update(time_zone="Europe/London")
    campaign = scheduled(alice, send_at=local(2, 10))
    assert unchanged_after_saving(alice, campaign)["send_at"] == local(2, 10)  # London's 10:00, not Tallinn's
    # Moved since to an instant (as the API may): shown in London's time, which reads back as the same instant.
    at = dt.datetime.fromisoformat(local(3, 15)).replace(tzinfo=dt.UTC)
    campaign_reschedule(campaign_id=campaign.id, scope=Scope.operator(), send_at=at, deadline=None)
    values = unchanged_after_saving(alice, campaign)
    assert values["send_at"] == at.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def test_clinics_in_several_zones(make_staff: Any, clinic: Clinic, other_clinic: Clinic,
                                  patients: dict[str, Patient]) -> None:
    Clinic.objects.filter(id=other_clinic.id).update(time_zone="Europe/London")
    sam = make_staff("sam", "sender", clinic, other_clinic)
    campaign = scheduled(sam, send_at=local(2, 10), deadline=local(4, 18))
    # Its own local times: 10:00 in Tallinn and 10:00 in London, kept as they are.
    assert unchanged_after_saving(sam, campaign) == {"send_at": local(2, 10), "deadline": local(4, 18)}
    # Moved to one instant for both: no local time says that; the field says how it is read.
    at = dt.datetime.fromisoformat(local(3, 15)).replace(tzinfo=dt.UTC)
    campaign_reschedule(campaign_id=campaign.id, scope=Scope.operator(), send_at=at, deadline=None)
    response = sam.get(f"/campaigns/{campaign.id}/")
    page = response.content.decode()
    assert "Europe/London, Europe/Tallinn" in page and "the current start in Europe/Tallinn" in page
    assert response.context["reschedule"]["send_at"].value() == at.astimezone(TALLINN).strftime("%Y-%m-%dT%H:%M")
    refused = sam.post(f"/campaigns/{campaign.id}/reschedule/", {"send_at": "2020-01-01T09:00", "deadline": ""})
    assert refused.status_code == 422 and "Europe/London, Europe/Tallinn" in refused.content.decode()


def test_the_forms_help_is_in_estonian_on_an_estonian_page(make_staff: Any, clinic: Clinic, other_clinic: Clinic,
                                                           patients: dict[str, Patient]) -> None:
    Clinic.objects.filter(id=other_clinic.id).update(time_zone="Europe/London")
    mari = make_staff("mari", "sender", clinic, other_clinic, language="et")
    campaign = scheduled(mari, send_at=local(2, 10))
    campaign_reschedule(campaign_id=campaign.id, scope=Scope.operator(),
                        send_at=dt.datetime.fromisoformat(local(3, 15)).replace(tzinfo=dt.UTC), deadline=None)
    page = mari.get(f"/campaigns/{campaign.id}/").content.decode()
    assert "Tühi: 3 päeva pärast uut algust." in page and "Loetakse iga kliiniku oma ajavööndi" in page
    assert "Empty: 3 days" not in page and "Read as the local time" not in page
