"""The `masspost` command: the project's manage.py, with the domain commands in masspost.cli."""

from __future__ import annotations

import difflib
import os
import sys

HELP = ("help", "-h", "--help")


def main(argv: list[str] | None = None) -> None:
    # Usage lines say `masspost …`, also under `python -m masspost` (Django would say `python -m django`).
    args = ["masspost", *(sys.argv if argv is None else argv)[1:]]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")
    import django
    from django.core.management import execute_from_command_line, get_commands

    from masspost import version

    first = args[1] if len(args) > 1 else None
    if first in ("--version", "version"):
        print(f"masspost {version()}")
        return
    django.setup()
    from masspost.cli.help import help_text, own_commands, spelled

    if first is None or first in HELP and len(args) == 2:
        print(help_text())
        return
    if first == "help" and args[2:] == ["--django"]:
        execute_from_command_line(args[:2])
        return
    name = args[2] if first == "help" else first
    commands = get_commands()
    if spelled(name) not in commands:
        known = own_commands() + [c for c in commands if c.replace("_", "-") not in own_commands()]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        sys.stderr.write(f"masspost: unknown command '{name}'{hint}; masspost help lists them\n")
        sys.exit(1)
    args[2 if first == "help" else 1] = spelled(name)
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
