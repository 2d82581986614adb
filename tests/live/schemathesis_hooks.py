"""Schemathesis hooks for tests/live/test_schema.py: besides what the schema itself makes schemathesis generate,
the query and path parameters of every operation get crafted values that have been 500s — times that UTC cannot
hold (an offset past 9999-12-31 or before 0001-01-01), "²" (a digit to str.isdigit, not to int), numbers too
big for the database, a NUL (PostgreSQL refuses it in a query's text). A third of the cases keep what
schemathesis generated; a third put a crafted value in one parameter, whatever its type (the checks before the
handler); a third put a crafted time in every date-time parameter and a crafted value in every free text
parameter, the rest as generated, so that the values pass the schema and reach the handler's code
(tests/api/test_authorisation.py sweeps every pair deterministically)."""

from __future__ import annotations

import base64
from typing import Any

import schemathesis
from hypothesis import strategies as st

TIMES = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59"]
CRAFTED = [*TIMES, "9999-12-31", "²", "１", "9" * 30, "-" + "9" * 30, str(2**63), "1e999",
           base64.urlsafe_b64encode(b"m" + b"9" * 20).decode().rstrip("="),  # a messages cursor past 2**63
           "\x00", "T0\x00"]  # PostgreSQL refuses a NUL in a query's text


def _kinds(schema: dict[str, Any]) -> set[str]:
    parts = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    kinds = {"date-time" for p in parts if p.get("format") == "date-time"}
    if any(p.get("type") == "string" and "enum" not in p and "format" not in p for p in parts):
        kinds.add("text")
    return kinds


def _crafted(parameters: list[Any], values: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any] | None]:
    if not parameters:
        return st.just(values)
    generated = dict(values or {})
    names = [p.name for p in parameters]
    one = st.tuples(st.sampled_from(names), st.sampled_from(CRAFTED)).map(lambda nv: generated | {nv[0]: nv[1]})
    kinds = {p.name: _kinds(p.definition.get("schema", {})) for p in parameters}
    deep_names = [n for n, k in kinds.items() if k]
    if not deep_names:
        return st.one_of(st.just(values), one)
    deep = st.tuples(*(st.sampled_from(TIMES if "date-time" in kinds[n] else CRAFTED) for n in deep_names)).map(
        lambda chosen: generated | dict(zip(deep_names, chosen, strict=True)))
    return st.one_of(st.just(values), one, deep)


@schemathesis.hook
def flatmap_query(context: Any, query: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any] | None]:
    operation = context.operation
    return _crafted(list(operation.query) if operation is not None else [], query)


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    operation = context.operation
    return _crafted(list(operation.path_parameters) if operation is not None else [], path_parameters)
