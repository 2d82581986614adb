"""The API object: its routers under /api/v1/, the schema at /api/openapi.json, docs at /api/docs."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

from masspost import version
from masspost.api import campaigns, directory, imports, problems, sms
from masspost.api.auth import BearerToken

DESCRIPTION = """Bulk SMS and e-mail for a dental clinic's patient system: import patients and visits, preview
and send campaigns, follow every message. Every request carries `Authorization: Bearer TOKEN` (made with
`masspost token create USERNAME` or on the staff page); a token reaches what its user reaches. Errors are RFC 9457
problem details. A walk-through with curl: docs/api.md."""

# Answers any operation may give, added to each in the schema (the handlers in `problems` make them).
COMMON: dict[str, str] = {
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
                responses = operation.setdefault("responses", {})
                for code, text in COMMON.items():
                    responses.setdefault(code, {"description": text, "content": {"application/json":
                                                                                 {"schema": problem}}})
                for code, response in responses.items():
                    if int(code) >= 400 and "application/json" in response.get("content", {}):
                        response["content"] = {problems.PROBLEM_JSON: response["content"]["application/json"]}
                responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                               "description": "seconds to wait"}}
                responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        return schema


api = MasspostApi(title="masspost", version=version(), description=DESCRIPTION, auth=BearerToken(),
                  urls_namespace="api", openapi_url="/openapi.json", docs_url="/docs")
problems.install(api)
api.add_router("/v1/", directory.router)
api.add_router("/v1/", imports.router)
api.add_router("/v1/", campaigns.router)
api.add_router("/v1/", sms.router)
