"""CSRF on every state change, the security headers, escaping of patients' and users' text, no patient data in
URLs, and `masspost check --deploy` clean in production."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from masspost.campaigns.models import Campaign
from masspost.clinic.models import Clinic, Patient
from tests.web.conftest import form_data, preview, token_of

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
LINK = {"HTTP_SEC_FETCH_SITE": "same-origin"}  # a click on a link of masspost's own page


def html(response: Any) -> str:
    return str(response.content.decode())


def csrf_client(username: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username=username))
    return client


# --- CSRF -------------------------------------------------------------------------------------------------------
def test_a_post_without_the_csrf_token_is_refused(alice: Client, tln_campaign: int) -> None:
    token = token_of(preview(alice, name="Second", sms_et="Teine"))
    client = csrf_client("alice")
    for path, data in (("/bulk/count/", form_data()), ("/bulk/sms/", {"field": "sms_et", "sms_et": "x"}),
                       ("/bulk/sms/fix/", {"field": "sms_et", "sms_et": "x"}), ("/bulk/preview/", form_data()),
                       ("/bulk/send/", {"token": token}), (f"/campaigns/{tln_campaign}/pause/", {}),
                       (f"/campaigns/{tln_campaign}/cancel/", {}), ("/language/", {"language": "ru"}),
                       ("/sign-out/", {})):
        assert client.post(path, data).status_code == 403, path
        assert client.post(path, data, HTTP_HX_REQUEST="true").status_code == 403, path
    assert Campaign.objects.count() == 1 and Campaign.objects.get().state == "active"
    assert client.get("/bulk/").status_code == 200  # still signed in: sign-out was refused too


def test_htmx_requests_carry_the_csrf_token_from_the_body(alice: Client) -> None:
    client = csrf_client("alice")
    page = html(client.get("/bulk/"))
    found = re.search(r'<body hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'>', page)
    assert found
    response = client.post("/bulk/sms/", {"field": "sms_et", "sms_et": "Tere"}, HTTP_X_CSRFTOKEN=found.group(1),
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200


# --- headers ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/bulk/", "/sign-in/", "/campaigns/"])
def test_security_headers(alice: Client, path: str) -> None:
    response = alice.get(path)
    csp = {d.split()[0]: d.split()[1:] for d in (part.strip() for part in response["Content-Security-Policy"]
                                                 .split(";")) if d}
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_inline_script_or_style_in_the_pages(alice: Client, patients: dict[str, Patient]) -> None:
    for page in (html(alice.get("/bulk/")), html(preview(alice)), html(alice.get("/sign-in/"))):
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # every script is a file
        assert "<style" not in page and " style=" not in page
        assert not re.search(r"\son[a-z]+=", page)  # no onclick= and the like


# --- caching ------------------------------------------------------------------------------------------------------
def no_store(response: Any) -> bool:
    return "no-store" in response.get("Cache-Control", "") and "private" in response.get("Cache-Control", "")


def test_pages_lists_and_csvs_with_patient_data_are_never_cached(alice: Client, tln_campaign: int) -> None:
    preview(alice, name="Again")
    c = f"/campaigns/{tln_campaign}"
    for path, extra in (("/bulk/", {}), ("/bulk/preview/recipients.csv", LINK), ("/bulk/preview/excluded.csv", LINK),
                        (f"{c}/", {}), (f"{c}/messages/", {"HTTP_HX_REQUEST": "true"}),
                        (f"{c}/messages.csv", {}), (f"{c}/messages.csv?list=excluded", {}),
                        (f"{c}/progress/", {}), ("/campaigns/", {}), ("/campaigns/999/", {})):
        response = alice.get(path, **extra)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert no_store(response), (path, response.get("Cache-Control"))
    assert no_store(alice.post("/bulk/preview/", form_data()))
    assert no_store(alice.post("/bulk/count/", form_data()))


def test_every_api_answer_is_never_cached(alice: Client, tln_campaign: int) -> None:
    from masspost.clinic.scope import Scope
    from masspost.staff.tokens import token_create

    api = Client(headers={"Authorization": "Bearer " + token_create(scope=Scope.operator(), username="alice",
                                                                   name="cache").secret})
    for path in ("/api/v1/patients", f"/api/v1/campaigns/{tln_campaign}/messages", f"/api/v1/campaigns/{tln_campaign}",
                 f"/api/v1/campaigns/{tln_campaign}/recipients.csv", f"/api/v1/campaigns/{tln_campaign}/excluded.csv",
                 "/api/v1/me", "/api/v1/campaigns/999"):
        response = api.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert no_store(response), (path, response.get("Cache-Control"))
    assert no_store(Client().get("/api/v1/patients"))  # a 401 too


def test_static_files_may_be_cached(alice: Client) -> None:
    static = Client().get("/static/masspost/app.css")
    assert static.status_code == 200 and "no-store" not in static.get("Cache-Control", "")


# --- escaping -----------------------------------------------------------------------------------------------------
def test_a_patients_name_is_escaped_in_the_preview(alice: Client, clinic: Clinic,
                                                   make_patient: Callable[..., Patient]) -> None:
    make_patient(first_name=SCRIPT, last_name='"><img src=x onerror=alert(2)>')
    response = preview(alice, sms_et="Tere {first_name} {last_name}!", channel="both", subject_et="Tere {first_name}",
                       body_et="Tere {first_name} {last_name}")
    page = html(response)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the sample shows it, as text
    assert SCRIPT not in page and "<img" not in page
    csv_text = b"".join(alice.get("/bulk/preview/recipients.csv", **LINK).streaming_content).decode()
    assert SCRIPT in csv_text  # the list is data, not HTML: the name as it is


def test_a_campaign_text_with_html_shows_as_text(alice: Client, patients: dict[str, Patient]) -> None:
    text = "Tere <b>{first_name}</b>! <a href=\"http://x\">klikk</a>"
    response = preview(alice, name="<i>Kampaania</i>", sms_et=text)
    page = html(response)
    assert "<b>Mari</b>" not in page and '<a href="http://x">' not in page and "<i>Kampaania</i>" not in page
    assert "Tere &lt;b&gt;Mari&lt;/b&gt;!" in page and "&lt;i&gt;Kampaania&lt;/i&gt;" in page
    back = html(alice.get("/bulk/"))
    assert "Tere &lt;b&gt;{first_name}&lt;/b&gt;!" in back and "<b>{first_name}" not in back
    sent = alice.post("/bulk/send/", {"token": token_of(response)})
    campaign_page = html(alice.get(sent["Location"]))
    assert "<i>Kampaania</i>" not in campaign_page and "&lt;i&gt;Kampaania&lt;/i&gt;" in campaign_page


def test_the_sms_counter_escapes_what_it_echoes(alice: Client) -> None:
    page = html(alice.post("/bulk/sms/fix/", {"field": "sms_et", "sms_et": SCRIPT + "“x”" + "a" * 150}))
    assert SCRIPT not in page and "&lt;script&gt;" in page
    forged = html(alice.post("/bulk/sms/", {"field": 'sms_"><script>', 'sms_"><script>': "x"}))
    assert "<script>" not in forged


# --- no patient data in URLs --------------------------------------------------------------------------------------
def test_no_patient_name_or_phone_in_any_link(alice: Client, patients: dict[str, Patient]) -> None:
    response = preview(alice, sms_ru="Привет, {first_name}!")
    pages = [html(alice.get("/bulk/")), html(response)]
    sent = alice.post("/bulk/send/", {"token": token_of(response)})
    pages += [html(alice.get(sent["Location"])), html(alice.get("/campaigns/")),
              html(alice.get(sent["Location"] + "messages/", HTTP_HX_REQUEST="true"))]
    secrets_of_patients = set()
    for p in patients.values():
        secrets_of_patients |= {p.first_name, p.last_name, p.phone, p.phone_e164, p.email}
    secrets_of_patients.discard("")
    for page in pages:
        urls = re.findall(r'\b(?:href|action|hx-get|hx-post|src)="([^"]*)"', page)
        assert urls or "<html" not in page
        for url in urls:
            for secret in secrets_of_patients:
                assert secret not in url and secret.replace("+", "%2B") not in url, (url, secret)


# --- check --deploy -----------------------------------------------------------------------------------------------
def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    env = os.environ | {"MASSPOST_PRODUCTION": "1", "MASSPOST_SECRET_KEY": secrets.token_urlsafe(64),
                        "MASSPOST_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run([sys.executable, "-m", "masspost", "check", "--deploy"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "WARNING" not in output and "?:" not in output, output
    assert "no issues" in output
