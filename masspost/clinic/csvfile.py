"""Reading the import CSV files (docs/import.md, "The files"): encoding, delimiter, strict quoting, the header
checks, row numbering, the rules every value keeps (one line, no control characters, the model's length), and
the shared value parsers."""

from __future__ import annotations

import codecs
import collections
import csv
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from masspost.errors import MasspostError

TRUE = {"true", "1", "yes", "y"}
FALSE = {"false", "0", "no", "n"}

ENCODINGS = ("utf-8", "cp1257", "cp1252", "latin-1")  # utf-8 with or without a byte-order mark
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}  # in this order when the header row leaves a tie
# No value of any import column spans lines: a line break in a clinic's name (an e-mail's sender name) or a
# patient's name (a subject) breaks the e-mail at delivery, and a value that swallowed the next rows through a
# quote left open would go out in an SMS. C0 and C1 controls (tab included) have no place in a name or a code.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines splits on
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_SAVE_AS_UTF8 = "save it as \"CSV UTF-8\" in Excel or LibreOffice"
# No import file has more than 13 columns (patients.csv); a header far beyond that is not a clinic's file, and is
# refused before anything else is done with it (a 300,000-column header once pinned a worker for minutes).
MAX_COLUMNS = 64
MAX_HEADER_CHARACTERS = 8192  # 64 names of csv's longest sensible length, and room to spare


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
    """An open import file: its header, its rows as {column: stripped value}, and the rows that cannot be a row of
    this file (broken quoting, more fields than the header, a value that breaks the rules of every value),
    collected as bad rows while `rows` is read."""

    handle: TextIO
    header: tuple[str, ...]
    rows: Iterator[tuple[int, dict[str, str]]]
    problems: list[RowProblem]

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


class _Lines:
    """The file's lines as csv.reader takes them, counted, keeping the lines of the record being read: a record
    whose quote never closes is one bad row, and the lines after its first are read again as rows of their own.
    What is kept is bounded by csv's field size limit, which ends such a record after 131,072 characters."""

    def __init__(self, source: Iterator[str]) -> None:
        self._source = source
        self._again: list[str] = []  # lines given back, the next one last
        self.record: list[str] = []
        self.first = 1  # the line number of the record's first line
        self.count = 0  # lines handed out
        self.ended = False  # the source ran out while the record was read

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            line = self._again.pop()
        else:
            try:
                line = next(self._source)
            except StopIteration:
                self.ended = True
                raise
        self.count += 1
        self.record.append(line)
        return line

    def begin(self) -> None:
        self.record = []
        self.first = self.count + 1
        self.ended = False

    def read_again_after_first(self) -> None:
        rest = self.record[1:]
        self._again.extend(reversed(rest))
        self.count -= len(rest)


def open_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = (), *, ref: str = "",
              limits: Mapping[str, int] | None = None, encoding: str = "utf-8", name: str = "") -> CsvFile:
    """Open a CSV file and check its header row. `ref` is the column that names a row in reports (never shown
    when it breaks a rule itself); `limits` the longest value each column may have (the model's max_length);
    `name` what the errors call the file (its path when not given: an upload's is a private temporary path)."""
    label = name or str(path)
    if encoding not in ENCODINGS:
        raise MasspostError(f"unknown encoding {encoding!r} (one of {', '.join(ENCODINGS)})")
    try:
        with path.open("rb") as raw:
            start = raw.read(3)
        handle = path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="")
    except OSError as exc:
        raise MasspostError(f"cannot read {label}: {exc.strerror}") from None
    try:
        if start.startswith(_UTF16_BOMS):
            raise MasspostError(f"{label}: the file is UTF-16 text (Excel's \"Unicode Text\"): {_SAVE_AS_UTF8}")
        if encoding != "utf-8" and start == codecs.BOM_UTF8:
            raise MasspostError(f"{label}: the file is UTF-8 (it starts with UTF-8's byte-order mark): "
                                "leave out --encoding")
        first = handle.readline(MAX_HEADER_CHARACTERS + 1)
        if not first:
            raise MasspostError(f"{label}: the file is empty (a header row is needed)")
        if len(first) > MAX_HEADER_CHARACTERS:
            raise MasspostError(f"{label}: the header row is longer than {MAX_HEADER_CHARACTERS} characters: not "
                                f"a masspost import file (it has at most {MAX_COLUMNS} columns; docs/import.md)")
        delimiter = _delimiter(first, (*required, *optional))
        lines = _Lines(itertools.chain([first], handle))
        # strict: a quote that is never closed is an error, not a value that runs to the end of the file.
        reader = csv.reader(lines, delimiter=delimiter, strict=True, skipinitialspace=True)
        try:
            header = _header(label, next(reader), required, optional)
        except csv.Error as exc:
            raise MasspostError(f"{label}: the header row cannot be read ({exc})") from None
    except UnicodeDecodeError:
        handle.close()
        raise _not_decodable(path, encoding, label) from None
    except MasspostError:
        handle.close()
        raise
    problems: list[RowProblem] = []
    limits = limits or {}
    ref_at = header.index(ref) if ref in header else -1

    def problem(number: int, column: str, reason: str, ref_value: str = "") -> None:
        shown = ref_value if ref_at >= 0 and not _unprintable(ref_value) and len(ref_value) <= limits.get(
            ref, 64) else ""
        problems.append(RowProblem(row=number, column=column, reason=reason, ref=shown))

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        number = 1
        while True:
            lines.begin()
            try:
                values = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise _not_decodable(path, encoding, label) from None
            except csv.Error as exc:
                number += 1
                _quoting_problem(number, lines, str(exc), header, delimiter, ref_at, problem)
                continue
            number += 1
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                problem(number, header[-1], f"{len(values)} fields where the header has {len(header)} (a "
                        f"{DELIMITERS[delimiter]} inside a value needs the value in double quotes)",
                        values[ref_at] if ref_at >= 0 else "")
                continue
            rec = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
            # Most rows have nothing unprintable anywhere: one search over the line instead of one per value.
            check = len(lines.record) > 1 or _UNPRINTABLE.search(lines.record[0].rstrip("\r\n")) is not None
            for column, value in rec.items():
                reason = _unprintable(value) if check else ""
                if reason and len(lines.record) > 1 and _LINE_BREAKS.intersection(value):
                    reason += (f" (the row runs over lines {lines.first}-{lines.first + len(lines.record) - 1}:"
                               " is a double quote left open?)")
                limit = limits.get(column)
                if not reason and limit is not None and len(value) > limit:
                    reason = f"longer than {limit} characters ({len(value)})"
                if reason:
                    problem(number, column, reason, rec.get(ref, ""))
                    break
            else:
                yield number, rec

    return CsvFile(handle=handle, header=header, rows=rows(), problems=problems)


def _delimiter(first_line: str, known: tuple[str, ...]) -> str:
    """The header row's delimiter: of comma, semicolon and tab, the one that splits it into the most column names
    of this file (spreadsheet programs write semicolons where the decimal separator is a comma, as in Estonia)."""

    def names(delimiter: str) -> int:
        try:
            cells = next(csv.reader([first_line], delimiter=delimiter, skipinitialspace=True), [])
        except csv.Error:
            return 0
        return sum(cell.strip().lower() in known for cell in cells)

    return max(DELIMITERS, key=names)  # the first of equals: comma, then semicolon


def _header(label: str, cells: list[str], required: tuple[str, ...], optional: tuple[str, ...]) -> tuple[str, ...]:
    # Every check here is one pass over the header (a name counted with header.count was quadratic).
    if len(cells) > MAX_COLUMNS:
        raise MasspostError(f"{label}: the header row has {len(cells)} columns; an import file has at most "
                            f"{MAX_COLUMNS} (docs/import.md)")
    header = tuple(h.strip().lower() for h in cells)
    blank = [i for i, h in enumerate(header, start=1) if not h]
    if blank:
        raise MasspostError(f"{label}: column {blank[0]} of the header row has no name (remove the empty column or "
                            "name it)")
    counts = collections.Counter(header)
    twice = sorted(h for h, n in counts.items() if h and n > 1)
    if twice:
        raise MasspostError(f"{label}: the header row names {', '.join(map(repr, twice))} more than once")
    missing = [c for c in required if c not in header]
    if missing:
        raise MasspostError(f"{label}: missing column(s) {', '.join(missing)} in the header row")
    unknown = [c for c in header if c and c not in required and c not in optional]
    if unknown:
        raise MasspostError(f"{label}: unknown column(s) {', '.join(map(_printable, unknown))} in the header row")
    return header


def _quoting_problem(number: int, lines: _Lines, error: str, header: tuple[str, ...], delimiter: str,
                     ref_at: int, problem: Callable[..., None]) -> None:
    """A record csv refused: a quote never closed (at the end of the file, or past csv's field size limit), or
    text after a closing quote. A quote never closed is reported on the record's first line, and the lines after
    it are read again as rows: it would otherwise have swallowed them."""
    first = lines.record[0] if lines.record else ""
    cells = first.split(delimiter)
    at = _broken_field(first, delimiter)
    if lines.ended or (at is not None and "field limit" in error):
        lines.read_again_after_first()
        reason = ("a double quote opens this value and is never closed (the lines after it are read as rows of "
                  "their own)")
    elif at is None and "field limit" in error:
        at = max(range(len(cells)), key=lambda i: len(cells[i]))
        reason = f"longer than {csv.field_size_limit()} characters"
    else:
        reason = "text after the closing double quote (a double quote inside a quoted value is written twice)"
    at = at or 0
    # The row's id, when it comes before the broken value (and so is where the split puts it).
    ref_value = cells[ref_at].strip().strip('"') if 0 <= ref_at < at else ""
    problem(number, header[min(at, len(header) - 1)], reason, ref_value)


def _broken_field(line: str, delimiter: str) -> int | None:
    """The index of the first field of `line` whose quoting is broken — a quote not closed on the line, or text
    after the closing quote — or None. Only to name the column of a record csv refused."""
    text, field, i = line.rstrip("\r\n"), 0, 0
    while True:
        while text.startswith(" ", i):
            i += 1
        if text.startswith('"', i):
            i += 1
            while True:
                j = text.find('"', i)
                if j < 0:
                    return field
                if text.startswith('""', j):
                    i = j + 2
                    continue
                i = j + 1
                break
            if i < len(text) and text[i] != delimiter:
                return field
        else:
            j = text.find(delimiter, i)
            i = len(text) if j < 0 else j
        if i >= len(text):
            return None
        i += 1
        field += 1


def _unprintable(value: str) -> str:
    """Why `value` cannot be stored ("" when it can): a line break, or another control character."""
    found = _UNPRINTABLE.search(value)
    if found is None:
        return ""
    if _LINE_BREAKS.intersection(value):
        return "contains a line break"
    return f"contains a control character (U+{ord(found.group()):04X})"


def _printable(name: str) -> str:
    return repr(name) if _UNPRINTABLE.search(name) else name


def _not_decodable(path: Path, encoding: str, label: str) -> MasspostError:
    line, offset = _decode_error_at(path, encoding)
    if encoding == "utf-8":
        return MasspostError(f"{label}: not UTF-8 text (line {line}, byte offset {offset}): {_SAVE_AS_UTF8}, or "
                             "pass --encoding cp1257 (Estonian Windows), cp1252 (Western Windows) or latin-1")
    return MasspostError(f"{label}: not {encoding} text (line {line}, byte offset {offset}): pass the encoding it "
                         f"was saved in (leave out --encoding for UTF-8), or {_SAVE_AS_UTF8}")


def _decode_error_at(path: Path, encoding: str) -> tuple[int, int]:
    """Where the file stops being `encoding` text: its line number and its byte offset from the file's start."""
    # Plain utf-8 here: utf-8-sig leaves a byte-order mark out of the error's offsets.
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line, after_cr = 0, 1, False
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 16):
            held = decoder.getstate()[0]  # the start of a character split between two chunks
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + _line_ends(exc.object[:exc.start], after_cr), offset - len(held) + exc.start
            line += _line_ends(chunk, after_cr)
            offset += len(chunk)
            after_cr = chunk.endswith(b"\r")
    return line, offset


def _line_ends(data: bytes, after_cr: bool) -> int:
    """Line ends in `data` as the reader counts them (\\n, \\r\\n, a lone \\r); `after_cr`: the bytes before ended
    with \\r, so a \\n first completes that one."""
    ends = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    return ends - 1 if after_cr and data.startswith(b"\n") else ends


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
