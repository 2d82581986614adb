"""campaigns does not depend on the staff app (staff.services and staff.tokens import campaigns.audit: a cycle of
the two packages). campaigns gets who acts as a Scope, or a model through apps.get_model("staff", …); the
interfaces (API, CLI) build the Scope with staff.selectors.staff_scope (issue 16 review, import jobs). Only a
helper of staff that imports nothing of masspost (such as staff.names, the user-name rule) may be shared."""

from __future__ import annotations

import ast
from pathlib import Path

import masspost

ROOT = Path(masspost.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _module_file(name: str) -> Path | None:
    relative = Path(*name.split(".")[1:])
    for candidate in (ROOT / relative.with_suffix(".py"), ROOT / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def test_campaigns_imports_nothing_of_staff_but_its_self_contained_helpers() -> None:
    found = []
    for path in sorted((ROOT / "campaigns").rglob("*.py")):
        for name in _imports(path):
            staff_file = _module_file(name) if name.startswith("masspost.staff") else None
            if staff_file is not None and any(i.startswith("masspost") for i in _imports(staff_file)):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    assert found == []
