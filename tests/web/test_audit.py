"""The audit log page: ada (admin, Tallinn) reads and filters it; alice (sender) and bob (preparer) may not;
nobody signed in is sent to sign in."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from masspost.campaigns.audit import audit_record
from masspost.campaigns.models import AuditEvent
from masspost.clinic.models import Patient
from tests.web.conftest import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign_id(alice: Client, make_patient: Callable[..., Patient]) -> int:
    """A campaign through the real flow — preview, send, pause — by alice from 127.0.0.1."""
    for _ in range(2):
        make_patient()
    preview = alice.post("/bulk/preview/", form_data())
    token = re.search(r'name="token" value="([^"]+)"', preview.content.decode())
    assert token is not None
    response = alice.post("/bulk/send/", {"token": token[1], "confirm": "1"})
    match = re.fullmatch(r"/campaigns/(\d+)/", response["Location"])
    assert match is not None
    assert alice.post(f"{match[0]}pause/").status_code == 302
    return int(match[1])


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)">', html)


def test_admin_sees_preview_send_and_pause(ada: Client, campaign_id: int) -> None:
    response = ada.get("/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert rows(html)[:3] == ["campaign_pause", "campaign_send", "preview"]  # newest first
    pause = re.search(r'<tr data-action="campaign_pause">(.*?)</tr>', html, re.S)
    assert pause is not None
    assert "<bdi>alice</bdi></td>" in pause[1] and "127.0.0.1" in pause[1]
    # the action by its name, the details a sentence naming the campaign (linked), no code or dict
    assert ">Campaign paused</td>" in pause[1] and "campaign_pause</td>" not in pause[1]
    assert f'<a href="/campaigns/{campaign_id}/">“Recall”</a>: 2 messages held back</td>' in pause[1]
    send = re.search(r'<tr data-action="campaign_send">(.*?)</tr>', html, re.S)
    assert send is not None and "“Recall”</a>: 2 messages to 2 patients of Hammas Tallinn" in send[1]
    # local time (Tallinn), the English of Estonia, the zone named in the heading
    assert re.search(r'<time datetime="[^"]+\+0[23]:00">\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d</time>', pause[1])
    assert "When (Tallinn time)" in html
    assert 'aria-current="page"' in html and "Tere" not in html  # never a message's text


def test_filters(ada: Client, campaign_id: int) -> None:
    assert rows(ada.get("/audit/?action=campaign_send").content.decode()) == ["campaign_send"]
    assert set(rows(ada.get("/audit/?actor=alice").content.decode())) == {"preview", "campaign_send",
                                                                         "campaign_pause"}
    assert rows(ada.get("/audit/?actor=nobody").content.decode()) == []
    today = dt.datetime.now(ZoneInfo("Europe/Tallinn")).date()  # the dates are the clinic's
    tomorrow = today + dt.timedelta(days=1)
    assert len(rows(ada.get(f"/audit/?since={today}&until={today}&actor=alice").content.decode())) == 3
    assert rows(ada.get(f"/audit/?since={tomorrow}").content.decode()) == []
    assert rows(ada.get(f"/audit/?until={today - dt.timedelta(days=1)}").content.decode()) == []
    # a filter that does not parse is as if it were not given
    assert len(rows(ada.get("/audit/?action=nonsense&since=soon&actor=alice").content.decode())) == 3
    # the first and last days a date can hold: all of time (their Tallinn midnights do not fit in UTC), not a 500
    widest = ada.get("/audit/?since=0001-01-01&until=9998-12-31")
    assert widest.status_code == 200 and rows(widest.content.decode()) == rows(ada.get("/audit/").content.decode())
    page = ada.get("/audit/").content.decode()  # the dates are local ones, and the labels say no other zone
    assert ">From</label>" in page and ">To (inclusive)</label>" in page and "UTC" not in page


def test_pages_of_a_hundred(ada: Client) -> None:
    for n in range(105):
        audit_record(action="sign_in", actor=f"user{n:03d}", address="10.0.0.1")
    first = ada.get("/audit/").content.decode()
    assert len(rows(first)) == 100 and "user104" in first and "user004" not in first
    assert 'href="?page=2"' in first
    second = ada.get("/audit/?page=2").content.decode()
    assert len(rows(second)) == AuditEvent.objects.count() - 100 and "user000" in second  # and ada's user_add
    filtered = ada.get("/audit/?action=sign_in&page=1").content.decode()
    assert 'href="?action=sign_in&amp;page=2"' in filtered


def test_detail_is_a_sentence_and_escaped(ada: Client) -> None:
    AuditEvent.objects.create(actor="<b>x</b>", action="export",
                              detail={"rows": 3, "list": "messages", "token": "v3." + "a" * 80})
    html = ada.get("/audit/").content.decode()
    assert "the campaign&#x27;s messages, 3 rows" in html and "v3.aaa" not in html and "rows=3" not in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_only_admins(alice: Client, bob: Client) -> None:
    assert alice.get("/audit/").status_code == 403
    assert bob.get("/audit/").status_code == 403
    assert "/audit/" not in alice.get("/campaigns/").content.decode()  # not in alice's menu either


def test_signed_out_goes_to_sign_in() -> None:
    response = Client().get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/?next=")


def test_post_is_not_allowed(ada: Client) -> None:
    assert ada.post("/audit/").status_code == 405


def test_an_admin_of_one_clinic_sees_only_what_their_own_staff_did(ada, make_staff, other_clinic) -> None:
    from masspost.campaigns.audit import audit_record

    make_staff("tartu", "sender", other_clinic)
    audit_record(action="sign_in", actor="tartu", address="10.0.0.9")
    audit_record(action="sign_in", actor="ada", address="10.0.0.8")
    page = ada.get("/audit/").content.decode()
    assert "10.0.0.8" in page
    assert "10.0.0.9" not in page
