"""masspost: bulk SMS and e-mail for a dental clinic's patient system (README.md, docs/architecture.md)."""

from __future__ import annotations

import importlib.metadata


def version() -> str:
    """The installed package's version (pyproject.toml), as `masspost --version` prints it."""
    try:
        return importlib.metadata.version("masspost")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"
