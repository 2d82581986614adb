"""Requests and responses checked against the vendored OpenAPI subsets of this directory (see SOURCE.md).

jsonschema_rs (a well-kept JSON Schema validator, installed with schemathesis) compiles one validator per schema;
OpenAPI 3.0 schemas are JSON Schema draft 4 with extensions, of which only `nullable` changes what validates, so it
is spelt out as JSON Schema before compiling. Formats the validator knows (uri, date-time…) are checked; the
providers' own formats (phone-number, UUID…) are not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs

OPENAPI_DIR = Path(__file__).resolve().parent

__all__ = ["OPENAPI_DIR", "OpenAPIContract"]


def _nullable_as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 writes "may be null" as `nullable: true`, which JSON Schema does not know: spell it out."""
    if isinstance(node, list):
        return [_nullable_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable_as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is not True:
        return converted
    if isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        return converted
    return {"anyOf": [converted, {"type": "null"}]}


class OpenAPIContract:
    """Requests and responses checked against a vendored OpenAPI 3.0 subset, one compiled validator per schema."""

    def __init__(self, filename: str) -> None:
        self.document: dict[str, Any] = json.loads((OPENAPI_DIR / filename).read_text(encoding="utf-8"))
        self._components = _nullable_as_json_schema(self.document.get("components", {}))
        self._validators: dict[tuple[str, ...], jsonschema_rs.Validator] = {}
        self._lock = threading.Lock()

    def operation(self, path: str, method: str) -> dict[str, Any]:
        return dict(self.document["paths"][path][method.lower()])

    def request_schema(self, path: str, method: str, media_type: str) -> dict[str, Any]:
        return dict(self.operation(path, method)["requestBody"]["content"][media_type]["schema"])

    def response_schema(self, path: str, method: str, status: int, media_type: str = "application/json") -> Any:
        return self.operation(path, method)["responses"][str(status)]["content"][media_type]["schema"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A `$ref` to #/components/schemas/… followed (one level: what form coercion needs)."""
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return dict(self.document["components"]["schemas"][ref.rsplit("/", 1)[1]])
        return schema

    def request_errors(self, path: str, method: str, media_type: str, body: Any) -> list[str]:
        key = ("request", path, method.lower(), media_type)
        return self._errors(key, lambda: self.request_schema(path, method, media_type), body)

    def response_errors(self, path: str, method: str, status: int, body: Any) -> list[str]:
        key = ("response", path, method.lower(), str(status))
        return self._errors(key, lambda: self.response_schema(path, method, status), body)

    def _errors(self, key: tuple[str, ...], schema: Callable[[], Any], instance: Any) -> list[str]:
        validator = self._validators.get(key)
        if validator is None:
            with self._lock:
                root = dict(_nullable_as_json_schema(schema()))
                root["components"] = self._components  # $refs resolve against the document's components
                validator = self._validators.setdefault(key, jsonschema_rs.Draft4Validator(root))
        return [_describe(error) for error in validator.iter_errors(instance)]


def _describe(error: jsonschema_rs.ValidationError) -> str:
    where = "/".join(str(part) for part in error.instance_path)
    return f"{where or '(body)'}: {error.message}"
