"""Who may open what, swept over every URL of the web namespace (taken from the resolver, so a new URL is in the
sweep the day it is added): signed out → the sign-in page, not staff → 403, another clinic's campaign → 404,
GET on a POST-only URL → 405."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLResolver, get_resolver

from masspost.campaigns.models import AuditEvent, Campaign
from masspost.clinic.models import Patient
from masspost.delivery.models import MessageStatus, OutboxMessage
from tests.web.conftest import form_data, preview

pytestmark = pytest.mark.django_db

PUBLIC = {"sign_in", "sign_out", "language", "unsubscribe"}  # what a signed-out visitor may use
POST_ONLY = {"sign_out", "language", "bulk_count", "sms_counter", "sms_fix", "text_check", "send", "test_send",
             "campaign_control",
             "user_role", "user_disable", "token_revoke", "token_create"}
# and campaign_id: the Tallinn campaign
ARGUMENTS = {"kind": "recipients", "action": "pause", "user_id": "2", "language": "et", "code": "TLN",
             "key": "A1b2C3d4E5f6"}  # key: an unsubscribe link's, unknown (its page: tests/web/test_unsubscribe.py)


def web_urls() -> dict[str, tuple[str, list[str]]]:
    """Every named URL of the web namespace: name → (a format string with %(param)s, its parameters)."""
    namespace = get_resolver().namespace_dict["web"][1]
    assert isinstance(namespace, URLResolver)
    found: dict[str, tuple[str, list[str]]] = {}
    for name in namespace.reverse_dict:
        if isinstance(name, str):
            possibilities = namespace.reverse_dict.getlist(name)[0][0]
            found[name] = possibilities[0]
    assert {"bulk", "preview", "send", "campaign", "campaigns"} <= set(found)
    return found


def filled(campaign_id: int) -> dict[str, str]:
    """name → path, every parameter filled; a new kind of parameter must be added to ARGUMENTS."""
    paths = {}
    for name, (pattern, params) in web_urls().items():
        values = ARGUMENTS | {"campaign_id": str(campaign_id)}
        missing = [p for p in params if p not in values]
        assert not missing, f"URL {name!r} has parameters {missing} this sweep does not know: add them to ARGUMENTS"
        paths[name] = "/" + pattern % {p: values[p] for p in params}
    return paths


def campaign_urls(paths: dict[str, str], campaign_id: int) -> dict[str, str]:
    return {name: path for name, path in paths.items() if f"/{campaign_id}/" in path or f"/{campaign_id}." in path}


def responses(client: Client, path: str, **headers: Any) -> list[Any]:
    """GET and POST; the one that is not 405 (the method the view takes) is what the user meets."""
    got = [client.get(path, **headers), client.post(path, **headers)]
    answered = [r for r in got if r.status_code != 405]
    assert answered, f"{path}: 405 for GET and POST"
    return answered


def test_the_sweep_knows_every_url(tln_campaign: int) -> None:
    paths = filled(tln_campaign)
    assert paths["bulk"] == "/bulk/" and paths["campaign"] == f"/campaigns/{tln_campaign}/"
    assert not POST_ONLY - set(paths), f"POST_ONLY names a URL that is gone: {POST_ONLY - set(paths)}"
    assert campaign_urls(paths, tln_campaign)  # the campaign's own pages are in the sweep


def test_signed_out_goes_to_sign_in(tln_campaign: int) -> None:
    client = Client()
    for name, path in filled(tln_campaign).items():
        if name in PUBLIC:
            continue
        for response in responses(client, path):
            assert response.status_code == 302, (name, response.status_code)
            assert response["Location"] == f"/sign-in/?next={quote(path)}", name


def test_signed_out_htmx_gets_401_with_hx_redirect(tln_campaign: int) -> None:
    client = Client()
    for name, path in filled(tln_campaign).items():
        if name in PUBLIC:
            continue
        for response in responses(client, path, HTTP_HX_REQUEST="true"):
            assert response.status_code == 401, name
            assert response["HX-Redirect"].startswith("/sign-in/?next="), name


def test_signed_out_changes_nothing(tln_campaign: int, patients: dict[str, Patient]) -> None:
    client = Client()
    before = (Campaign.objects.count(), OutboxMessage.objects.filter(status=MessageStatus.QUEUED).count())
    client.post(f"/campaigns/{tln_campaign}/cancel/")
    client.post("/bulk/send/", {"token": Campaign.objects.get().token})
    assert (Campaign.objects.count(), OutboxMessage.objects.filter(status=MessageStatus.QUEUED).count()) == before


def test_a_user_who_is_not_staff_gets_403(tln_campaign: int) -> None:
    user = get_user_model().objects.create_user(username="plain", password="x" * 12)
    client = Client()
    client.force_login(user)
    for name, path in filled(tln_campaign).items():
        if name in PUBLIC:
            continue
        for response in responses(client, path):
            assert response.status_code == 403, (name, response.status_code)
            assert "Tallinn recall" not in response.content.decode()


def test_get_on_a_post_only_url_is_405(ada: Client, tln_campaign: int) -> None:
    paths = filled(tln_campaign)
    for name in POST_ONLY:
        response = ada.get(paths[name])
        assert response.status_code == 405, name
        assert "POST" in response["Allow"]


def test_every_other_url_answers_a_get(ada: Client, tln_campaign: int) -> None:
    """The converse: a URL not listed as POST-only serves GET — so a new POST-only URL must be listed above."""
    for name, path in filled(tln_campaign).items():
        if name not in POST_ONLY:
            status = ada.get(path).status_code
            if name in ("campaign_email", "unsubscribe"):  # an SMS-only campaign's e-mail; an unknown link's key
                assert status == 404, status
                continue
            assert status in (200, 302), f"{name} ({path}): {status}; POST-only? add it to POST_ONLY"


def test_another_clinics_campaign_is_404_everywhere(charlie: Client, tln_campaign: int) -> None:
    paths = campaign_urls(filled(tln_campaign), tln_campaign)
    queued = OutboxMessage.objects.filter(status=MessageStatus.QUEUED).count()
    for name, path in paths.items():
        for response in responses(charlie, path) + responses(charlie, path, HTTP_HX_REQUEST="true"):
            assert response.status_code == 404, (name, response.status_code)
            assert "Tallinn recall" not in response.content.decode()
    for action in ("pause", "resume", "cancel", "resend-unknown"):
        assert charlie.post(f"/campaigns/{tln_campaign}/{action}/").status_code == 404
    assert charlie.get(f"/bulk/?start={tln_campaign}").status_code == 404
    assert charlie.post("/bulk/", {"start": str(tln_campaign)}).status_code == 404
    assert Campaign.objects.get().state == "active"
    assert OutboxMessage.objects.filter(status=MessageStatus.QUEUED).count() == queued
    assert not AuditEvent.objects.filter(actor="charlie", action__startswith="campaign_").exists()
    # …and the list of campaigns does not name it.
    assert "Tallinn recall" not in charlie.get("/campaigns/").content.decode()


def _patients_in_count(client: Client, **overrides: Any) -> int | None:
    page = client.post("/bulk/count/", form_data(**overrides)).content.decode()
    found = re.search(r'data-testid="patients"><b>(\d+)</b>', page)
    return int(found.group(1)) if found else None


def test_counts_and_previews_of_charlie_never_include_tallinn(charlie: Client, patients: dict[str, Patient]) -> None:
    assert _patients_in_count(charlie) == 2  # Tiit and Pavel
    assert _patients_in_count(charlie, clinics=["TRT"]) == 2
    # Tallinn is not among his choices: the form refuses it rather than counting it (or counting all of his).
    page = charlie.post("/bulk/count/", form_data(clinics=["TLN"])).content.decode()
    assert _patients_in_count(charlie, clinics=["TLN"]) is None
    assert re.search(r'id="errors-clinics" hx-swap-oob="true"><p class="error"', page)
    assert _patients_in_count(charlie, clinics=["TRT", "TLN"]) is None
    refused = preview(charlie, clinics=["TLN"], sms_ru="Привет")
    assert refused.status_code == 422 and "clinics" in refused.context["form"].errors
    assert 'value="TLN"' not in refused.content.decode()  # not even offered
    shown = preview(charlie, sms_ru="Привет")
    assert shown.status_code == 200
    page = shown.content.decode()
    assert shown.context["p"]["audience"]["patients"] == 2
    for name in ("Mari", "Ivan", "Olga"):
        assert name not in page
    assert AuditEvent.objects.filter(actor="charlie", action="preview").count() == 1
    listed = charlie.get("/bulk/preview/recipients.csv", HTTP_SEC_FETCH_SITE="same-origin")  # the preview's link
    rows = b"".join(listed.streaming_content).decode()
    assert patients["tiit"].external_id in rows and patients["mari"].external_id not in rows


def test_a_preparer_may_not_control(bob: Client, tln_campaign: int) -> None:
    assert bob.post(f"/campaigns/{tln_campaign}/pause/").status_code == 403
    assert Campaign.objects.get().state == "active"
