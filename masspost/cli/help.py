"""`masspost` and `masspost help`: masspost's own commands, one line each. Django's commands all work through
`masspost` too (it is the project's manage.py); `masspost help --django` lists them."""

from __future__ import annotations

from django.core.management import get_commands, load_command_class

from masspost import version

APP = "masspost.cli"
GROUPS = (
    ("Patient data", ("import", "demo", "consent")),
    ("Campaigns", ("preview", "test-send", "send", "campaigns", "status", "pause", "resume", "cancel",
                   "resend-unknown")),
    ("Delivery", ("worker", "gateway")),
    ("Web UI and staff", ("serve", "user", "token")),
    ("Tools", ("sms-info",)),
)
# Run by masspost itself, never typed: an API import job's process (campaigns.import_jobs).
INTERNAL = frozenset({"import-run"})


def spelled(name: str) -> str:
    """A command as typed (`resend-unknown`) → its module (`resend_unknown`): modules cannot hold a hyphen."""
    module = name.replace("-", "_")
    return module if get_commands().get(module) == APP else name


def own_commands() -> list[str]:
    """masspost's commands as they are typed, in module order."""
    return sorted(name.replace("_", "-") for name, app in get_commands().items() if app == APP)


def help_text() -> str:
    own = own_commands()
    grouped = [name for _, names in GROUPS for name in names]
    groups = [*GROUPS, ("More", tuple(name for name in own if name not in grouped and name not in INTERNAL))]
    width = max(len(name) for name in own) + 2
    lines = [f"masspost {version()}: bulk SMS and e-mail for a dental clinic's patient system", "",
             "usage: masspost COMMAND [ARGUMENTS]    (masspost COMMAND --help shows a command's options)"]
    for title, names in groups:
        present = [name for name in names if name in own]
        if present:
            lines += ["", f"{title}:"]
            lines += [f"  {name:<{width}}{summary(name)}" for name in present]
    lines += ["", "Every Django command works too (masspost migrate, masspost createsuperuser, …): "
                  "masspost help --django lists them."]
    return "\n".join(lines)


def summary(name: str) -> str:
    """The first sentence of the command's help."""
    text = " ".join(str(load_command_class(APP, spelled(name)).help).split())
    first, dot, _ = text.partition(". ")
    return first + ("." if dot else "")
