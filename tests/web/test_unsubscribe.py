"""The patient's unsubscribe page, /u/<key>: no sign-in, no CSRF token; GET changes nothing; the buttons and a mail
provider's one-click POST (RFC 8058) unsubscribe and say so in the patient's language; a refused key is a 404 page
that says nothing about why; nothing of the page is kept, indexed or leaked through a Referer."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from masspost.campaigns.models import Campaign
from masspost.campaigns.services import campaign_send
from masspost.campaigns.spec import CampaignSpec
from masspost.clinic.models import ConsentEvent, Patient
from masspost.clinic.scope import Scope
from masspost.delivery.models import OptOutLink, OutboxMessage
from masspost.delivery.optout import optout_key
from tests.conftest import campaign
from tests.delivery.test_unsubscribe import make_campaign, make_link

pytestmark = pytest.mark.django_db
ONE_CLICK = "List-Unsubscribe=One-Click"
NOT_VALID = {"et": "See link ei kehti (enam). Sõnumitest loobumiseks võtke ühendust kliinikuga.",
             "en": "This link is not valid (any more). To stop messages, contact the clinic.",
             "ru": "Эта ссылка недействительна (или больше не действует). Чтобы отказаться от сообщений, "
                   "свяжитесь с клиникой."}


@pytest.fixture
def public() -> Client:
    """A browser or a mail provider: nobody signed in, and CSRF checked as in production."""
    return Client(enforce_csrf_checks=True)


def page(make_patient: Callable[..., Patient], *, language: str = "en", channel: str = "email",
         marketing: bool = True) -> tuple[Patient, Campaign, str]:
    patient = make_patient(language=language, first_name="Salme", last_name="Sõstar")
    campaign = make_campaign(channel=channel, purpose="marketing" if marketing else "service")
    return patient, campaign, f"/u/{make_link(patient, campaign, channel=channel, marketing=marketing)}"


def events() -> list[tuple[str, str, str]]:
    return list(ConsentEvent.objects.filter(source="unsubscribe").values_list("channel", "purpose", "wording"))


def test_get_shows_the_choices_and_changes_nothing(public: Client, make_patient: Callable[..., Patient]) -> None:
    patient, _campaign, url = page(make_patient)

    response = public.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Hammas Tallinn" in html and "This link came with an offer by e-mail." in html
    assert "Subject: “An offer from Hammas Tallinn”" in html
    assert 'value="marketing"' in html and "Unsubscribe from offers" in html
    assert 'value="all"' in html and "Unsubscribe from all e-mail" in html
    # No name, no address, no external id: the link may be forwarded.
    for personal in ("Salme", "Sõstar", patient.email, patient.external_id):
        assert personal not in html
    assert events() == []
    patient.refresh_from_db()
    assert (patient.accepts_email, patient.marketing_email) == (True, True)
    assert public.head(url).status_code == 200 and events() == []


def test_the_page_is_in_the_patients_language_whatever_the_browser_asks(
        public: Client, make_patient: Callable[..., Patient]) -> None:
    _patient, _campaign, url = page(make_patient, language="ru")
    response = public.get(url, headers={"accept-language": "et"})
    html = response.content.decode()
    assert '<html lang="ru">' in html and response["Content-Language"] == "ru"
    assert "Отписаться от предложений" in html and "Отписаться от всех писем" in html


def test_the_offers_button_unsubscribes_from_offers(public: Client, make_patient: Callable[..., Patient]) -> None:
    patient, campaign, url = page(make_patient, language="et")

    response = public.post(url, {"what": "marketing"})  # no CSRF token: the key is the credential

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="et">' in html
    assert "Te ei saa enam kliinikult Hammas Tallinn pakkumisi e-posti teel." in html
    assert events() == [("email", "marketing", "Loobu pakkumistest")]
    patient.refresh_from_db()
    assert (patient.accepts_email, patient.marketing_email) == (True, False)
    assert ConsentEvent.objects.get(source="unsubscribe").campaign_id == campaign.id
    # Back on the page: it says so and offers only what is left.
    again = public.get(url).content.decode()
    assert "Te ei saa juba praegu kliinikult Hammas Tallinn pakkumisi e-posti teel." in again
    assert 'value="marketing"' not in again and 'value="all"' in again


def test_the_all_button_stops_all_email(public: Client, make_patient: Callable[..., Patient]) -> None:
    patient, _campaign, url = page(make_patient)

    response = public.post(url, {"what": "all"})

    assert "You will no longer get any e-mail from Hammas Tallinn." in response.content.decode()
    assert events() == [("email", "service", "Unsubscribe from all e-mail")]
    patient.refresh_from_db()
    assert not patient.accepts_email and patient.accepts_sms
    again = public.get(url).content.decode()
    assert "You already get no e-mail from Hammas Tallinn." in again and "<button" not in again


def test_a_one_click_post_stops_offers_for_a_marketing_key(public: Client,
                                                          make_patient: Callable[..., Patient]) -> None:
    patient, _campaign, url = page(make_patient, language="ru")

    response = public.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert events() == [("email", "marketing", "Отписаться от предложений")]
    # The provider retries: nothing more is written.
    assert public.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200  # multipart, as RFC 8058 allows
    assert len(events()) == 1
    patient.refresh_from_db()
    assert (patient.accepts_email, patient.marketing_email) == (True, False)


def test_a_one_click_post_on_a_service_emails_key_stops_all_email(public: Client,
                                                                 make_patient: Callable[..., Patient]) -> None:
    patient, _campaign, url = page(make_patient, marketing=False)

    html = public.get(url).content.decode()
    assert "This link came with an e-mail from the clinic." in html and 'value="marketing"' in html
    public.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")

    assert events() == [("email", "service", "Unsubscribe from all e-mail")]


def test_an_sms_key_offers_sms_choices(public: Client, make_patient: Callable[..., Patient]) -> None:
    patient, _campaign, url = page(make_patient, channel="sms", language="et")

    html = public.get(url).content.decode()
    assert "Loobu SMS-pakkumistest" in html and "Loobu kõigist SMS-idest" in html and "Teema" not in html
    done = public.post(url, {"what": "all"}).content.decode()

    assert "Te ei saa enam kliinikult Hammas Tallinn ühtegi SMS-i." in done
    assert events() == [("sms", "service", "Loobu kõigist SMS-idest")]
    patient.refresh_from_db()
    assert (patient.accepts_sms, patient.accepts_email) == (False, True)


def test_a_post_without_a_choice_changes_nothing(public: Client, make_patient: Callable[..., Patient]) -> None:
    _patient, _campaign, url = page(make_patient)
    response = public.post(url, {"what": "everything"})
    # 200 with the page's error box (a 4xx would put the key into the request log: below).
    assert response.status_code == 200 and "Choose one of the buttons." in response.content.decode()
    assert events() == []


@pytest.fixture
def request_log() -> Iterator[list[logging.LogRecord]]:
    """What Django's `django.request` logger is given, whatever level the settings let through."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger, handler = logging.getLogger("django.request"), Keep(logging.DEBUG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_no_answer_puts_a_key_into_the_request_log(public: Client, make_patient: Callable[..., Patient],
                                                   request_log: list[logging.LogRecord]) -> None:
    """The key in the path is a credential: neither a refused key's 404 nor a POST without a button is logged."""
    _patient, campaign, url = page(make_patient)
    assert public.post(url, {"what": "everything"}).status_code == 200
    campaign.delete()
    assert public.get(url).status_code == 404 and public.post(url, {"what": "all"}).status_code == 404
    assert public.get("/u/A1b2C3d4E5f6").status_code == 404
    assert request_log == []
    assert public.get("/no-such-page").status_code == 404  # the log itself works: other 404s are in it
    assert [record.getMessage() for record in request_log] == ["Not Found: /no-such-page"]


@pytest.mark.parametrize("language", ["et", "en", "ru"])
def test_a_refused_key_is_a_404_page_in_the_browsers_language(public: Client, language: str,
                                                             make_patient: Callable[..., Patient]) -> None:
    _patient, campaign, url = page(make_patient)
    campaign.delete()  # its link goes with it
    for refused in (url, "/u/A1b2C3d4E5f6", "/u/x"):
        response = public.get(refused, headers={"accept-language": language})
        assert response.status_code == 404
        html = response.content.decode()
        assert f'<html lang="{language}">' in html and NOT_VALID[language] in html
        assert "Hammas Tallinn" not in html
        assert public.post(refused, {"what": "all"}, headers={"accept-language": language}).status_code == 404
    assert events() == []


def test_an_old_link_is_refused_like_any_other(public: Client, make_patient: Callable[..., Patient]) -> None:
    _patient, _campaign, url = page(make_patient)
    OptOutLink.objects.update(created_at=timezone.now() - dt.timedelta(days=401))
    response = public.post(url, {"what": "all"})
    assert response.status_code == 404 and NOT_VALID["en"] in response.content.decode()
    assert events() == []


def test_the_pages_are_not_kept_indexed_or_leaked(public: Client, make_patient: Callable[..., Patient]) -> None:
    _patient, _campaign, url = page(make_patient)
    for response in (public.get(url), public.post(url, {"what": "marketing"}), public.get("/u/A1b2C3d4E5f6")):
        assert "no-store" in response["Cache-Control"]
        assert response["Referrer-Policy"] == "no-referrer"
        assert "noindex" in response["X-Robots-Tag"]
        html = response.content.decode()
        assert '<meta name="robots" content="noindex, nofollow">' in html
        assert "csrfmiddlewaretoken" not in html and not response.cookies  # no session, no CSRF cookie
        assert "Sign out" not in html and "/bulk/" not in html  # none of the staff's frame


def test_a_signed_in_user_sees_the_same_page(alice: Client, make_patient: Callable[..., Patient]) -> None:
    _patient, _campaign, url = page(make_patient, language="et")
    html = alice.get(url).content.decode()
    assert '<html lang="et">' in html and "Loobu pakkumistest" in html


def test_get_leaves_queued_messages_and_post_suppresses_them(
        public: Client, settings: Any, make_patient: Callable[..., Patient]) -> None:
    """A mail scanner's GET while the campaign is still going out suppresses nothing; the patient's POST cancels
    their offers not yet handed off (status suppressed, reason unsubscribe) and leaves the others' alone."""
    settings.MASSPOST_PUBLIC_URL = "https://post.hammas.example"
    settings.SECRET_KEY = "test-secret-key-not-the-development-one"  # the development key writes no links here
    leaving, staying = make_patient(), make_patient()
    content = {"et": {"sms": "", "email_subject": "Pakkumine", "email_body": "Tere {first_name}!"}}
    sent = campaign_send(spec=CampaignSpec.from_dict(campaign(purpose="marketing", channel="email", content=content)),
                         scope=Scope.operator())
    url = f"/u/{optout_key(campaign_id=sent.campaign_id, patient_id=leaving.id, channel='email')}"

    def statuses() -> dict[int, tuple[str, str]]:
        return {row.patient_id: (row.status, row.last_error)
                for row in OutboxMessage.objects.filter(campaign_id=sent.campaign_id)}

    assert public.get(url).status_code == 200
    assert statuses() == {leaving.id: ("queued", ""), staying.id: ("queued", "")}
    assert public.post(url, {"what": "marketing"}).status_code == 200
    assert statuses() == {leaving.id: ("suppressed", "unsubscribe"), staying.id: ("queued", "")}
