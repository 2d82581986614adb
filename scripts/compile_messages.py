"""Compile the UI translations (masspost/locale/*/LC_MESSAGES/django.po → .mo) with Babel, so that a fresh clone
needs no GNU gettext. Run by scripts/bootstrap.sh; quiet unless something is wrong."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "masspost" / "locale"


def main() -> int:
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        # Fuzzy entries are guesses: like msgfmt, leave them out (the English text shows instead).
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
