"""Templates: a clinic's values merged once (Template.bind) give exactly the text a full render gives, for any
text, any merge field and any value — braces and HTML included."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from masspost.content import MERGE_FIELDS, compile_template

_piece = st.one_of(st.sampled_from([f"{{{f}}}" for f in MERGE_FIELDS]), st.sampled_from(["{{", "}}"]),
                   st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=8))
_value = st.text(max_size=12) | st.sampled_from(["{first_name}", "{0}", "}}", "<b>&'\"", "{"])


@given(pieces=st.lists(_piece, max_size=10), values=st.fixed_dictionaries({f: _value for f in MERGE_FIELDS}),
       escape=st.booleans())
def test_a_bound_template_renders_what_render_renders(pieces: list[str], values: dict[str, str],
                                                      escape: bool) -> None:
    template = compile_template("".join(pieces))
    clinic = {"clinic_name": values["clinic_name"], "clinic_phone": values["clinic_phone"]}
    first, last = values["first_name"], values["last_name"]
    if escape:  # an HTML body: the caller escapes the recipient's values, bind escapes the clinic's
        first, last = html.escape(first), html.escape(last)
    assert template.bind(clinic, escape=escape).format(first, last) == template.render(values, escape=escape)


def test_a_clinic_value_that_looks_like_a_field_stays_text() -> None:
    template = compile_template("{clinic_name}: Tere {first_name}!")
    bound = template.bind({"clinic_name": "Hammas {0} {{x}}", "clinic_phone": ""})
    assert bound.format("Mari", "Tamm") == "Hammas {0} {{x}}: Tere Mari!"
