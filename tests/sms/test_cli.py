"""`masspost sms-info`: parses, calls masspost.sms, renders."""

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("sms_info", *args, stdout=out)
    return out.getvalue()


def run_json(*args: str, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run(*args, "--json", **kwargs))
    return result


def test_json_for_a_gsm7_text() -> None:
    assert run_json("Hind 10€") == {
        "encoding": "GSM-7",
        "units": 9,
        "unit": "septets",
        "units_left": 151,
        "part_limit": 160,
        "parts": [{"text": "Hind 10€", "units": 9}],
        "forcing": [],
        "suggestion": None,
    }


def test_json_for_a_long_ucs2_text_with_a_suggestion() -> None:
    text = "Tere Mari’" + " Visiit homme." * 5
    result = run_json(text)
    assert (result["encoding"], result["units"], result["units_left"]) == ("UCS-2", 80, 54)
    assert [part["units"] for part in result["parts"]] == [67, 13]
    assert "".join(part["text"] for part in result["parts"]) == text
    assert result["forcing"] == [{"position": 9, "character": "’", "code": "U+2019",
                                  "name": "RIGHT SINGLE QUOTATION MARK"}]
    assert result["suggestion"] == {
        "text": text.replace("’", "'"),
        "encoding": "GSM-7",
        "parts": 1,
        "parts_saved": 1,
        "replacements": [{"position": 9, "original": "’", "replacement": "'"}],
    }


def test_suggestion_is_left_out_when_it_saves_nothing() -> None:
    assert run_json("Tõnis – homme")["suggestion"] is None


def test_text_from_standard_input_drops_one_trailing_line_break(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_json("-", stdin="Tere\n\n", monkeypatch=monkeypatch)
    assert result["parts"] == [{"text": "Tere\n", "units": 5}]


def test_human_output() -> None:
    output = run("Tõnis’ " + "x" * 70)
    assert "Encoding:   UCS-2" in output
    assert "Parts:      2 (67 + 10 UTF-16 units; at most 67 per part)" in output
    assert "Units:      77 UTF-16 units, 57 left in the last part" in output
    assert "'õ' U+00F5 LATIN SMALL LETTER O WITH TILDE at 1" in output
    assert "'’' U+2019 RIGHT SINGLE QUOTATION MARK at 5" in output
    assert "Suggestion" not in output  # õ keeps it UCS-2: replacing ’ saves no part


def test_human_output_with_a_suggestion() -> None:
    output = run("Tere’ " + "x" * 70)
    assert "Suggestion: replace 1 look-alike character to send 1 GSM-7 part instead of 2 (saves 1)" in output
    assert "'’' U+2019 RIGHT SINGLE QUOTATION MARK -> \"'\" (1x)" in output


def test_no_text_is_an_error() -> None:
    with pytest.raises(CommandError, match="no text given"):
        call_command("sms_info")


def test_lone_surrogate_is_an_error() -> None:
    with pytest.raises(CommandError, match="lone surrogate"):
        call_command("sms_info", "abc\udc80")


def test_command_line_exit_status_and_one_line_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "masspost", "sms-info"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0
    assert "no text given" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "masspost", "sms-info", "-", "--json"],
        cwd=ROOT,
        input="Tere õhtust\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["encoding"] == "UCS-2"
