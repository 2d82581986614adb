"""The preview's CSV lists: a spreadsheet opening them runs no formula, and only their owner can read them."""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from masspost.campaigns.export import CsvExport
from masspost.campaigns.sweep import Exclusion, Recipient


@pytest.fixture
def open_umask() -> Iterator[None]:
    # The most permissive umask: whatever is private below is so because masspost made it so.
    saved = os.umask(0)
    yield
    os.umask(saved)


def recipient(**fields: object) -> Recipient:
    values: dict[str, object] = {
        "patient_id": 1, "patient_ref": "P1", "first_name": "Mari", "last_name": "Maasikas", "clinic_id": 1,
        "channel": "sms", "language": "et", "fallback": False, "address": "+37251234567", "subject": "",
        "text": "Tere", "encoding": "GSM-7", "parts": 1}
    values.update(fields)
    return Recipient(**values)  # type: ignore[arg-type]


def exclusion(**fields: object) -> Exclusion:
    values: dict[str, object] = {"patient_ref": "P2", "first_name": "Jaan", "last_name": "Tamm", "channel": "email",
                                 "reason": "no_address", "language": "et"}
    values.update(fields)
    return Exclusion(**values)  # type: ignore[arg-type]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x.example\",\"open\")", "+1+1", "-2+3", "@SUM(A1)",
                                   "\tTAB", "\rCR", "=cmd|' /C calc'!A0"])
def test_a_free_text_cell_that_starts_like_a_formula_gets_a_quote(tmp_path: Path, value: str) -> None:
    with CsvExport(tmp_path) as export:
        export.recipient(recipient(patient_ref=value, first_name=value, last_name=value, channel="email",
                                   address=f"{value}@example.com", encoding="", parts=1))
        export.excluded(exclusion(patient_ref=value, first_name=value, last_name=value))
    (sent,) = rows(tmp_path / "recipients.csv")
    (left_out,) = rows(tmp_path / "excluded.csv")
    for cell in ("external_id", "first_name", "last_name"):
        assert sent[cell] == left_out[cell] == "'" + value
    assert sent["address"] == f"'{value}@example.com"


def test_plain_values_numbers_and_phone_numbers_are_written_as_they_are(tmp_path: Path) -> None:
    with CsvExport(tmp_path) as export:
        export.recipient(recipient(first_name="O'Brien", last_name="Mägi-Tamm", address="+37251234567", parts=3))
        export.excluded(exclusion(first_name="", last_name="Tamm"))
    (sent,) = rows(tmp_path / "recipients.csv")
    assert (sent["first_name"], sent["last_name"], sent["address"], sent["parts"]) == (
        "O'Brien", "Mägi-Tamm", "+37251234567", "3")
    # A phone number is only a "+" and digits: a spreadsheet may read it as a number, but it runs nothing.
    (left_out,) = rows(tmp_path / "excluded.csv")
    assert (left_out["first_name"], left_out["last_name"]) == ("", "Tamm")


def test_the_lists_and_a_directory_made_for_them_are_readable_by_their_owner_only(tmp_path: Path,
                                                                                   open_umask: None) -> None:
    directory = tmp_path / "new" / "lists"
    with CsvExport(directory) as export:
        export.recipient(recipient())
    assert mode(directory) == 0o700
    assert mode(directory / "recipients.csv") == mode(directory / "excluded.csv") == 0o600


def test_lists_written_over_older_readable_ones_become_private(tmp_path: Path, open_umask: None) -> None:
    tmp_path.chmod(0o755)  # a directory the user chose keeps its mode
    old = tmp_path / "recipients.csv"
    old.write_text("old\n", encoding="utf-8")
    old.chmod(0o644)
    with CsvExport(tmp_path) as export:
        export.recipient(recipient())
    assert mode(old) == 0o600 and "old" not in old.read_text(encoding="utf-8")
    assert mode(tmp_path) == 0o755
