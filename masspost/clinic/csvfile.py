"""Reading the import CSV files: header checks, row numbering and the shared value parsers."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from masspost.errors import MasspostError

TRUE = {"true", "1", "yes", "y"}
FALSE = {"false", "0", "no", "n"}


@dataclass(frozen=True, kw_only=True, slots=True)
class RowProblem:
    row: int  # the line's row number in the file, the header being row 1
    column: str
    reason: str
    ref: str = ""  # the row's external id, when it has one

    def __str__(self) -> str:
        who = f" ({self.ref})" if self.ref else ""
        return f"row {self.row}{who}, column {self.column}: {self.reason}"


class FieldError(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def open_rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> tuple[TextIO, Iterator[tuple[int, dict[str, str]]]]:
    """Open a UTF-8 CSV and check its header; yields (row number, {column: stripped value})."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise MasspostError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.reader(handle)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        handle.close()
        raise MasspostError(f"{path}: the file is empty (a header row is needed)") from None
    except UnicodeDecodeError:
        handle.close()
        raise MasspostError(f"{path}: not UTF-8 text") from None
    missing = [c for c in required if c not in header]
    if missing:
        handle.close()
        raise MasspostError(f"{path}: missing column(s) {', '.join(missing)} in the header row")
    unknown = [c for c in header if c and c not in required and c not in optional]
    if unknown:
        handle.close()
        raise MasspostError(f"{path}: unknown column(s) {', '.join(unknown)} in the header row")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for number, values in enumerate(reader, start=2):
                if not any(v.strip() for v in values):
                    continue
                if len(values) > len(header):
                    raise MasspostError(f"{path}: row {number} has {len(values)} fields, the header {len(header)}")
                record = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
                yield number, record
        except UnicodeDecodeError:
            raise MasspostError(f"{path}: not UTF-8 text") from None
        except csv.Error as exc:
            raise MasspostError(f"{path}: line {reader.line_num}: {exc}") from None

    return handle, rows()


def parse_bool(column: str, value: str, default: bool) -> bool:
    if not value:
        return default
    low = value.lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise FieldError(column, "not a boolean (use true/false, 1/0 or yes/no)")


def parse_date(column: str, value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else _bad_date(column)
    except ValueError:
        return _bad_date(column)


def _bad_date(column: str) -> dt.date:
    raise FieldError(column, "not a date (expected YYYY-MM-DD, a real calendar day)")
