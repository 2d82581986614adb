"""The UI's translations compiled from their source: masspost/locale/*/LC_MESSAGES/*.po → .mo, with Babel (no GNU
gettext needed). The .mo files are generated, never committed: the package build (setup.py's build_py, so `pip
install .`, `pip install -e .` and a built wheel) and scripts/compile_messages.py (run by scripts/bootstrap.sh for a
checkout) both call `compile_catalogues`. Imports nothing of masspost, so setup.py can load it by its path."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent / "locale"


def compile_catalogues(locale: Path = LOCALE, target: Path | None = None, *, only_stale: bool = False) -> list[Path]:
    """Compile every `<lang>/LC_MESSAGES/<domain>.po` under `locale` into the same place under `target` (default:
    beside the .po) and return the .mo paths. `only_stale` skips a .mo newer than its .po (a checkout's bootstrap);
    a build compiles all, whatever .mo files the tree holds."""
    written = []
    for po_path in sorted(locale.glob("*/LC_MESSAGES/*.po")):
        mo_path = (target or locale) / po_path.relative_to(locale).with_suffix(".mo")
        written.append(mo_path)
        if only_stale and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        # Fuzzy entries are guesses: like msgfmt, leave them out (the English text shows instead).
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
    return written
