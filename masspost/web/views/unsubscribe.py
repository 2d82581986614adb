"""The patient's unsubscribe page, `/u/<key>` (docs/consent.md, "Unsubscribing"): the link in every marketing
message and the preferences link of a service e-mail.

No sign-in and no CSRF token: the key is the credential, and a mail provider's one-click POST (RFC 8058) carries
nothing else. GET only shows — mail scanners and link previews follow every link — and POST unsubscribes: a button
of the page (`what=marketing|all`) or the provider's body `List-Unsubscribe=One-Click` (offers for a marketing
message's key, the whole channel for a service e-mail's). Everything is in the patient's language (et, en, ru;
any other reads English), whatever the browser asks for. The page holds no name and no address — the link may
be forwarded — and says nothing about why a key is refused. Not kept by a browser or a proxy, not indexed, and no
Referer to whatever the patient opens next.

The path holds the key, a credential: no answer of this page goes to Django's `django.request` log, which names
the path of every 4xx ("Not Found: /u/<key>"). A POST without a button is answered 200 with the page's error box,
and a refused key's 404 is marked as logged already.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from masspost.delivery import optout
from masspost.delivery.optout import PAGE_LANGUAGES, WHATS, OptOutTarget, button_words, optout_target, page_language
from masspost.errors import NotFoundError

# RFC 8058: the body a mail provider POSTs for List-Unsubscribe-Post: List-Unsubscribe=One-Click.
ONE_CLICK_NAME, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, key: str) -> HttpResponse:
    try:
        target = optout_target(key)
    except NotFoundError:
        return _refused(request)
    language = target.page_language
    if request.method != "POST":
        return _page(request, "web/unsubscribe.html", language, _choices(target))
    what = _what(request, target)
    if what is None:
        # 200, not 400: a 4xx would put the (valid) key into the request log; the page says what is wrong.
        return _page(request, "web/unsubscribe.html", language, _choices(target) | {"choose": True})
    try:
        done = optout.unsubscribe(key=key, what=what)
    except NotFoundError:  # gone between the two reads (its campaign deleted this very moment)
        return _refused(request)
    return _page(request, "web/unsubscribe_done.html", language,
                 {"target": done.target, "what": done.what, "channel": done.target.channel})


def _what(request: HttpRequest, target: OptOutTarget) -> str | None:
    """The page's button, else the RFC 8058 one-click body: offers for a marketing key, the channel as a whole for
    a service e-mail's preferences key (its message was no offer: stopping offers would stop nothing)."""
    what = request.POST.get("what", "")
    if what in WHATS:
        return what
    if request.POST.get(ONE_CLICK_NAME) == ONE_CLICK_VALUE:
        return "marketing" if target.marketing else "all"
    return None


def _choices(target: OptOutTarget) -> dict[str, Any]:
    language = target.page_language
    return {"target": target, "channel": target.channel,
            "buttons": [{"what": what, "words": button_words(channel=target.channel, what=what, language=language)}
                        for what in WHATS if not (what == "marketing" and target.offers_stopped)
                        and not target.all_stopped]}


def _refused(request: HttpRequest) -> HttpResponse:
    """The same page for every refused key, in the browser's language (there is no patient to ask)."""
    asked = translation.get_language() or "en"
    response = _page(request, "web/unsubscribe_refused.html", page_language(asked.split("-")[0]), {}, status=404)
    # django.utils.log.log_response skips a response so marked: no "Not Found: /u/<key>" with a key in the log.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _page(request: HttpRequest, template: str, language: str, context: dict[str, Any],
          status: int = 200) -> HttpResponse:
    assert language in PAGE_LANGUAGES
    with translation.override(language):
        response = render(request, template, {**context, "page_language": language}, status=status)
    response["Content-Language"] = language
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    add_never_cache_headers(response)
    return response
