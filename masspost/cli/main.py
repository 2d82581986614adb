"""The `masspost` command: the project's manage.py, with the domain commands in masspost.cli."""

from __future__ import annotations

import os
import sys

# Commands spelled with a hyphen on the command line; Django command modules cannot contain one.
_HYPHENATED = {"sms-info": "sms_info", "resend-unknown": "resend_unknown"}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    if len(args) > 1:
        args[1] = _HYPHENATED.get(args[1], args[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
