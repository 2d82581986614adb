from __future__ import annotations

import datetime as dt
import functools
import getpass
import sys
from typing import IO, Any

from django.core.management.base import CommandError, CommandParser

from masspost.cli.base import MasspostCommand, one_line_usage_error
from masspost.clinic.scope import Role, Scope
from masspost.staff.models import StaffMember
from masspost.staff.names import printable
from masspost.staff.selectors import StaffRow, staff_list
from masspost.staff.services import staff_add, staff_change, staff_disable

ROLES = tuple(r.value for r in Role)
COLUMNS = ("USER", "ROLE", "CLINICS", "ACTIVE", "LAST SIGN-IN (UTC)")


class Command(MasspostCommand):
    help = ("Manage the staff who sign in to the web UI: add, list, change, disable. A user has clinics and a "
            "role: preparer (filter, compose, preview), sender (also send and control campaigns), admin (also "
            "users and the audit log).")
    stealth_options = ("stdin",)  # tests give the password through it

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="add|list|change|disable", required=True)

        def action(name: str, text: str) -> CommandParser:
            sub: CommandParser = actions.add_parser(name, help=text, description=text)
            sub.error = functools.partial(one_line_usage_error, sub)  # type: ignore[method-assign]
            return sub

        add = action("add", "Add a user who can sign in to the web UI. A user name holds letters of one alphabet, "
                            "digits and @ . + - _ (no spaces).")
        add.add_argument("username")
        add.add_argument("--clinic", action="append", required=True, metavar="CODE", dest="clinics",
                         help="a clinic the user works for (repeat for more)")
        add.add_argument("--role", required=True, choices=ROLES)
        _contact_arguments(add)
        add.add_argument("--password-stdin", action="store_true",
                         help="read the password from the first line of standard input (for scripts); "
                              "without it the password is asked twice on the terminal")

        listing = action("list", "List the users: role, clinics, whether active, last sign-in.")
        listing.add_argument("--json", action="store_true", help="print the list as JSON")

        change = action("change", "Change a user's role, clinics, or own phone and e-mail for test sends.")
        change.add_argument("username")
        change.add_argument("--role", choices=ROLES)
        change.add_argument("--clinic", action="append", metavar="CODE", dest="clinics",
                            help="the user's clinics from now on, replacing the ones they had (repeat for more)")
        _contact_arguments(change, changing=True)

        disable = action("disable", "Disable a user: they can no longer sign in, and their open sessions end. "
                                    "Their name stays on their campaigns and in the audit log.")
        disable.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = Scope.operator()
        action = options["action"]
        if action == "add":
            password = self._password(options["password_stdin"], options.get("stdin") or sys.stdin)
            member = staff_add(username=options["username"], password=password, clinics=options["clinics"],
                               role=options["role"], scope=scope, phone=options["phone"] or "",
                               email=options["email"] or "")
            self.stdout.write(f"user {printable(str(member))} added: {_describe(member)}")
        elif action == "list":
            self._list(staff_list(scope=scope), as_json=options["json"])
        elif action == "change":
            if all(options[k] is None for k in ("role", "clinics", "phone", "email")):
                raise CommandError("nothing to change: give --role or --clinic (or --phone, --email)")
            member = staff_change(username=options["username"], role=options["role"], clinics=options["clinics"],
                                  phone=options["phone"], email=options["email"], scope=scope)
            self.stdout.write(f"user {printable(str(member))} changed: {_describe(member)}")
        elif action == "disable":
            staff_disable(username=options["username"], scope=scope)
            self.stdout.write(f"user {printable(options['username'])} disabled: they can no longer sign in")

    def _password(self, from_stdin: bool, stdin: IO[str]) -> str:
        if from_stdin:
            line = stdin.readline()
            password = line.removesuffix("\n").removesuffix("\r")
            if not password:
                raise CommandError("--password-stdin: no password on standard input (its first line is the password)")
            return password
        if not stdin.isatty():
            raise CommandError("no terminal to ask for the password on: give it on standard input with "
                               "--password-stdin")
        try:
            password = getpass.getpass("Password: ")
            again = getpass.getpass("Password (again): ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError("no password given; no user added") from None
        if password != again:
            raise CommandError("the two passwords differ; no user added")
        if not password:
            raise CommandError("an empty password; no user added")
        return password

    def _list(self, rows: list[StaffRow], *, as_json: bool) -> None:
        if as_json:
            self.print_json({"users": [
                {"username": r.username, "role": r.role, "clinics": list(r.clinics), "active": r.active,
                 "last_login": r.last_login.isoformat() if r.last_login else None,
                 "phone": r.phone, "email": r.email} for r in rows]})
            return
        if not rows:
            self.stdout.write("no users yet (add one with: masspost user add NAME --clinic CODE --role ROLE)")
            return
        # A name stored before staff.names may hold a line break: escaped, it cannot forge a line of the table.
        columns = COLUMNS[:-1] + ("TEST PHONE", "TEST E-MAIL") + COLUMNS[-1:]  # the user's own, for test sends
        table = [columns] + [(printable(r.username), r.role, ",".join(r.clinics), "yes" if r.active else "no",
                              r.phone or "-", printable(r.email) or "-",
                              r.last_login.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if r.last_login
                              else "never") for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(columns) - 1)]
        for row in table:
            self.stdout.write("  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)),
                                         row[-1]]))


def _contact_arguments(parser: CommandParser, *, changing: bool = False) -> None:
    removes = "; \"\" removes it" if changing else ""
    parser.add_argument("--phone", metavar="+372…", help="the user's own mobile number, where their test sends "
                                                          f"(masspost test-send) go{removes}")
    parser.add_argument("--email", metavar="ADDRESS", help=f"the user's own e-mail address, for test sends{removes}")


def _describe(member: StaffMember) -> str:
    clinics = ", ".join(sorted(member.clinics.values_list("code", flat=True)))
    own = ", ".join(x for x in (member.phone, printable(member.email)) if x)
    return f"{member.role} at {clinics}" + (f"; test sends to {own}" if own else "")
