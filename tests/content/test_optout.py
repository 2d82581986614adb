"""The opt-out line and footers (masspost.content.optout): their words per language, their cost in an SMS, HTML
escaping, and where an HTML footer goes."""

from __future__ import annotations

import pytest

from masspost.content.optout import (
    EMAIL_SEPARATOR,
    SMS_SEPARATOR,
    email_optout_footer,
    email_optout_footer_html,
    email_preferences_footer,
    email_preferences_footer_html,
    html_footer_position,
    sms_optout_line,
)
from masspost.sms import GSM7, UCS2, measure

URL = "https://mp.example.ee/u/AbC123xyz789"


@pytest.mark.parametrize(("language", "line"), [
    ("et", f"Loobu: {URL}"), ("en", f"Opt out: {URL}"), ("ru", f"Отписаться: {URL}"),
    ("fi", f"Opt out: {URL}"), ("ET", f"Loobu: {URL}")])
def test_sms_line_with_a_link(language: str, line: str) -> None:
    assert sms_optout_line(language, URL, "+3725551234") == line  # a link needs no number


@pytest.mark.parametrize(("language", "number", "line"), [
    ("et", "", "Loobumiseks vastake STOP"),
    ("et", "+3725551234", "Loobumiseks vastake STOP numbrile +3725551234"),
    ("en", "", "Reply STOP to opt out"),
    ("en", " 1311 ", "Reply STOP to 1311 to opt out"),
    ("ru", "", "Для отказа ответьте STOP"),
    ("ru", "+3725551234", "Для отказа ответьте STOP на номер +3725551234"),
    ("lv", "", "Reply STOP to opt out")])
def test_sms_line_without_a_link_is_the_stop_word(language: str, number: str, line: str) -> None:
    assert sms_optout_line(language, "", number) == line


@pytest.mark.parametrize("language", ["et", "en"])
@pytest.mark.parametrize("url", [URL, ""])
def test_estonian_and_english_lines_are_gsm7_and_short(language: str, url: str) -> None:
    line = SMS_SEPARATOR + sms_optout_line(language, url, "+3725551234")
    encoding, units, _ = measure(line)
    assert encoding == GSM7
    assert units <= len(URL) + 10 if url else units <= 50  # a fifth of a part at most, with its line break


def test_the_line_moves_a_full_gsm7_part_to_two_and_keeps_ucs2() -> None:
    line = SMS_SEPARATOR + sms_optout_line("et", URL, "")
    assert measure("a" * 155)[::2] == (GSM7, 1)
    assert measure("a" * 155 + line)[::2] == (GSM7, 2)
    assert measure("õ" * 60 + line)[0] == UCS2
    # The Russian line is Cyrillic: UCS-2, as a Russian text already is.
    assert measure("Привет" + SMS_SEPARATOR + sms_optout_line("ru", URL, ""))[0] == UCS2


def test_email_footers_plain() -> None:
    assert email_optout_footer("en", URL) == f"{EMAIL_SEPARATOR}Unsubscribe from offers: {URL}"
    assert email_optout_footer("et", URL) == f"{EMAIL_SEPARATOR}Loobu pakkumistest: {URL}"
    assert email_optout_footer("ru", URL) == f"{EMAIL_SEPARATOR}Отписаться от предложений: {URL}"
    assert email_optout_footer("en", "") == f"{EMAIL_SEPARATOR}To stop offers by e-mail, reply to this message."
    assert email_optout_footer("et", "") == f"{EMAIL_SEPARATOR}Pakkumistest loobumiseks vastake sellele kirjale."
    assert email_optout_footer("ru", "").startswith(f"{EMAIL_SEPARATOR}Чтобы отказаться от предложений")
    assert email_preferences_footer("en", URL) == f"{EMAIL_SEPARATOR}Your e-mail preferences: {URL}"
    assert email_preferences_footer("et", "") == ""  # a service e-mail without a link: no footer


def test_email_footers_html_escape_the_link() -> None:
    url = 'https://mp.example.ee/a"b&c<d>/u/KEY'
    footer = email_optout_footer_html("en", url)
    assert 'href="https://mp.example.ee/a&quot;b&amp;c&lt;d&gt;/u/KEY"' in footer
    assert '"b&c' not in footer and "<d>" not in footer
    assert footer.startswith("<p") and footer.endswith(">Unsubscribe from offers</a></p>")
    assert ">Loobu pakkumistest</a>" in email_optout_footer_html("et", URL)
    assert "reply to this message" in email_optout_footer_html("en", "")
    assert ">Your e-mail preferences</a>" in email_preferences_footer_html("en", URL)
    assert email_preferences_footer_html("en", "") == ""


@pytest.mark.parametrize(("body", "position"), [
    ("<p>Hi</p>", 9),
    ("<html><body><p>Hi</p></body></html>", 21),
    ("<html><BODY><p>Hi</p></Body></html>", 21),
    ("<p></body> in text</p></body>", 22),  # the last one
])
def test_html_footer_goes_before_the_last_body_end(body: str, position: int) -> None:
    assert html_footer_position(body) == position
