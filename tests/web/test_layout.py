"""The page frame and the words around the lists (issue 17, points 5 and 13): roles in the user's language and
clinics by name in the header and on the staff page, the language switch's names written alike, the sign-in
refusal in the field's own word, the campaign list's filter applied on change with the count said, and the API
docs with a way back to masspost and to the API guide."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from masspost.api.main import GUIDE
from masspost.clinic.models import Clinic
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ROLE_WORDS = {"et": ("koostaja", "saatja", "administraator"), "ru": ("составитель", "отправитель", "администратор"),
              "en": ("preparer", "sender", "administrator")}


def speaking(client: Client, lang: str) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response
    return response.content.decode()


def header(html: str) -> str:
    return html[html.index('<header class="top">'):html.index("</header>")]


@pytest.mark.parametrize("lang", ["et", "ru", "en"])
def test_the_header_names_the_role_in_the_users_language_and_their_one_clinic(
        make_staff: Callable[..., Client], clinic: Clinic, lang: str) -> None:
    preparer, _, admin = ROLE_WORDS[lang]
    top = header(page(speaking(make_staff("liis", "preparer", clinic), lang), "/campaigns/"))
    assert f'<span class="role">{preparer}</span>' in top
    assert '<span class="clinic">Hammas Tallinn</span>' in top
    assert "TLN" not in top
    top = header(page(speaking(make_staff("boss", "admin", clinic), lang), "/campaigns/"))
    assert f'<span class="role">{admin}</span>' in top
    if lang != "en":
        assert not re.search(r"\b(preparer|sender|admin)\b", top), "a stored role value on an et/ru page"


def test_a_user_of_several_clinics_gets_no_clinic_in_the_header(make_staff: Callable[..., Client], clinic: Clinic,
                                                                 other_clinic: Clinic) -> None:
    top = header(page(make_staff("mari", "sender", clinic, other_clinic), "/campaigns/"))
    assert 'class="clinic"' not in top and "TLN" not in top


@pytest.mark.parametrize("lang", ["et", "ru"])
def test_the_staff_page_shows_roles_in_words_and_clinics_by_name(make_staff: Callable[..., Client], clinic: Clinic,
                                                                 other_clinic: Clinic, lang: str) -> None:
    admin = speaking(make_staff("ada", "admin", clinic, other_clinic), lang)
    make_staff("liis", "preparer", clinic)
    make_staff("mari", "sender", clinic, other_clinic)
    html = page(admin, "/users/")
    users = html[html.index('class="data cards staff-list"'):html.index("</table>")]
    preparer, sender, administrator = ROLE_WORDS[lang]
    # the role selects: every option a word of the language, the stored value only as the value
    options = re.findall(r'<option value="(\w+)"( selected)?>([^<]*)</option>', users)
    assert {(value, label) for value, _, label in options} == {
        ("preparer", preparer), ("sender", sender), ("admin", administrator)}
    assert ("preparer", " selected", preparer) in options and ("sender", " selected", sender) in options
    assert f"<td class=\"wide role-cell\" data-label=\"{'Roll' if lang == 'et' else 'Роль'}\">{administrator}</td>" \
        in users
    assert '<span class="clinic-name">Hammas Tallinn,</span> <span class="clinic-name">Hammas Tartu</span>' in users
    assert '<span class="clinic-name">Hammas Tallinn</span></td>' in users
    assert not re.search(r"\bTLN\b|\bTRT\b", users)
    # and the form that gives a role says it in the same words
    form = html[html.index('id="add-title"'):html.index('id="list-title"')]
    assert not re.search(r">\s*(preparer|sender|admin)\b", form)
    assert f"{preparer}:" in form and f"{administrator}:" in form


def test_the_language_switch_writes_every_language_name_alike(alice: Client) -> None:
    html = page(alice, "/campaigns/")
    names = re.findall(r'<option value="(\w+)" lang="\w+"(?: selected)?>([^<]*)</option>', header(html))
    assert names == [("et", "ET · Eesti"), ("en", "EN · English"), ("ru", "RU · Русский")]


@pytest.mark.parametrize(("lang", "field", "refusal"), [
    ("et", "Kasutajanimi", "Vale kasutajanimi või parool."),
    ("ru", "Имя пользователя", "Неверное имя пользователя или пароль."),
    ("en", "User name", "Wrong user name or password."),
])
def test_a_refused_sign_in_says_the_fields_own_word_in_a_box_apart_from_the_label(
        make_staff: Callable[..., Client], clinic: Clinic, lang: str, field: str, refusal: str) -> None:
    make_staff("dora", "sender", clinic)
    client = speaking(Client(), lang)
    html = client.post("/sign-in/", {"username": "dora", "password": PASSWORD + "x"}).content.decode()
    assert f">{field}</label>" in html
    error = re.search(r'<p class="error box" role="alert" id="sign-in-error">([^<]*)</p>', html)
    assert error and error.group(1).startswith(refusal), html
    assert "kasutajatunnus" not in html and "username" not in error.group(1)


def test_the_campaign_list_filter_applies_on_change_and_says_how_many(alice: Client, tln_campaign: int) -> None:
    html = page(alice, "/campaigns/")
    form = html[html.index('<form method="get" action="/campaigns/"'):html.index("</form>", html.index(
        'action="/campaigns/"'))]
    assert 'hx-trigger="change"' in form and 'hx-get="/campaigns/"' in form and 'hx-push-url="true"' in form
    assert 'hx-select="#campaign-list"' in form and 'hx-target="#campaign-list"' in form
    assert '<button type="submit" class="js-hide">Show</button>' in form  # kept for a browser without JavaScript
    assert re.search(r'id="campaign-count" role="status">1 campaign</p>', html)
    assert 'id="campaign-list"' in html
    html = page(alice, "/campaigns/?status=paused")
    assert re.search(r'id="campaign-count" role="status">0 campaigns</p>', html)


def test_the_campaign_list_puts_status_and_progress_right_after_the_name(alice: Client, tln_campaign: int) -> None:
    html = page(alice, "/campaigns/")
    heads = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', html[html.index("<thead>"):html.index("</thead>")])
    assert heads[:4] == ["Name", "Status", "Progress", "Problems"]


def test_the_api_docs_lead_back_to_masspost_and_to_the_guide(client: Client) -> None:
    html = page(client, "/api/docs")
    assert 'id="swagger-ui"' in html and "swagger-ui-bundle.js" in html
    assert re.search(r'<a class="api-home" href="/bulk/"[^>]*>← masspost</a>', html)
    assert 'href="/api/guide/"' in html and 'href="/api/openapi.json"' in html
    assert "<script>" not in html  # no inline script (CSP script-src 'self')
    # Swagger UI's settings: JSON made safe for a <script> element by json_script, read by ninja's init script
    settings = re.search(r'<script id="swagger-settings" type="application/json">(.*?)</script>', html, re.S)
    assert settings is not None and json.loads(settings[1])["url"] == "/api/openapi.json"
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]*api-docs\.css)">', html)
    assert stylesheet is not None and client.get(stylesheet[1]).status_code == 200


def test_the_api_guide_is_served_as_written(client: Client) -> None:
    response = client.get("/api/guide/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "# The REST API" in html and "Authorization: Bearer TOKEN" in html
    assert re.search(r'<a class="api-home" href="/bulk/"', html)
    assert GUIDE.read_text(encoding="utf-8").splitlines()[2].replace("'", "&#x27;")[:40] in html
    assert client.post("/api/guide/").status_code == 405


def test_without_the_repositorys_docs_the_guide_is_a_404_and_not_linked(client: Client, monkeypatch: Any,
                                                                         tmp_path: Any) -> None:
    import masspost.api.main as api_main

    monkeypatch.setattr(api_main, "GUIDE", tmp_path / "api.md")
    assert client.get("/api/guide/").status_code == 404
    assert "/api/guide/" not in page(client, "/api/docs").split("</header>")[0]


@pytest.mark.parametrize(("lang", "words"), [("et", "käsurida (root)"), ("ru", "командная строка (root)")])
def test_the_campaign_list_names_the_command_line_in_the_users_language(alice: Client, tln_campaign: int,
                                                                        lang: str, words: str) -> None:
    from masspost.campaigns.models import Campaign

    Campaign.objects.filter(id=tln_campaign).update(created_by="command line (root)", created_by_user=None)
    html = page(speaking(alice, lang), "/campaigns/")
    assert f"<bdi>{words}</bdi>" in html and "command line" not in html
