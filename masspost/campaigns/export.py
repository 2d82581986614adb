"""The preview's full lists as CSV files: who gets what (recipients.csv) and who is left out (excluded.csv).

Rows are written as the preview streams past them, so a million recipients cost no memory.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType
from typing import IO

from masspost.campaigns.sweep import Exclusion, Recipient
from masspost.errors import MasspostError


class CsvExport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: list[IO[str]] = []

    def __enter__(self) -> CsvExport:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            rec = self._open("recipients.csv")
            exc = self._open("excluded.csv")
        except OSError as err:
            self.__exit__(None, None, None)
            raise MasspostError(f"cannot write to {self.directory}: {err.strerror}") from None
        self._recipients = csv.writer(rec)
        self._recipients.writerow(["external_id", "first_name", "last_name", "channel", "language", "fallback",
                                   "address", "encoding", "parts"])
        self._excluded = csv.writer(exc)
        self._excluded.writerow(["external_id", "first_name", "last_name", "channel", "reason",
                                 "patient_language"])
        return self

    def _open(self, name: str) -> IO[str]:
        handle = (self.directory / name).open("w", encoding="utf-8", newline="")
        self._files.append(handle)
        return handle

    def recipient(self, r: Recipient) -> None:
        self._recipients.writerow([r.patient_ref, r.first_name, r.last_name, r.channel, r.language,
                                   "yes" if r.fallback else "", r.address, r.encoding, r.parts])

    def excluded(self, e: Exclusion) -> None:
        self._excluded.writerow([e.patient_ref, e.first_name, e.last_name, e.channel, e.reason, e.language])

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        for handle in self._files:
            handle.close()
