"""Re-cut the vendored OpenAPI subsets from the providers' published documents (see SOURCE.md).

    python tests/peers/openapi/cut.py twilio path/to/twilio_api_v2010.json
    python tests/peers/openapi/cut.py messente path/to/openapi.yaml

Keeps the document's `openapi`, `info`, `servers` and `security`, the operations listed below (each under its
own path, with the path-level `servers`/`parameters`), the security schemes, and every component schema those
operations reach through `$ref` — nothing is edited, only left out.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

OPERATIONS = {
    "twilio": {
        "/2010-04-01/Accounts/{AccountSid}/Messages.json": ["post"],  # CreateMessage
        "/2010-04-01/Accounts/{Sid}.json": ["get"],  # FetchAccount
    },
    "messente": {
        "/omnimessage": ["post"],  # sendOmnimessage
        "/omnimessage/{omnimessageId}/status": ["get"],  # retrieveDeliveryReport
        "/get_balance": ["get"],  # getAccountBalance
    },
}
OUTPUT = {"twilio": HERE / "twilio_api_v2010.subset.json", "messente": HERE / "messente_api.subset.json"}
PATH_KEEP = ("servers", "parameters", "summary", "description")
SCHEMA_REF = re.compile(r'"#/components/schemas/([^"]+)"')


class _StringTimestampLoader(yaml.SafeLoader):
    """YAML as the OpenAPI document means it: `2000-01-23T04:56:07Z` in an example stays a string."""


_StringTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(source: Path) -> dict[str, Any]:
    text = source.read_text(encoding="utf-8")
    if source.suffix == ".json":
        return dict(json.loads(text))
    return dict(yaml.load(text, Loader=_StringTimestampLoader))  # noqa: S506 - a safe loader subclass


def reachable_schemas(document: dict[str, Any], start: Any) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    found: dict[str, Any] = {}
    todo = SCHEMA_REF.findall(json.dumps(start))
    while todo:
        name = todo.pop()
        if name not in found:
            found[name] = schemas[name]
            todo.extend(SCHEMA_REF.findall(json.dumps(schemas[name])))
    return dict(sorted(found.items()))


def cut(document: dict[str, Any], operations: dict[str, list[str]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, methods in operations.items():
        item = document["paths"][path]
        kept = {key: item[key] for key in PATH_KEEP if key in item}
        kept.update({method: item[method] for method in methods})
        paths[path] = kept
    subset: dict[str, Any] = {
        key: document[key] for key in ("openapi", "info", "servers", "security") if key in document
    }
    subset["paths"] = paths
    subset["components"] = {
        "securitySchemes": document["components"].get("securitySchemes", {}),
        "schemas": reachable_schemas(document, paths),
    }
    return subset


def main(argv: list[str]) -> None:
    provider, source = argv[1], Path(argv[2])
    subset = cut(load(source), OPERATIONS[provider])
    OUTPUT[provider].write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUTPUT[provider].name}: {len(subset['paths'])} paths, {len(subset['components']['schemas'])} schemas")


if __name__ == "__main__":
    main(sys.argv)
