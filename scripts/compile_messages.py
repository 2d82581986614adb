"""Compile the UI translations (masspost/locale/*/LC_MESSAGES/django.po → .mo) of this checkout with Babel, so that
a fresh clone needs no GNU gettext. Run by scripts/bootstrap.sh; quiet unless something is wrong. A built package
compiles them itself (setup.py); both use masspost/catalogues.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CATALOGUES = Path(__file__).resolve().parent.parent / "masspost" / "catalogues.py"


def main() -> int:
    # By its path, not `import masspost.catalogues`: this checkout's, whichever masspost the interpreter has.
    spec = importlib.util.spec_from_file_location("masspost_catalogues", CATALOGUES)
    assert spec is not None and spec.loader is not None
    catalogues = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(catalogues)
    catalogues.compile_catalogues(only_stale=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
