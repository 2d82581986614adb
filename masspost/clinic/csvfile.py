"""Reading the import CSV files: header checks, row numbering and the shared value parsers."""

from __future__ import annotations

import csv
import datetime as dt
import re
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


@dataclass(kw_only=True)
class CsvFile:
    """An open import file: its header, its rows as {column: stripped value}, and the rows that are not even a
    row of this file (more fields than the header), collected as bad rows while `rows` is read."""

    handle: TextIO
    header: tuple[str, ...]
    rows: Iterator[tuple[int, dict[str, str]]]
    problems: list[RowProblem]

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def open_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> CsvFile:
    """Open a UTF-8 CSV and check its header row."""
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
    problems: list[RowProblem] = []

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for number, values in enumerate(reader, start=2):
                if not any(v.strip() for v in values):
                    continue
                if len(values) > len(header):
                    problems.append(RowProblem(
                        row=number, column=header[-1],
                        reason=f"{len(values)} fields where the header has {len(header)} (a comma inside a value "
                               "needs the value in double quotes)"))
                    continue
                yield number, {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
        except UnicodeDecodeError:
            raise MasspostError(f"{path}: not UTF-8 text") from None
        except csv.Error as exc:
            raise MasspostError(f"{path}: line {reader.line_num}: {exc}") from None

    return CsvFile(handle=handle, header=tuple(header), rows=rows(), problems=problems)


def parse_bool(column: str, value: str, default: bool) -> bool:
    if not value:
        return default
    low = value.lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise FieldError(column, "not a boolean (use true/false, 1/0 or yes/no)")


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")  # YYYY-MM-DD only: fromisoformat also takes 2020-W01-1


def parse_date(column: str, value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value) if ISO_DATE.match(value) else _bad_date(column)
    except ValueError:
        return _bad_date(column)


def _bad_date(column: str) -> dt.date:
    raise FieldError(column, "not a date (expected YYYY-MM-DD, a real calendar day)")
