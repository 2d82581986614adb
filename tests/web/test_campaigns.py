"""The campaigns list and a campaign's page: progress, controls, messages, CSV — for alice (sender, Tallinn),
bob (preparer, Tallinn), charlie (sender, Tartu) and nobody signed in."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from masspost.campaigns.models import AuditEvent, Campaign, CampaignState
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.clinic.scope import Role, Scope
from masspost.delivery.models import MessageStatus, OutboxMessage
from tests.conftest import campaign
from tests.web.conftest import form_data

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def alice_scope(clinic: Clinic) -> Scope:
    return Scope(actor="alice", clinic_ids=frozenset({clinic.id}), role=Role.SENDER)


@pytest.fixture
def patients(make_patient: Callable[..., Patient]) -> list[Patient]:
    return [make_patient() for _ in range(3)]


@pytest.fixture
def send(clinic: Clinic, patients: list[Patient]) -> Callable[..., int]:
    def make(name: str = "Recall") -> int:
        spec = CampaignSpec.from_dict(campaign(name=name))
        return campaign_send(spec=spec, scope=alice_scope(clinic)).campaign_id

    return make


@pytest.fixture
def campaign_id(send: Callable[..., int]) -> int:
    return send()


def page(client: Client, url: str, **extra: Any) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def posted(client: Client, url: str, data: dict[str, str], **extra: Any) -> str:
    response = client.post(url, data, **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def set_status(campaign_id: int, status: str, count: int | None = None) -> None:
    """All the campaign's messages, or the first `count` of those still queued, to `status`."""
    rows = OutboxMessage.objects.filter(campaign_id=campaign_id).order_by("id")
    if count is not None:
        rows = rows.filter(status=MessageStatus.QUEUED)
    ids = list(rows.values_list("id", flat=True))
    OutboxMessage.objects.filter(id__in=ids[:count] if count is not None else ids).update(status=status)


def urls(campaign_id: int) -> dict[str, str]:
    base = f"/campaigns/{campaign_id}/"
    return {"detail": base, "progress": base + "progress/", "messages": base + "messages/",
            "export": base + "messages.csv"}


# --- the matrix: signed out, another clinic, a lesser role, the wrong method ---------------------------------------

def test_signed_out_goes_to_sign_in(campaign_id: int) -> None:
    for url in ["/campaigns/", *urls(campaign_id).values()]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/sign-in/?next="), url
    response = Client().post(f"/campaigns/{campaign_id}/pause/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


def test_list_shows_only_own_clinics_campaigns(alice: Client, charlie: Client, campaign_id: int) -> None:
    assert f'href="/campaigns/{campaign_id}/"' in page(alice, "/campaigns/")
    listing = page(charlie, "/campaigns/")
    assert f"/campaigns/{campaign_id}/" not in listing and "Recall" not in listing
    assert "No campaigns yet." in listing


def test_another_clinics_campaign_is_not_found(charlie: Client, campaign_id: int) -> None:
    for name, url in urls(campaign_id).items():
        assert charlie.get(url, **HTMX).status_code == 404, name
    for action in ("pause", "resume", "cancel", "resend-unknown"):
        assert charlie.post(f"/campaigns/{campaign_id}/{action}/").status_code == 404, action
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"queued"}
    assert Campaign.objects.get(id=campaign_id).state == CampaignState.ACTIVE
    assert not AuditEvent.objects.filter(action="export").exists()


def test_preparer_sees_the_campaign_but_no_controls(bob: Client, campaign_id: int) -> None:
    html = page(bob, f"/campaigns/{campaign_id}/")
    assert "Recall" in html and 'data-testid="status"' in html
    assert "data-open-dialog" not in html and "/pause/" not in html and "/cancel/" not in html
    assert "Use as a start" in html and f'name="start" value="{campaign_id}"' in html
    response = bob.post(f"/campaigns/{campaign_id}/pause/")
    assert response.status_code == 403
    assert Campaign.objects.get(id=campaign_id).state == CampaignState.ACTIVE
    assert not AuditEvent.objects.filter(action="campaign_pause").exists()


def test_control_is_post_only_and_knows_its_actions(alice: Client, campaign_id: int) -> None:
    assert alice.get(f"/campaigns/{campaign_id}/pause/").status_code == 405
    assert alice.post(f"/campaigns/{campaign_id}/explode/").status_code == 404
    assert alice.post("/campaigns/999999/pause/").status_code == 404
    assert alice.get("/campaigns/999999/").status_code == 404
    assert Campaign.objects.get(id=campaign_id).state == CampaignState.ACTIVE


# --- the list --------------------------------------------------------------------------------------------------------

def test_list_newest_first_with_status_and_progress(alice: Client, send: Callable[..., int]) -> None:
    older, newer = send("Older"), send("Newer")
    set_status(older, MessageStatus.DELIVERED, 2)
    set_status(older, MessageStatus.FAILED, 1)
    html = page(alice, "/campaigns/")
    assert html.index("Newer") < html.index("Older")
    row = re.search(rf'<tr data-campaign="{older}">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "status-done" in row[1] and "sent 2 of 3" in row[1] and '<span class="bad">1</span>' in row[1]
    assert "alice" in row[1] and "service" in row[1] and "SMS" in row[1]
    assert f'data-campaign="{newer}"' in html

    only_done = page(alice, "/campaigns/?status=done")
    assert f'data-campaign="{older}"' in only_done and f'data-campaign="{newer}"' not in only_done
    assert f'data-campaign="{older}"' not in page(alice, "/campaigns/?status=paused")
    assert f'data-campaign="{newer}"' in page(alice, "/campaigns/?status=nonsense")  # ignored: all shown


def test_list_is_paginated(alice: Client, clinic: Clinic) -> None:
    now = timezone.now()
    for n in range(53):
        Campaign.objects.create(name=f"C{n:03d}", purpose="service", channel="sms", spec={},
                                audience={"clinics": [clinic.code]}, token=f"t{n}", deadline=now + timedelta(days=1),
                                created_by="alice")
    first = page(alice, "/campaigns/")
    assert first.count("<tr data-campaign=") == 50 and "C052" in first and "C002" not in first
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    second = page(alice, "/campaigns/?page=2")
    assert second.count("<tr data-campaign=") == 3 and "C000" in second


def test_created_is_shown_in_the_clinics_local_time(alice: Client, campaign_id: int) -> None:
    Campaign.objects.filter(id=campaign_id).update(created_at=dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC))
    assert "1 Jul 2026, 12:30" in page(alice, "/campaigns/")  # Tallinn, summer time; the shared `when` (en-GB)
    assert "1 Jul 2026, 12:30" in page(alice, f"/campaigns/{campaign_id}/")  # the shared `when` (en-GB)


# --- the campaign's page -------------------------------------------------------------------------------------------

def test_detail_header_counts_and_links(alice: Client, campaign_id: int) -> None:
    set_status(campaign_id, MessageStatus.DELIVERED, 1)
    html = page(alice, f"/campaigns/{campaign_id}/")
    meta = r'data-testid="meta">alice · <time[^>]*>\d{1,2} \w{3} \d{4}, \d\d:\d\d</time> · service · SMS'
    assert re.search(meta, html)
    # only the statuses that have messages, and the total
    counted = re.findall(r'data-count="(\w+)"', html)
    assert counted == ["queued", "delivered", "total"]
    assert '<td class="num" data-count="delivered">1</td>' in html
    assert '<td class="num" data-count="queued">2</td>' in html
    assert "Sent 1 of 3" in html
    assert f'href="/campaigns/{campaign_id}/messages.csv"' in html
    assert re.search(rf'<form method="post" action="/bulk/"[^>]*>.*?name="start" value="{campaign_id}"', html)


def test_progress_polls_only_while_sending(alice: Client, campaign_id: int) -> None:
    sending = page(alice, f"/campaigns/{campaign_id}/progress/", **HTMX)
    assert 'hx-trigger="every 2s"' in sending
    assert f'hx-get="/campaigns/{campaign_id}/progress/?polling=1&amp;s=' in sending
    assert 'hx-trigger="every 2s"' in page(alice, f"/campaigns/{campaign_id}/")  # the page starts the polling

    set_status(campaign_id, MessageStatus.DELIVERED)
    response = alice.get(f"/campaigns/{campaign_id}/progress/?polling=1", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "hx-trigger" not in html and "hx-get" not in html
    assert "status-done" in html and "Sent 3 of 3" in html
    assert response["HX-Refresh"] == "true"  # once: the page's controls and messages follow the new status
    assert "hx-trigger" not in page(alice, f"/campaigns/{campaign_id}/progress/")
    detail = page(alice, f"/campaigns/{campaign_id}/")
    assert 'hx-trigger="every 2s"' not in detail and "data-open-dialog" not in detail  # nothing left to pause or cancel


def test_pause_then_resume(alice: Client, campaign_id: int) -> None:
    html = page(alice, f"/campaigns/{campaign_id}/")
    assert 'data-open-dialog="confirm-pause"' in html and 'data-open-dialog="confirm-cancel"' in html
    assert "3 messages still waiting are held until you resume." in html
    assert "confirm-resume" not in html and "confirm-resend-unknown" not in html

    response = alice.post(f"/campaigns/{campaign_id}/pause/")
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign_id}/?done=pause&n=3"
    paused = page(alice, response["Location"])
    assert 'data-testid="status">paused' in paused and "Paused: 3 waiting messages are held." in paused
    assert 'data-open-dialog="confirm-resume"' in paused and "confirm-pause" not in paused
    assert "hx-trigger" in paused  # only the message filter's, not the progress poll
    assert 'hx-trigger="every 2s"' not in paused
    assert Campaign.objects.get(id=campaign_id).state == CampaignState.PAUSED

    response = alice.post(f"/campaigns/{campaign_id}/resume/")
    assert response.status_code == 302
    resumed = page(alice, response["Location"])
    assert 'data-testid="status">sending' in resumed and "Resumed: 3 messages are sent again." in resumed
    actions = list(AuditEvent.objects.filter(campaign_id=campaign_id).order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["campaign_pause", "campaign_resume"]


def test_cancel(alice: Client, campaign_id: int) -> None:
    set_status(campaign_id, MessageStatus.SENT, 1)
    response = alice.post(f"/campaigns/{campaign_id}/cancel/")
    assert response.status_code == 302
    html = page(alice, response["Location"])
    assert 'data-testid="status">cancelled' in html and "Cancelled: 2 messages will not be sent." in html
    assert "data-open-dialog" not in html
    assert sorted(OutboxMessage.objects.values_list("status", flat=True)) == ["cancelled", "cancelled", "sent"]
    assert alice.post(f"/campaigns/{campaign_id}/resume/").status_code == 409  # a cancelled campaign stays so


def test_resend_unknown(alice: Client, campaign_id: int) -> None:
    set_status(campaign_id, MessageStatus.UNKNOWN, 2)
    set_status(campaign_id, MessageStatus.SENT, 1)
    html = page(alice, f"/campaigns/{campaign_id}/")
    assert 'data-open-dialog="confirm-resend-unknown"' in html
    assert "2 messages whose fate is unknown are queued again." in html
    response = alice.post(f"/campaigns/{campaign_id}/resend-unknown/")
    assert response.status_code == 302 and response["Location"].endswith("?done=resend-unknown&n=2")
    assert "2 messages queued again." in page(alice, response["Location"])
    assert sorted(OutboxMessage.objects.values_list("status", flat=True)) == ["queued", "queued", "sent"]
    event = AuditEvent.objects.get(action="campaign_resend_unknown")
    assert event.actor == "alice" and event.detail == {"messages": 2}


def test_a_name_is_escaped(alice: Client, send: Callable[..., int]) -> None:
    campaign_id = send("<script>alert(1)</script>")
    for url in ("/campaigns/", f"/campaigns/{campaign_id}/"):
        html = page(alice, url)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_real_flow_ends_on_the_campaigns_page(alice: Client, patients: list[Patient]) -> None:
    preview = alice.post("/bulk/preview/", form_data())
    assert preview.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', preview.content.decode())
    assert token is not None
    response = alice.post("/bulk/send/", {"token": token[1], "confirm": "1"})
    assert response.status_code == 302
    match = re.fullmatch(r"/campaigns/(\d+)/", response["Location"])
    assert match is not None
    html = page(alice, response["Location"])
    assert "Recall" in html and "Sent 0 of 3" in html and 'hx-trigger="every 2s"' in html


# --- the messages --------------------------------------------------------------------------------------------------

def test_messages_filter_by_status_and_id(alice: Client, campaign_id: int, patients: list[Patient]) -> None:
    set_status(campaign_id, MessageStatus.FAILED, 1)
    OutboxMessage.objects.filter(status="failed").update(last_error="number not in use")
    url = f"/campaigns/{campaign_id}/messages/"
    everything = page(alice, url, **HTMX)
    assert everything.count("<tr data-ref=") == 3 and "3 messages" in everything
    failed = page(alice, url + "?status=failed", **HTMX)
    assert failed.count("<tr data-ref=") == 1 and "number not in use" in failed
    ref = patients[1].external_id
    exact = posted(alice, url, {"q": ref}, **HTMX)  # the filter form posts its search text
    assert exact.count("<tr data-ref=") == 1 and f'data-ref="{ref}"' in exact
    prefix = posted(alice, url, {"q": ref[:2]}, **HTMX)
    assert prefix.count("<tr data-ref=") == 3
    assert "No messages match." in posted(alice, url, {"q": "nobody"}, **HTMX)
    assert "No messages match." in posted(alice, url, {"status": "failed", "q": ref}, **HTMX)
    assert page(alice, f"{url}?q={ref}", **HTMX).count("<tr data-ref=") == 1  # an ID in a link still finds it
    # without htmx, the list is the campaign's page with the same filter
    response = alice.get(url + "?status=failed")
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign_id}/?status=failed"
    assert page(alice, response["Location"]).count("<tr data-ref=") == 1
    for target in (url, f"/campaigns/{campaign_id}/"):  # a POST without htmx: the whole page, filtered
        whole = posted(alice, target, {"status": "failed", "q": ref[:2]})
        assert '<h1>Recall</h1>' in whole and whole.count("<tr data-ref=") == 1, target


def test_messages_are_paginated(alice: Client, clinic: Clinic, make_patient: Callable[..., Patient]) -> None:
    for _ in range(52):
        make_patient()
    campaign_id = campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=alice_scope(clinic)).campaign_id
    url = f"/campaigns/{campaign_id}/messages/"
    first = page(alice, url, **HTMX)
    assert first.count("<tr data-ref=") == 50 and "page 1 of 2" in first and "Previous" not in first
    assert f'hx-get="{url}?page=2"' in first
    second = page(alice, url + "?page=2", **HTMX)
    assert second.count("<tr data-ref=") == 2 and "Next" not in second and f'hx-get="{url}?page=1"' in second
    assert page(alice, url + "?page=99", **HTMX).count("<tr data-ref=") == 2  # past the end: the last page
    assert page(alice, url + "?page=x", **HTMX).count("<tr data-ref=") == 50
    assert page(alice, f"/campaigns/{campaign_id}/").count("<tr data-ref=") == 50
    filtered = page(alice, url + "?status=queued&page=2", **HTMX)
    assert f'hx-get="{url}?status=queued&amp;page=1"' in filtered


# --- the CSV ---------------------------------------------------------------------------------------------------------

def test_export_streams_neutralised_rows_and_is_audited(alice: Client, bob: Client, clinic: Clinic,
                                                        make_patient: Callable[..., Patient]) -> None:
    make_patient(external_id="=1+1")
    make_patient(external_id="P2")
    campaign_id = campaign_send(spec=CampaignSpec.from_dict(campaign()), scope=alice_scope(clinic)).campaign_id
    OutboxMessage.objects.filter(patient_ref="P2").update(status="failed", last_error="@SUM(A1)")
    response = alice.get(f"/campaigns/{campaign_id}/messages.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="campaign-{campaign_id}-messages.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[arg-type]
    assert rows[0] == ["external_id", "channel", "language", "status", "error", "attempts", "created_at", "sent_at",
                       "status_changed_at"]
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {"'=1+1", "P2"}
    assert by_id["'=1+1"][1:5] == ["sms", "et", "queued", ""]
    assert by_id["P2"][3:5] == ["failed", "'@SUM(A1)"]
    assert all("Tere" not in cell and "@example.com" not in cell for r in rows for cell in r)  # no text, no address
    event = AuditEvent.objects.get(action="export")
    assert event.actor == "alice" and event.campaign_id == campaign_id
    assert event.detail == {"list": "messages", "campaign": campaign_id, "rows": 2}
    assert bob.get(f"/campaigns/{campaign_id}/messages.csv").status_code == 200  # reading: a preparer may
