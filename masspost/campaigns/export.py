"""The preview's full lists as CSV files: who gets what (recipients.csv) and who is left out (excluded.csv).

Rows are written as the preview streams past them, so a million recipients cost no memory.

The lists hold patients' names and addresses, so they are readable by their owner only (files 0600, a directory
made for them 0700, whatever the umask). Their free text came from the clinic's files; a spreadsheet would run a
cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, so such a cell gets a leading `'`
(OWASP, "CSV Injection"). One exception: a `+` followed by digits only — an E.164 phone number, which the import
has validated — is kept as it is: no spreadsheet can run it (at worst one shows it as a number), and a quote in
every SMS address would spoil the list for every other program.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from masspost.campaigns.sweep import Exclusion, Recipient
from masspost.errors import MasspostError

RECIPIENT_HEADER = ["external_id", "first_name", "last_name", "channel", "language", "fallback", "address",
                    "encoding", "parts"]
# got_it: for `shared_address`, the external id of the patient at the same address who gets the message.
EXCLUDED_HEADER = ["external_id", "first_name", "last_name", "channel", "reason", "patient_language", "got_it"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PHONE_NUMBER = re.compile(r"\+[0-9]+")


def neutralised(cell: str) -> str:
    """A free-text cell as a spreadsheet can open it without running anything."""
    if cell.startswith(FORMULA_START) and not PHONE_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


class CsvExport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: list[IO[str]] = []

    def __enter__(self) -> CsvExport:
        try:
            _private_directory(self.directory)
            rec = self._open("recipients.csv")
            exc = self._open("excluded.csv")
        except OSError as err:
            self.__exit__(None, None, None)
            raise MasspostError(f"cannot write to {self.directory}: {err.strerror}") from None
        self._recipients = csv.writer(rec)
        self._recipients.writerow(RECIPIENT_HEADER)
        self._excluded = csv.writer(exc)
        self._excluded.writerow(EXCLUDED_HEADER)
        return self

    def _open(self, name: str) -> IO[str]:
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            # The umask may have taken more, and an older list may have been readable by all; another user's
            # file keeps the mode its owner chose.
            with contextlib.suppress(PermissionError):
                os.fchmod(fd, 0o600)
            handle = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed in __exit__)
        except BaseException:
            os.close(fd)
            raise
        self._files.append(handle)
        return handle

    def recipient(self, r: Recipient) -> None:
        self._recipients.writerow(recipient_row(r))

    def excluded(self, e: Exclusion) -> None:
        self._excluded.writerow(excluded_row(e))

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        for handle in self._files:
            handle.close()


def recipient_row(r: Recipient) -> list[object]:
    return [neutralised(r.patient_ref), neutralised(r.first_name), neutralised(r.last_name), r.channel, r.language,
            "yes" if r.fallback else "", neutralised(r.address), r.encoding, r.parts]


def excluded_row(e: Exclusion) -> list[object]:
    return [neutralised(e.patient_ref), neutralised(e.first_name), neutralised(e.last_name), e.channel, e.reason,
            e.language, neutralised(e.got_it)]


# A patient's name and address: left out of both lists for a role that may not see them (clinic.selectors,
# sees_contacts) — the external id says who, the rest says what and why.
CONTACT_COLUMNS = frozenset({"first_name", "last_name", "address"})


def without_contacts(header: list[str]) -> Callable[[list[object]], list[object]]:
    """A row of `header` with the contact columns left out."""
    keep = [i for i, name in enumerate(header) if name not in CONTACT_COLUMNS]
    return lambda row: [row[i] for i in keep]


def _private_directory(directory: Path) -> None:
    """Make `directory` 0700 if it is not there; one that is keeps the mode its owner gave it."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        if not directory.is_dir():
            raise
        return
    directory.chmod(0o700)  # as for the files: the umask may have taken more than the group's and others' bits
