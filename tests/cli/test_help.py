"""`masspost`, `masspost help`, `masspost COMMAND --help` and `--version` speak of masspost, not of Django."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from tests.cli.test_commands import masspost, ok, one_line_error

OWN_COMMANDS = ["import", "demo", "preview", "send", "campaigns", "status", "pause", "resume", "cancel",
                "resend-unknown", "worker", "sms-info"]
DJANGO_GLOBALS = ["--settings", "--pythonpath", "--traceback", "--no-color", "--force-color", "--skip-checks",
                  "--verbosity"]


@pytest.mark.parametrize("args", [["--version"], ["version"], ["status", "--version"]])
def test_version_is_masspost_s(tmp_path: Path, args: list[str]) -> None:
    assert ok(masspost(tmp_path, *args)) == f"masspost {importlib.metadata.version('masspost')}\n"


@pytest.mark.parametrize("args", [[], ["help"], ["--help"], ["-h"]])
def test_help_lists_masspost_s_own_commands_one_line_each(tmp_path: Path, args: list[str]) -> None:
    out = ok(masspost(tmp_path, *args))
    listed = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}
    assert set(OWN_COMMANDS) <= set(listed)
    for name in OWN_COMMANDS:
        assert len(listed[name].split(None, 1)[1]) > 10, name  # a description, not just the name
    # Django's own commands are not listed, but said to work.
    for django_name in ("changepassword", "contenttypes", "[auth]", "dumpdata", "sms_info", "resend_unknown"):
        assert django_name not in out
    assert "masspost help --django" in out and "masspost migrate" in out
    assert "import-run" not in listed  # the import job's own process, started by masspost, never typed


def test_help_django_lists_every_command(tmp_path: Path) -> None:
    out = ok(masspost(tmp_path, "help", "--django"))
    assert "changepassword" in out and "dumpdata" in out and "campaigns" in out


@pytest.mark.parametrize("args", [["status", "--help"], ["help", "status"], ["sms-info", "--help"],
                                  ["import", "--help"], ["preview", "--help"], ["worker", "-h"]])
def test_command_help_has_no_django_boilerplate(tmp_path: Path, args: list[str]) -> None:
    out = ok(masspost(tmp_path, *args))
    name = args[1] if args[0] == "help" else args[0]
    assert out.startswith(f"usage: masspost {name} ")
    for option in DJANGO_GLOBALS:
        assert option not in out, option
    assert "--json" in out or name == "worker" and "--until-idle" in out


def test_the_hidden_options_still_work(tmp_path: Path) -> None:
    ok(masspost(tmp_path, "campaigns", "--verbosity", "0", "--no-color"))
    ok(masspost(tmp_path, "campaigns", "--settings", "masspost.settings"))


def test_django_commands_still_work_through_masspost(tmp_path: Path) -> None:
    ok(masspost(tmp_path, "migrate", "--verbosity", "0"))
    assert "dumpdata" in ok(masspost(tmp_path, "dumpdata", "--help"))
    assert ok(masspost(tmp_path, "dumpdata", "campaigns.Campaign")).strip() == "[]"


def test_an_unknown_command_is_one_line(tmp_path: Path) -> None:
    message = one_line_error(masspost(tmp_path, "statsu"))
    assert message == "masspost: unknown command 'statsu' (did you mean 'status'?); masspost help lists them"
    assert one_line_error(masspost(tmp_path, "zzz")) == "masspost: unknown command 'zzz'; masspost help lists them"


@pytest.mark.parametrize(("args", "fragment"), [
    (["campaigns", "--status", "lost"], "argument --status: invalid choice: 'lost'"),
    (["import"], "the following arguments are required: kind, file"),
    (["worker", "--batch", "many"], "argument --batch: invalid int value: 'many'"),
])
def test_a_mistake_in_the_arguments_is_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    message = one_line_error(masspost(tmp_path, *args))
    assert message.startswith(f"masspost {args[0]}: {fragment}")
    assert message.endswith(f"(see masspost {args[0]} --help)")
