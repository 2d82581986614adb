"""`masspost sms-info [TEXT | -] [--json]`: how an SMS text goes out — encoding, parts, units, what
forces UCS-2 and what replacing look-alikes would save. Rules: docs/sms.md."""

import json
import sys
import unicodedata
from typing import Any

from django.core.management.base import CommandError, CommandParser

from masspost.cli.base import MasspostCommand
from masspost.cli.wording import count
from masspost.sms import Segmentation, Suggestion, segment, suggest
from masspost.sms.report import report_of, unit_name

MAX_POSITIONS = 5


class Command(MasspostCommand):
    help = (
        "Show how an SMS text is sent: encoding, parts, and what would make it cheaper. "
        "Prints the encoding (GSM-7 or UCS-2), its parts and their lengths, units used and left, the characters "
        "that force UCS-2, and replacements that would save parts. "
        "TEXT '-' reads standard input (one trailing line break is dropped)."
    )
    requires_system_checks: list[str] = []
    needs_schema = False  # a text in, its encoding out: no database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", nargs="?", help="the SMS text, or - to read it from standard input")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        text = _read_text(options["text"])
        try:
            result = segment(text)
        except ValueError as error:
            raise CommandError(str(error)) from None
        suggestion = suggest(text)
        if options["json"]:
            self.stdout.write(json.dumps(report_of(result, suggestion), ensure_ascii=False, indent=2))
        else:
            self.stdout.write("\n".join(_as_lines(result, suggestion)))


def _read_text(argument: str | None) -> str:
    if argument is None:
        raise CommandError("no text given: pass the SMS text as an argument, or - to read standard input")
    if argument != "-":
        return argument
    try:
        text = sys.stdin.read()
    except UnicodeDecodeError as error:
        raise CommandError(f"standard input is not valid text: {error.reason}") from None
    for line_break in ("\r\n", "\n"):
        if text.endswith(line_break):
            return text[: -len(line_break)]
    return text


def _as_lines(result: Segmentation, suggestion: Suggestion) -> list[str]:
    unit = unit_name(result)
    sizes = " + ".join(str(units) for units in result.part_units)
    lines = [
        f"Encoding:   {result.encoding}",
        f"Parts:      {len(result.parts)} ({sizes} {unit}; at most {result.part_limit} per part)",
        f"Units:      {result.units} {unit}, {result.units_left} left in the last part",
    ]
    if result.forcing:
        lines.append("Forcing UCS-2:")
        lines.extend(f"  {line}" for line in _describe_forcing(result.forcing))
    if suggestion.parts_saved > 0:
        after = suggestion.suggested
        lines.append(
            f"Suggestion: replace {count(len(suggestion.replacements), 'look-alike character')} to send "
            f"{count(len(after.parts), after.encoding + ' part')} instead of {len(result.parts)} "
            f"(saves {suggestion.parts_saved}):"
        )
        seen: dict[tuple[str, str], int] = {}
        for change in suggestion.replacements:
            key = (change.original, change.replacement)
            seen[key] = seen.get(key, 0) + 1
        for (original, replacement), times in seen.items():
            target = repr(replacement) if replacement else "nothing"
            lines.append(f"  {_name(original)} -> {target} ({times}x)")
        lines.append(f"  Suggested text: {suggestion.text}")
    for number, part in enumerate(result.parts, start=1):
        lines.append(f"Part {number}: {part!r}")
    return lines


def _describe_forcing(forcing: tuple[tuple[int, str], ...]) -> list[str]:
    positions: dict[str, list[int]] = {}
    for position, char in forcing:
        positions.setdefault(char, []).append(position)
    lines = []
    for char, found in positions.items():
        shown = ", ".join(str(position) for position in found[:MAX_POSITIONS])
        more = f" and {len(found) - MAX_POSITIONS} more" if len(found) > MAX_POSITIONS else ""
        lines.append(f"{_name(char)} at {shown}{more}")
    return lines


def _name(char: str) -> str:
    return f"{char!r} U+{ord(char):04X} {unicodedata.name(char, 'control character')}"
