"""The API object: its routers under /api/v1/, the schema at /api/openapi.json, docs at /api/docs (Swagger UI under
a bar back to masspost) and the guide, docs/api.md, at /api/guide/."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from masspost import version
from masspost.api import approvals, audit, campaigns, consents, directory, imports, problems, sms
from masspost.api.auth import BearerToken

DESCRIPTION = """Bulk SMS and e-mail for a dental clinic's patient system: import patients and visits, preview
and send campaigns, follow every message. Every request carries `Authorization: Bearer TOKEN` (made with
`masspost token create USERNAME` or on the staff page); a token reaches what its user reaches. Errors are RFC 9457
problem details. A walk-through with curl: [the API guide](/api/guide/) (docs/api.md)."""

# The guide is the repository's docs/api.md, served as written (Markdown reads as plain text; rendering it would
# take a Markdown library as a dependency for one page). A package installed without the repository's docs has
# no guide: the bar leaves its link out and /api/guide/ is a 404.
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"


class MasspostSwagger(Swagger):
    """ninja's Swagger UI page in the API's own template (api/templates/api/docs.html): the same settings and
    scripts, under a bar with the way back to masspost and the links to the guide and the schema."""

    template = "api/docs.html"

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        return render(request, self.template, {"swagger_settings": self.settings, "api": api,
                                               "add_csrf": csrf_needed(api), "guide": GUIDE.is_file()})


def csrf_needed(api: NinjaAPI) -> bool:
    """Whether the Swagger UI must send the CSRF token: when an auth of the API reads the session cookie (its
    `csrf` flag, as ninja's own docs page decides; ninja's helper for it is private). masspost's bearer tokens
    need none."""
    auths = api.auth if isinstance(api.auth, Sequence) else [api.auth]
    return any(getattr(auth, "csrf", False) for auth in auths)


@require_GET
def guide(request: HttpRequest) -> HttpResponse:
    if not GUIDE.is_file():
        return _no_such_path(request)
    return render(request, "api/guide.html", {"text": GUIDE.read_text(encoding="utf-8"), "guide": True,
                                              "version": version()})

# Answers any operation may give, added to each in the schema (the handlers in `problems` make them).
COMMON: dict[str, str] = {
    "400": "the body cannot be read as its Content-Type says (not JSON, a multipart body without a boundary)",
    "401": "no token, or not a live one",
    "413": "the body is larger than the limit",
    "422": "the request does not match the schema (`errors` has each field's path)",
    "429": "the token's rate limit: retry after Retry-After seconds",
}


class MasspostApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Error responses are problem+json, and every operation lists the answers any request may get."""
        schema = super().get_openapi_schema(**kwargs)
        problem = {"$ref": "#/components/schemas/Problem"}
        for methods in schema["paths"].values():
            for operation in methods.values():
                # ninja keys the `response=` codes by int, `openapi_extra` by str: one key per code, the explicit
                # openapi_extra one winning (else the JSON has "200" twice and the last one, not the right one,
                # counts).
                declared = sorted(operation.get("responses", {}).items(), key=lambda item: isinstance(item[0], str))
                responses = operation["responses"] = {str(code): response for code, response in declared}
                for code, text in COMMON.items():
                    responses.setdefault(code, {"description": text, "content": {"application/json":
                                                                                 {"schema": problem}}})
                for code, response in responses.items():
                    if int(code) >= 400 and "application/json" in response.get("content", {}):
                        response["content"] = {problems.PROBLEM_JSON: response["content"]["application/json"]}
                responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                               "description": "seconds to wait"}}
                responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
                operation["responses"] = dict(sorted(responses.items()))
        return schema

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        """ninja's URLs, each answering a method it does not take with a problem (405), and a last one answering
        any other path under the API with a problem (404), not the site's HTML pages."""
        urls = [*super()._get_urls(), path("guide/", guide, name="guide")]
        for url in urls:
            if isinstance(url, URLPattern):
                url.callback = _problem_for_405(url.callback)
        return [*urls, re_path(r"^", csrf_exempt(_no_such_path))]


def _problem_for_405(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        allowed = response.get("Allow", "")
        answer = problems.problem(405, "method-not-allowed", "Method not allowed",
                                  f"{request.method} is not an operation of this path (it takes {allowed})")
        answer["Allow"] = allowed
        return answer

    return wrapped


def _no_such_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return problems.problem(404, "not-found", "Not found", "no such path in this API (see /api/openapi.json)")


api = MasspostApi(title="masspost", version=version(), description=DESCRIPTION, auth=BearerToken(),
                  urls_namespace="api", openapi_url="/openapi.json", docs_url="/docs", docs=MasspostSwagger())
problems.install(api)
api.add_router("/v1/", directory.router)
api.add_router("/v1/", consents.router)
api.add_router("/v1/", imports.router)
api.add_router("/v1/", campaigns.router)
api.add_router("/v1/", approvals.router)
api.add_router("/v1/", sms.router)
api.add_router("/v1/", audit.router)
