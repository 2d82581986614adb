"""The allow-list for HTML e-mail bodies (masspost.content.sanitise): what survives, what goes, and how what went
is named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masspost.content.sanitise import sanitise_html


def removed(source: str) -> list[str]:
    return [r.text for r in sanitise_html(source).removed]


@pytest.mark.parametrize("kept", [
    "<p>Tere {first_name}!</p>",
    "<p>Line<br>next</p>",
    "<h1>A</h1><h2>B</h2><h3>C</h3><h4>D</h4>",
    "<p><b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u></p>",
    "<ul><li>one</li></ul><ol><li>two</li></ol>",
    '<p><a href="https://hammas.example/aeg">book</a> <a href="http://hammas.example">site</a></p>',
    '<p><a href="mailto:tallinn@hammas.example">write</a> <a href="tel:{clinic_phone}">call</a></p>',
    '<p><a href="https://hammas.example/?p={first_name}">merge field in a link</a></p>',
    '<img src="https://hammas.example/logo.png" alt="Hammas" width="120" height="40">',
    '<table><tbody><tr><th scope="row">Aeg</th><td colspan="2">10:00</td></tr></tbody></table>',
    '<p style="color:#333;font-size:14px;text-align:center">styled</p>',
    "<p>Braces {{ and }} and &amp; &lt;b&gt;</p>",
])
def test_what_a_clinic_email_needs_survives_unchanged(kept: str) -> None:
    result = sanitise_html(kept)
    assert result.html == kept and result.removed == ()


@pytest.mark.parametrize(("source", "html", "gone"), [
    ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>", ["<script> element"]),
    ('<p onclick="steal()">Hi</p>', "<p>Hi</p>", ["onclick attribute"]),
    ('<a href="javascript:alert(1)">x</a>', "<a>x</a>", ["javascript: link"]),
    ('<a href="data:text/html,x">x</a>', "<a>x</a>", ["data: link"]),
    ('<img src="http://tracker.example/p.gif">', "<img>", ["http: image"]),
    ('<img src="https://x.example/a.png" onerror="x()">', '<img src="https://x.example/a.png">',
     ["onerror attribute"]),
    ('<iframe src="https://evil.example"></iframe><p>x</p>', "<p>x</p>", ["<iframe> element"]),
    ("<style>p{color:red}</style><p>x</p>", "<p>x</p>", ["<style> element"]),
    ("<!-- note --><p>x</p>", "<p>x</p>", ["comment"]),
    ('<form action="https://x"><input name="pin"></form>', "", ["<form> element", "<input> element"]),
    ('<p style="color:red;position:fixed;background-image:url(https://x)">x</p>', '<p style="color:red">x</p>',
     ["position style", "background-image style"]),
    ('<p onclick="a()">1</p><p onclick="b()">2</p>', "<p>1</p><p>2</p>", ["onclick attribute"]),
])
def test_what_goes_and_how_it_is_named(source: str, html: str, gone: list[str]) -> None:
    result = sanitise_html(source)
    assert result.html == html
    assert [r.text for r in result.removed] == gone


def test_counts_each_kind_once_with_how_many() -> None:
    (onclick,) = sanitise_html('<p onclick="a()">1</p><a href="https://x" onclick="b()">2</a>').removed
    assert (onclick.text, onclick.count) == ("onclick attribute", 2)


@given(st.text(alphabet="<>/=\"' abcdpiscrptonlkhefj:{}_&;", max_size=80))
def test_cleaning_is_idempotent(source: str) -> None:
    # A campaign read back from what was sent (its stored file) must clean to the same body: the same token.
    once = sanitise_html(source).html
    assert sanitise_html(once).html == once
