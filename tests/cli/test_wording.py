"""One plural helper for masspost's English (masspost.wording, free of Django): the command line's counts, the
services' messages (what changed since a preview) and the demo's summary all agree with their numbers the same
way. tests/cli/test_plurals.py checks the commands' wording itself."""

from __future__ import annotations

import ast
from pathlib import Path

import masspost
from masspost.cli import wording as cli_wording
from masspost.wording import agree, count

ROOT = Path(masspost.__file__).parent


def test_count_agrees_with_its_number() -> None:
    assert [count(n, "patient") for n in (0, 1, 2)] == ["0 patients", "1 patient", "2 patients"]
    assert count(1, "recipient's subject is", "recipients' subjects are") == "1 recipient's subject is"
    assert count(3, "recipient's subject is", "recipients' subjects are") == "3 recipients' subjects are"
    assert count(1234, "visit", grouped=True) == "1,234 visits" and count(1234, "visit") == "1234 visits"
    assert (agree(1, "has", "have"), agree(2, "has", "have")) == ("has", "have")


def test_the_command_line_uses_the_one_helper() -> None:
    assert (cli_wording.count, cli_wording.agree) == (count, agree)


def test_masspost_wording_needs_no_django() -> None:
    tree = ast.parse((ROOT / "wording.py").read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert modules <= {"__future__"}


def test_no_other_module_defines_a_plural_helper() -> None:
    """The helpers there were (campaigns.changes._n, clinic.demo's own formatting, inline "s" suffixes) said the
    same thing in different ways; a new one would drift."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if path == ROOT / "wording.py" or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("'s' * (", '"s" * (', '== 1 else "s"', "== 1 else 's'", "if count == 1 else many"):
            if needle in text:
                found.append(f"{path.relative_to(ROOT)}: {needle}")
    assert found == []
