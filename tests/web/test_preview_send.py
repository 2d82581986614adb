"""Eelvaade (Preview) → Saada (Send) / Tagasi (Back): errors keep what was typed, the preview's numbers are the
domain's, the lists download and are audited, Back restores everything, Send sends exactly the preview."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from masspost.campaigns.models import AuditEvent, Campaign, PreviewSnapshot
from masspost.campaigns.selectors import campaign_preview
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import Clinic, Patient
from masspost.delivery.models import OutboxMessage
from masspost.staff.selectors import staff_scope
from tests.web.conftest import form_data, preview, token_of

pytestmark = pytest.mark.django_db

RU = "Здравствуйте, {first_name}!"


# What a browser says of a request's origin (Sec-Fetch-Site; the test client sends none unless told): a click on
# one of masspost's own pages, and a reload, bookmark or typed address.
CLICK = {"HTTP_SEC_FETCH_SITE": "same-origin"}
RELOAD = {"HTTP_SEC_FETCH_SITE": "none"}


def html(response: Any) -> str:
    return str(response.content.decode())


def alice_scope() -> Any:
    return staff_scope(user=get_user_model().objects.get(username="alice"))


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- errors -------------------------------------------------------------------------------------------------------
def test_form_errors_are_422_on_their_field_and_keep_everything_typed(alice: Client,
                                                                     patients: dict[str, Patient]) -> None:
    typed = form_data(name="Sügiskontroll", age_min="70", age_max="20", countries="EE, FI",
                      visited_from="2024-01-01", visited_to="2024-12-31", channel="both", purpose="marketing",
                      clinics=["TLN"], sms_et="Tere {first_name}! <b>Kõik</b> & hästi", sms_ru=RU,
                      subject_et="Meeldetuletus", body_et="")
    response = alice.post("/bulk/preview/", typed)
    assert response.status_code == 422
    page = html(response)
    form = response.context["form"]
    assert "age_max" in form.errors and "body_et" in form.errors
    assert re.search(r'id="errors-age_max"><p class="error"[^>]*>The upper age is below the lower one.', page)
    assert re.search(r'id="errors-body_et"><p class="error"[^>]*>An e-mail needs both a subject and a text.', page)
    assert 'value="Sügiskontroll"' in page and 'value="70"' in page and 'value="20"' in page
    assert all(re.search(rf'name="countries" value="{c}"[^>]*checked', page) for c in ("EE", "FI"))
    assert 'name="visited_from" value="2024-01-01"' in page and 'name="visited_to" value="2024-12-31"' in page
    assert re.search(r'name="channel" value="both"[^>]*checked', page)
    assert re.search(r'name="purpose" value="marketing"[^>]*checked', page)
    assert re.search(r'name="clinics" value="TLN"[^>]*checked', page)
    assert ">Tere {first_name}! &lt;b&gt;Kõik&lt;/b&gt; &amp; hästi</textarea>" in page
    assert f">{RU}</textarea>" in page
    assert 'name="subject_et" value="Meeldetuletus"' in page
    assert not AuditEvent.objects.filter(action="preview").exists()


def test_no_text_at_all_is_an_error_on_the_first_sms_box(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, sms_et="")
    assert response.status_code == 422
    assert "Write the SMS in at least one language." in response.context["form"].errors["sms_et"]


def test_an_unknown_merge_field_is_an_error_on_its_box(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, sms_ru="Привет {foo}")
    assert response.status_code == 422
    assert "{foo} is not a field masspost knows" in response.context["form"].errors["sms_ru"][0]


# --- the preview ----------------------------------------------------------------------------------------------
def test_preview_numbers_are_the_domains(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, sms_ru=RU)
    assert response.status_code == 200
    page = html(response)
    spec = CampaignSpec.from_dict({"name": "Recall", "channel": "sms",
                                   "content": {"et": {"sms": "Tere {first_name}! Aeg kontrolli."}, "ru": {"sms": RU}}})
    expected = campaign_preview(spec=spec, scope=alice_scope(), audit=False).to_dict()
    assert expected["recipients"] == {"et": {"sms": 1, "email": 0}, "ru": {"sms": 2, "email": 0}}
    for lang, by in expected["recipients"].items():
        row = re.search(rf'<tr data-lang="{lang}">(.*?)</tr>', page, re.S)
        assert row
        cells = re.findall(r'<td class="num"[^>]*>([\d,]+)</td>', row.group(1))
        assert int(cells[0]) == by["sms"]
        assert int(cells[1]) == expected["sms"][lang]["parts_total"]
    assert re.search(rf'data-testid="sms-total"[^>]*>{sum(b["sms"] for b in expected["recipients"].values())}<', page)
    assert re.search(rf'data-testid="parts-total"[^>]*>{expected["sms_parts_total"]}<', page)
    for reason, n in expected["excluded"]["sms"].items():
        if n:
            assert re.search(rf'data-testid="reason-sms-{reason}" data-count="{n}">'
                             rf'<span class="sentence">{n} patients? ', page)
    assert response.context["p"]["token"] == expected["token"]


def test_a_preview_is_audited(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, sms_ru=RU)
    event = AuditEvent.objects.get(action="preview")
    assert event.actor == "alice" and event.address == "127.0.0.1"
    assert event.detail["token"] == token_of(response) and event.detail["messages"] == 3


def test_recipients_csv(alice: Client, patients: dict[str, Patient]) -> None:
    preview(alice, sms_ru=RU)
    rows = csv_rows(alice.get("/bulk/preview/recipients.csv", **CLICK))
    assert rows[0] == ["external_id", "first_name", "last_name", "channel", "language", "fallback", "address",
                       "encoding", "parts"]
    got = {(r[0], r[1], r[3], r[4], r[6]) for r in rows[1:]}
    assert got == {(p.external_id, p.first_name, "sms", lang, p.phone_e164)
                   for p, lang in ((patients["mari"], "et"), (patients["ivan"], "ru"), (patients["olga"], "ru"))}
    event = AuditEvent.objects.get(action="export")
    assert event.actor == "alice" and event.detail["list"] == "recipients" and event.detail["rows"] == 3


def test_excluded_csv_of_one_channel_and_reason(alice: Client, patients: dict[str, Patient]) -> None:
    preview(alice, sms_ru=RU)
    rows = csv_rows(alice.get("/bulk/preview/excluded.csv?channel=sms&reason=no_address", **CLICK))
    assert rows == [["external_id", "first_name", "last_name", "channel", "reason", "patient_language", "got_it"],
                    [patients["anna"].external_id, "Anna", "Maasikas", "sms", "no_address", "et", ""]]
    everyone = csv_rows(alice.get("/bulk/preview/excluded.csv", **CLICK))
    assert {(r[0], r[4]) for r in everyone[1:]} == {(patients["anna"].external_id, "no_address"),
                                                    (patients["jaan"].external_id, "opted_out")}
    events = list(AuditEvent.objects.filter(action="export").order_by("id"))
    assert [(e.detail["list"], e.detail["channel"], e.detail["reason"], e.detail["rows"]) for e in events] == [
        ("excluded", "sms", "no_address", 1), ("excluded", "", "", 2)]
    assert all("Anna" not in str(e.detail) for e in events)


def test_csv_without_a_preview_goes_back_to_the_form(alice: Client, patients: dict[str, Patient]) -> None:
    response = alice.get("/bulk/preview/recipients.csv", **CLICK)
    assert response.status_code == 302 and response["Location"] == "/bulk/"
    unknown = alice.get("/bulk/preview/other.csv", **CLICK)
    assert unknown.status_code == 404 and "There is nothing here" in html(unknown)
    assert not AuditEvent.objects.filter(action="export").exists()


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(alice: Client, clinic: Clinic,
                                                                make_patient: Callable[..., Patient]) -> None:
    make_patient(first_name="=HYPERLINK(\"http://x\")")
    preview(alice)
    rows = csv_rows(alice.get("/bulk/preview/recipients.csv", **CLICK))
    assert rows[1][1].startswith("'=")


# --- Back -----------------------------------------------------------------------------------------------------
def test_back_restores_every_filter_and_text(alice: Client, patients: dict[str, Patient]) -> None:
    typed = form_data(name="Kontroll 2025", age_min="18", age_max="90", countries="EE, FI",
                      visited_from="2024-01-01", visited_to="2024-12-31", not_visited_from="2025-01-01",
                      not_visited_to="2025-06-30", channel="both", purpose="marketing", clinics=["TLN"],
                      fallback_language="et", sms_et="Tere {first_name}!", sms_ru=RU,
                      subject_et="Meeldetuletus", body_et="Tere {first_name},\n\naeg on käes.",
                      subject_ru="Напоминание", body_ru="Здравствуйте!")
    assert alice.post("/bulk/preview/", typed).status_code == 200
    page = html(alice.get("/bulk/"))
    assert 'value="Kontroll 2025"' in page and 'name="age_min" value="18"' in page
    assert 'name="age_max" value="90"' in page
    assert all(re.search(rf'name="countries" value="{c}"[^>]*checked', page) for c in ("EE", "FI"))
    for name in ("visited_from", "visited_to", "not_visited_from", "not_visited_to"):
        assert f'name="{name}" value="{typed[name]}"' in page
    assert re.search(r'name="channel" value="both"[^>]*checked', page)
    assert not re.search(r'name="channel" value="sms"[^>]*checked', page)
    assert re.search(r'name="purpose" value="marketing"[^>]*checked', page)
    assert re.search(r'name="clinics" value="TLN"[^>]*checked', page)
    assert re.search(r'<option value="et" selected>', page)
    assert ">Tere {first_name}!</textarea>" in page and f">{RU}</textarea>" in page
    assert "Tere {first_name},\n\naeg on käes.</textarea>" in page
    assert 'value="Meeldetuletus"' in page and 'value="Напоминание"' in page and ">\nЗдравствуйте!</textarea>" in page


def test_start_over_empties_the_form(alice: Client, patients: dict[str, Patient]) -> None:
    preview(alice, name="Kontroll 2025")
    page = html(alice.get("/bulk/"))
    assert re.search(r'<form method="post" action="/bulk/"[^>]*>.*?name="new" value="1"', page, re.S)
    response = alice.post("/bulk/", {"new": "1"})
    assert response.status_code == 302 and response["Location"] == "/bulk/"
    assert "Kontroll 2025" not in html(alice.get("/bulk/"))


def test_a_get_with_new_leaves_the_draft_and_asks(alice: Client, patients: dict[str, Patient]) -> None:
    """A cross-site link to /bulk/?new=1 (or an old bookmark) wipes nothing: the form, as it was, and a question
    whose button is the POST."""
    preview(alice, name="Kontroll 2025")
    response = alice.get("/bulk/?new=1")
    assert response.status_code == 200
    page = html(response)
    assert 'value="Kontroll 2025"' in page
    ask = re.search(r'<form method="post" action="/bulk/" class="ask box"[^>]*>(.*?)</form>', page, re.S)
    assert ask and 'name="csrfmiddlewaretoken"' in ask.group(1) and 'name="new" value="1"' in ask.group(1)
    assert 'value="Kontroll 2025"' in html(alice.get("/bulk/"))


def test_replacing_the_draft_without_the_csrf_token_is_refused(patients: dict[str, Patient],
                                                               make_staff: Callable[..., Client],
                                                               clinic: Clinic) -> None:
    make_staff("eve", "sender", clinic)
    browser = Client(enforce_csrf_checks=True)  # as a browser is: the token is checked
    browser.force_login(get_user_model().objects.get(username="eve"))
    page = html(browser.get("/bulk/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert browser.post("/bulk/preview/", form_data(name="Kontroll 2025", csrfmiddlewaretoken=token)).status_code == 200
    assert browser.post("/bulk/", {"new": "1"}).status_code == 403
    assert 'value="Kontroll 2025"' in html(browser.get("/bulk/"))
    assert browser.post("/bulk/", {"new": "1", "csrfmiddlewaretoken": token}).status_code == 302
    assert 'value="Kontroll 2025"' not in html(browser.get("/bulk/"))


# --- Send -------------------------------------------------------------------------------------------------------
def _outbox(campaign_id: int | None = None) -> set[tuple[str, str, str, str]]:
    qs = OutboxMessage.objects.all() if campaign_id is None else OutboxMessage.objects.filter(campaign_id=campaign_id)
    return {(m.patient_ref, m.channel, m.language, m.body) for m in qs}


def test_send_sends_exactly_the_preview(alice: Client, patients: dict[str, Patient]) -> None:
    token = token_of(preview(alice, sms_ru=RU))
    response = alice.post("/bulk/send/", {"token": token})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.id}/"
    assert campaign.token == token and campaign.created_by == "alice"
    assert _outbox() == {(patients["mari"].external_id, "sms", "et", "Tere Mari! Aeg kontrolli."),
                         (patients["ivan"].external_id, "sms", "ru", "Здравствуйте, Ivan!"),
                         (patients["olga"].external_id, "sms", "ru", "Здравствуйте, Olga!")}
    assert AuditEvent.objects.filter(action="campaign_send", campaign=campaign).count() == 1


def test_the_same_token_again_is_the_same_campaign(alice: Client, patients: dict[str, Patient]) -> None:
    token = token_of(preview(alice, sms_ru=RU))
    first = alice.post("/bulk/send/", {"token": token})
    again = alice.post("/bulk/send/", {"token": token})  # a double click, or Back and Send once more
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Campaign.objects.count() == 1 and OutboxMessage.objects.count() == 3


def test_the_same_token_after_a_new_preview_is_still_the_first_campaign(alice: Client,
                                                                        patients: dict[str, Patient]) -> None:
    token = token_of(preview(alice))
    first = alice.post("/bulk/send/", {"token": token})
    preview(alice, sms_ru=RU)  # the next campaign, in another tab
    again = alice.post("/bulk/send/", {"token": token})
    assert again["Location"] == first["Location"]
    assert Campaign.objects.count() == 1 and OutboxMessage.objects.count() == 1


def _stale(response: Any) -> str:
    assert response.status_code == 409
    page = html(response)
    assert 'data-testid="stale-reason"' in page
    assert re.search(r'<form method="post" action="/bulk/preview/"[^>]*>.*name="again" value="1"', page, re.S)
    assert OutboxMessage.objects.count() == 0 and Campaign.objects.count() == 0
    return page


def test_a_changed_phone_makes_the_token_stale(alice: Client, patients: dict[str, Patient]) -> None:
    token = token_of(preview(alice, sms_ru=RU))
    Patient.objects.filter(id=patients["ivan"].id).update(phone="55512345", phone_e164="+37255512345")
    page = _stale(alice.post("/bulk/send/", {"token": token}))
    assert "preview again" in page.lower()
    # "Preview again" previews the kept draft anew, and that token sends.
    again = alice.post("/bulk/preview/", {"again": "1"})
    assert again.status_code == 200
    assert alice.post("/bulk/send/", {"token": token_of(again)}).status_code == 302
    assert ("+37255512345",) in {(m.address,) for m in OutboxMessage.objects.all()}


def test_a_new_patient_makes_the_token_stale(alice: Client, patients: dict[str, Patient],
                                             make_patient: Callable[..., Patient]) -> None:
    token = token_of(preview(alice, sms_ru=RU))
    make_patient(first_name="Uus")
    page = _stale(alice.post("/bulk/send/", {"token": token}))
    assert re.search(r"\b1\b", re.search(r'data-testid="stale-reason">(.*?)</div>', page, re.S).group(1))


def test_no_token_no_send(alice: Client, patients: dict[str, Patient]) -> None:
    preview(alice)
    for data in ({}, {"token": ""}, {"token": "   "}):
        response = alice.post("/bulk/send/", data)
        assert response.status_code == 302 and response["Location"] == "/bulk/"
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0


def test_a_forged_token_is_refused(alice: Client, patients: dict[str, Patient]) -> None:
    preview(alice)
    response = alice.post("/bulk/send/", {"token": "v3.nonsense"})
    assert response.status_code in (400, 409)
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0


def test_a_preparer_may_preview_but_not_send(bob: Client, patients: dict[str, Patient]) -> None:
    response = preview(bob)
    assert response.status_code == 200
    page = html(response)
    assert 'action="/bulk/send/"' not in page and "may preview, not send" in page
    sent = bob.post("/bulk/send/", {"token": token_of(response)})
    assert sent.status_code == 403
    assert Campaign.objects.count() == 0 and OutboxMessage.objects.count() == 0
    assert not AuditEvent.objects.filter(action="campaign_send").exists()


def test_nothing_to_send_is_said_not_sent(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, countries="LV")
    assert response.status_code == 200
    assert "Nothing to send" in html(response) and 'action="/bulk/send/"' not in html(response)
    refused = alice.post("/bulk/send/", {"token": token_of(response)})
    assert refused.status_code == 400
    assert Campaign.objects.count() == 0


# --- use as a start --------------------------------------------------------------------------------------------
def test_a_past_campaign_is_the_start_of_a_new_one(alice: Client, patients: dict[str, Patient]) -> None:
    token = token_of(preview(alice, name="Talvine kontroll", age_min="20", countries="EE", clinics=["TLN"],
                             visited_from="2024-01-01", visited_to="2024-12-31", sms_ru=RU, purpose="marketing"))
    campaign_id = int(alice.post("/bulk/send/", {"token": token})["Location"].strip("/").split("/")[-1])
    assert alice.post("/bulk/", {"new": "1"}).status_code == 302
    assert f'name="start" value="{campaign_id}"' in html(alice.get(f"/campaigns/{campaign_id}/"))
    response = alice.post("/bulk/", {"start": str(campaign_id)})
    assert response.status_code == 302 and response["Location"] == "/bulk/"
    page = html(alice.get("/bulk/"))
    assert 'value="Talvine kontroll"' in page and 'name="age_min" value="20"' in page and 'value="EE"' in page
    assert 'name="visited_from" value="2024-01-01"' in page
    assert re.search(r'name="purpose" value="marketing"[^>]*checked', page)
    assert re.search(r'name="clinics" value="TLN"[^>]*checked', page)
    assert ">Tere {first_name}! Aeg kontrolli.</textarea>" in page and f">{RU}</textarea>" in page


def test_a_get_with_start_leaves_the_draft_and_asks(alice: Client, patients: dict[str, Patient]) -> None:
    token = token_of(preview(alice, name="Talvine kontroll"))
    campaign_id = int(alice.post("/bulk/send/", {"token": token})["Location"].strip("/").split("/")[-1])
    preview(alice, name="Uus kevad")
    response = alice.get(f"/bulk/?start={campaign_id}")
    assert response.status_code == 200
    page = html(response)
    assert 'value="Uus kevad"' in page and "Talvine kontroll" in page  # the question names the campaign
    assert re.search(rf'class="ask box".*?name="start" value="{campaign_id}"', page, re.S)
    assert 'value="Uus kevad"' in html(alice.get("/bulk/"))


def test_start_of_another_clinics_campaign_is_404(alice: Client, charlie: Client,
                                                  patients: dict[str, Patient]) -> None:
    token = token_of(preview(alice, name="Ainult Tallinn"))
    campaign_id = int(alice.post("/bulk/send/", {"token": token})["Location"].strip("/").split("/")[-1])
    for start in (str(campaign_id), "999999"):
        assert charlie.post("/bulk/", {"start": start}).status_code == 404
        assert charlie.get(f"/bulk/?start={start}").status_code == 404
    assert charlie.post("/bulk/", {"start": "abc"}).status_code in (400, 404)  # not a campaign id at all
    assert "Ainult Tallinn" not in html(charlie.get("/bulk/"))


# --- the preview's own address --------------------------------------------------------------------------------
def test_a_reload_of_the_preview_previews_the_draft_again(alice: Client, patients: dict[str, Patient]) -> None:
    first = preview(alice, sms_ru=RU)
    response = alice.get("/bulk/preview/", **RELOAD)  # a reload, a bookmark, a typed address
    assert response.status_code == 200
    assert token_of(response) == token_of(first)
    assert response.context["p"]["recipients"] == first.context["p"]["recipients"]
    assert 'action="/bulk/send/"' in html(response)


def test_a_link_on_massposts_own_page_to_the_preview_previews_again(alice: Client,
                                                                   patients: dict[str, Patient]) -> None:
    first = preview(alice)
    response = alice.get("/bulk/preview/", **CLICK)
    assert response.status_code == 200 and token_of(response) == token_of(first)


def test_the_preview_without_a_draft_is_the_form(alice: Client, patients: dict[str, Patient]) -> None:
    response = alice.get("/bulk/preview/", **RELOAD)
    assert response.status_code == 302 and response["Location"] == "/bulk/"
    assert not AuditEvent.objects.filter(action="preview").exists()


@pytest.mark.parametrize("origin", [{"HTTP_SEC_FETCH_SITE": "cross-site"}, {"HTTP_SEC_FETCH_SITE": "same-site"},
                                    {}], ids=["cross-site", "same-site", "no header"])
def test_another_sites_link_to_the_preview_runs_none(alice: Client, patients: dict[str, Patient],
                                                     origin: dict[str, str]) -> None:
    """Another site — or a sibling subdomain (same-site), or a browser that does not say where the request came
    from — gets the form: no pass over the audience, no audit event, no snapshot. The form's Preview is a POST."""
    preview(alice)
    snapshots = PreviewSnapshot.objects.count()
    response = alice.get("/bulk/preview/", **origin)
    assert response.status_code == 302 and response["Location"] == "/bulk/"
    assert AuditEvent.objects.filter(action="preview").count() == 1
    assert PreviewSnapshot.objects.count() == snapshots


@pytest.mark.parametrize("origin", [{"HTTP_SEC_FETCH_SITE": "cross-site"}, {"HTTP_SEC_FETCH_SITE": "same-site"},
                                    {}], ids=["cross-site", "same-site", "no header"])
@pytest.mark.parametrize("path", ["/bulk/preview/recipients.csv", "/bulk/preview/excluded.csv?channel=sms"])
def test_another_sites_link_to_a_preview_list_runs_none(alice: Client, patients: dict[str, Patient],
                                                        origin: dict[str, str], path: str) -> None:
    """The lists are the preview's whole pass again, audited as an export: the same rule as the preview."""
    preview(alice)
    response = alice.get(path, **origin)
    assert response.status_code == 302 and response["Location"] == "/bulk/"
    assert not AuditEvent.objects.filter(action="export").exists()
    assert alice.get(path, **CLICK).status_code == 200  # the link on the preview page itself


@pytest.mark.parametrize("broken", ["subject_et", "body_et"])
def test_a_merge_field_error_in_an_email_box_is_the_only_error_there(alice: Client, patients: dict[str, Patient],
                                                                     broken: str) -> None:
    """Both boxes are written, one with an unknown merge field: its error is that field, and the other box has
    none — not "an e-mail needs both a subject and a text" (the broken box was written)."""
    texts = {"subject_et": "Meeldetuletus", "body_et": "Tere {first_name}!"} | {broken: "Tere {eesnimi}!"}
    response = preview(alice, channel="email", sms_et="", **texts)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert len(errors[broken]) == 1 and errors[broken][0].startswith("{eesnimi} is not a field")
    other = ({"subject_et", "body_et"} - {broken}).pop()
    assert other not in errors
    assert "needs both" not in html(response)


def test_a_line_break_in_a_subject_is_an_error_next_to_it(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, channel="email", sms_et="", subject_et="Tere\nMari", body_et="Aeg kontrolli.")
    assert response.status_code == 422
    assert response.context["form"].errors["subject_et"] == ["A subject is one line: remove the line break."]
    assert not response.context["form"].non_field_errors()


def test_the_preview_says_how_many_get_their_clinics_language(alice: Client, patients: dict[str, Patient],
                                                              make_patient: Callable[..., Patient],
                                                              other_clinic: Clinic) -> None:
    make_patient(first_name="Keeletu", language="")
    make_patient(first_name="Keeletu", language="", accepts_sms=False)  # left out of the SMS: still counted
    make_patient(first_name="Tartu", language="", clinic=other_clinic)  # not Alice's clinic
    response = preview(alice, sms_ru=RU)
    assert response.context["p"]["no_language"] == {"et": 2}
    assert re.search(r'data-testid="no-language-et">2 patients have no language set: they get Estonian, their '
                     r"clinic(&#x27;|')s language.</p>", html(response))
    assert 'data-testid="no-language-ru"' not in html(response)
