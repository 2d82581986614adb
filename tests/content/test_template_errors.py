"""A template error names its kind with a stable code and the field as written, besides its English message: an
interface says it in the user's language from these (issue 17, point 3)."""

from __future__ import annotations

import pytest

from masspost.content import TemplateError, compile_template


@pytest.mark.parametrize(("text", "code", "field", "position", "message"), [
    ("Tere {eesnimi}!", "unknown_field", "eesnimi", 6, "position 6: unknown merge field '{eesnimi}'"),
    ("Tere {first_name.__class__}", "not_a_field_name", "first_name.__class__", 6, "is not a plain name"),
    ("Tere {0}", "not_a_field_name", "0", 6, "is not a plain name"),
    ("Tere {}", "empty_field", "", 6, "empty merge field '{}'"),
    ("Tere {first_name", "unclosed_brace", "", 6, "'{' is not closed"),
    ("{a {first_name}", "unclosed_brace", "", 1, "'{' is not closed"),
    ("Tere }", "unopened_brace", "", 6, "'}' without '{'"),
])
def test_each_kind_has_its_code(text: str, code: str, field: str, position: int, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template(text)
    error = caught.value
    assert (error.code, error.field, error.position) == (code, field, position)
    assert message in str(error)  # the English sentence of the API's detail and the command line, unchanged
    assert error.params["field"] == field and error.params["position"] == position


def test_literal_braces_are_no_error() -> None:
    assert compile_template("{{x}} {first_name}").render({"first_name": "Mari"}) == "{x} Mari"
