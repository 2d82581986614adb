"""Counts in the command line's English: masspost.wording, the one place they are made (re-exported here for
the commands)."""

from __future__ import annotations

from masspost.wording import agree, count

__all__ = ["agree", "count"]
