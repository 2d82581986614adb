"""`masspost token create|list|revoke`: the REST API's bearer tokens (masspost.staff.tokens), from the command
line. The secret is printed once, when made: only its digest is stored, so nothing can show it again."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.core.management.base import CommandParser

from masspost.cli.base import MasspostCommand, one_line_usage_error
from masspost.clinic.scope import Scope
from masspost.staff.names import printable
from masspost.staff.tokens import NewToken, TokenRow, token_create, token_list, token_revoke

COLUMNS = ("USER", "NAME", "PREFIX", "CREATED", "LAST USED")


class Command(MasspostCommand):
    help = ("Manage the REST API's bearer tokens: create, list, revoke. A token acts for its user, with the "
            "user's clinics and role as they are at each request; its secret is shown once, when it is made.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="create|list|revoke", required=True)

        def action(name: str, text: str) -> CommandParser:
            sub: CommandParser = actions.add_parser(name, help=text, description=text)
            sub.error = functools.partial(one_line_usage_error, sub)  # type: ignore[method-assign]
            return sub

        create = action("create", "Make a token for a user and print its secret, this once. (In the web UI an "
                                  "admin makes tokens only for themselves and for staff of a lower role.)")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what the token is for, unique among the user's live "
                                                       "tokens (default: api, api-2, …)")
        create.add_argument("--json", action="store_true", help="print the token as JSON")

        listing = action("list", "List the tokens (never their secrets): user, name, prefix, when made and last "
                                 "used, in UTC.")
        listing.add_argument("--revoked", action="store_true", help="list revoked tokens too")
        listing.add_argument("--json", action="store_true", help="print the list as JSON")

        revoke = action("revoke", "Revoke a user's token: its next request is refused. It stays listed with "
                                  "--revoked.")
        revoke.add_argument("username")
        revoke.add_argument("name")
        revoke.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = Scope.operator()
        action = options["action"]
        if action == "create":
            self._created(token_create(scope=scope, username=options["username"], name=options["name"]),
                          as_json=options["json"])
        elif action == "list":
            self._list(token_list(scope=scope, revoked=options["revoked"]), revoked=options["revoked"],
                       as_json=options["json"])
        elif action == "revoke":
            token_revoke(scope=scope, username=options["username"], name=options["name"])
            if options["json"]:
                self.print_json({"user": options["username"], "name": options["name"], "revoked": True})
            else:
                self.stdout.write(f"token {printable(options['name'])} of {printable(options['username'])} revoked: "
                                  "requests with it are refused from now on")

    def _created(self, new: NewToken, *, as_json: bool) -> None:
        if as_json:
            self.print_json({"user": new.username, "name": new.name, "prefix": new.prefix, "token": new.secret})
            return
        self.stdout.write(f"token {printable(new.name)} made for {printable(new.username)}:")
        self.stdout.write(f"  {new.secret}")
        self.stdout.write("Copy it now: it cannot be shown again (only its digest is kept). Send it with every API "
                          "request as the header: Authorization: Bearer <the token>")

    def _list(self, rows: list[TokenRow], *, revoked: bool, as_json: bool) -> None:
        if as_json:
            self.print_json({"tokens": [
                {"user": r.username, "name": r.name, "prefix": r.prefix, "created_at": r.created_at.isoformat(),
                 "created_by": r.created_by,
                 "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
                 "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None} for r in rows]})
            return
        if not rows:
            self.stdout.write("no tokens" + ("" if revoked else " (make one with: masspost token create USER)"))
            return
        columns = (*COLUMNS, "REVOKED") if revoked else COLUMNS
        table = [columns] + [(printable(r.username), printable(r.name), r.prefix + "…", _when(r.created_at),
                              _when(r.last_used_at) if r.last_used_at else "never",
                              *((_when(r.revoked_at) if r.revoked_at else "-",) if revoked else ()))
                             for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(columns) - 1)]
        for row in table:
            self.stdout.write("  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)),
                                         row[-1]]))


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") if moment else ""
