"""Schemathesis hooks for tests/live/test_schema.py: besides what the schema itself makes schemathesis generate,
every query and path parameter of every operation also gets crafted values that have been 500s — times that
UTC cannot hold (an offset past 9999-12-31 or before 0001-01-01), "²" (a digit to str.isdigit, not to int),
numbers too big for the database — one parameter at a time, the rest of the request as generated."""

from __future__ import annotations

import base64
from typing import Any

import schemathesis
from hypothesis import strategies as st

CRAFTED = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59", "9999-12-31", "²",
           "１", "9" * 30, "-" + "9" * 30, str(2**63), "1e999",
           base64.urlsafe_b64encode(b"m" + b"9" * 20).decode().rstrip("=")]  # a messages cursor past 2**63


def _crafted(names: list[str], values: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any] | None]:
    if not names:
        return st.just(values)
    generated = dict(values or {})
    one = st.tuples(st.sampled_from(names), st.sampled_from(CRAFTED)).map(lambda nv: generated | {nv[0]: nv[1]})
    return st.one_of(st.just(values), one)


@schemathesis.hook
def flatmap_query(context: Any, query: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any] | None]:
    operation = context.operation
    return _crafted([p.name for p in operation.query] if operation is not None else [], query)


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    operation = context.operation
    return _crafted([p.name for p in operation.path_parameters] if operation is not None else [], path_parameters)
