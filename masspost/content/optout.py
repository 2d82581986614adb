"""The opt-out every marketing message carries, and the preferences link of a service e-mail (docs/sms.md, "The
opt-out line"; docs/campaign.md, "Opting out: the line and the footer"). Pure: the caller gives the link (or ""
when MASSPOST_PUBLIC_URL is not set, so no page can be reached) and the clinic's reply number.

The words are short on purpose: every character of an SMS is paid for, in every message of the campaign. A
marketing SMS gets one line after its text (`SMS_SEPARATOR`): the link with one word before it, or — without a
link — the stop word, which every gateway's replies honour (delivery.inbound), and the number to send it to where
the clinic has one. Languages without words of their own here get English.
"""

from __future__ import annotations

import html

__all__ = ["EMAIL_SEPARATOR", "LANGUAGES", "SMS_SEPARATOR", "email_optout_footer", "email_optout_footer_html",
           "email_preferences_footer", "email_preferences_footer_html", "html_footer_position", "sms_optout_line"]

SMS_SEPARATOR = "\n"  # between an SMS's text and its opt-out line (one GSM-7 character)
EMAIL_SEPARATOR = "\n\n-- \n"  # a plain-text e-mail's footer: the signature separator mail programs know
LANGUAGES = ("et", "en", "ru")

# A marketing SMS with a link: "<word>: <link>".
_SMS_LINK = {"et": "Loobu", "en": "Opt out", "ru": "Отписаться"}
# Without one: the stop word (with " <to the number>" where the clinic has a number replies reach).
_SMS_STOP = {"et": "Loobumiseks vastake STOP", "en": "Reply STOP to opt out", "ru": "Для отказа ответьте STOP"}
_SMS_STOP_TO = {"et": "Loobumiseks vastake STOP numbrile {n}", "en": "Reply STOP to {n} to opt out",
                "ru": "Для отказа ответьте STOP на номер {n}"}
# E-mail: the link's words (plain text: "<words>: <link>"; HTML: the words are the link).
_EMAIL_OPTOUT = {"et": "Loobu pakkumistest", "en": "Unsubscribe from offers", "ru": "Отписаться от предложений"}
_EMAIL_PREFERENCES = {"et": "Teie e-kirjade eelistused", "en": "Your e-mail preferences",
                      "ru": "Настройки ваших писем"}
# A marketing e-mail without a link: the recipient can still always reply.
_EMAIL_REPLY = {"et": "Pakkumistest loobumiseks vastake sellele kirjale.",
                "en": "To stop offers by e-mail, reply to this message.",
                "ru": "Чтобы отказаться от предложений, ответьте на это письмо."}
_HTML_P = '<p style="font-size:small;color:#555">{}</p>'


def _words(table: dict[str, str], language: str) -> str:
    return table.get(language.lower(), table["en"])


def sms_optout_line(language: str, url: str, reply_number: str) -> str:
    """The opt-out line of a marketing SMS (the caller puts SMS_SEPARATOR before it): the link when there is one,
    else the stop word, with `reply_number` when it is not empty."""
    if url:
        return f"{_words(_SMS_LINK, language)}: {url}"
    number = reply_number.strip()
    if number:
        return _words(_SMS_STOP_TO, language).format(n=number)
    return _words(_SMS_STOP, language)


def email_optout_footer(language: str, url: str) -> str:
    """A plain-text marketing e-mail's footer, to append to the body: the unsubscribe link, or without one the
    words asking for a reply."""
    words = f"{_words(_EMAIL_OPTOUT, language)}: {url}" if url else _words(_EMAIL_REPLY, language)
    return EMAIL_SEPARATOR + words


def email_preferences_footer(language: str, url: str) -> str:
    """A plain-text service e-mail's footer: the link to the patient's preferences ("" without a link)."""
    return (EMAIL_SEPARATOR + f"{_words(_EMAIL_PREFERENCES, language)}: {url}") if url else ""


def email_optout_footer_html(language: str, url: str) -> str:
    """The footer of an HTML marketing e-mail: a paragraph whose words are the link (the URL escaped)."""
    if not url:
        return _HTML_P.format(html.escape(_words(_EMAIL_REPLY, language)))
    return _HTML_P.format(_link(url, _words(_EMAIL_OPTOUT, language)))


def email_preferences_footer_html(language: str, url: str) -> str:
    """The footer of an HTML service e-mail ("" without a link)."""
    return _HTML_P.format(_link(url, _words(_EMAIL_PREFERENCES, language))) if url else ""


def _link(url: str, words: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(words)}</a>'


def html_footer_position(body: str) -> int:
    """Where an HTML body's footer goes: before its last `</body>` (any case), or at its end when it has none."""
    found = body.lower().rfind("</body>")
    return found if found >= 0 else len(body)
