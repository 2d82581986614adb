"""Django settings, all from environment variables (documented in README.md, "Configuration").

SQLite under MASSPOST_DATA_DIR is the embedded default; PostgreSQL via DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dj_database_url

DATA_DIR = Path(os.environ.get("MASSPOST_DATA_DIR", "var")).resolve()


def _private_sqlite_file(name: str) -> None:
    """The embedded database holds every patient: its file is readable by its owner only (0600, whatever the
    umask), and so its -wal and -shm files, which SQLite creates with the database file's mode; a directory made
    for it is 0700. A database of ours an older version left readable by all is made private too."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    try:
        path.parent.mkdir(mode=0o700, parents=True)
        path.parent.chmod(0o700)  # the umask may have taken more; a directory that was there keeps its mode
    except FileExistsError:
        pass
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)  # an empty file is an empty SQLite database
    try:
        with contextlib.suppress(PermissionError):  # another user's file keeps the mode its owner chose
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.chmod(f"{name}{suffix}", 0o600)


SECRET_KEY = os.environ.get("MASSPOST_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = os.environ.get("MASSPOST_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("MASSPOST_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "masspost.clinic",
    "masspost.campaigns",
    "masspost.delivery",
    "masspost.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "masspost.urls"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'masspost.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _private_sqlite_file(str(DATABASES["default"]["NAME"]))
    # WAL lets the worker read while a send writes; the timeout rides over short write locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # A database that vanishes from the network (no RST: a fail-over, a cut link) is noticed within about a
    # minute instead of the kernel's two hours, and a connection attempt gives up after 10 s: a worker then waits
    # it out and tries again (docs/delivery.md, "When the database goes away"). The URL's own options win.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    for _key, _value in {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                         "keepalives_count": 3}.items():
        _options.setdefault(_key, _value)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

# Gateways by URL (docs/delivery.md). Unset = a JSON-lines file in the data directory: nothing leaves the machine.
MASSPOST_SMS_URL = os.environ.get("MASSPOST_SMS_URL") or f"file://{DATA_DIR / 'outbox-sms.jsonl'}"
MASSPOST_EMAIL_URL = os.environ.get("MASSPOST_EMAIL_URL") or f"file://{DATA_DIR / 'outbox-email.jsonl'}"

# Rate limits per gateway, across all workers: messages per second (an SMS counts its parts); 0 = none.
MASSPOST_SMS_RATE = float(os.environ.get("MASSPOST_SMS_RATE") or 0)
MASSPOST_EMAIL_RATE = float(os.environ.get("MASSPOST_EMAIL_RATE") or 0)
# E-mails a worker hands to the SMTP server as one group (one hand-off, one record); the SMS window is the
# smpp:// URL's `window`. Either is the most a worker killed mid-send can leave `unknown` (docs/delivery.md).
MASSPOST_EMAIL_WINDOW = int(os.environ.get("MASSPOST_EMAIL_WINDOW") or 10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"masspost": {"handlers": ["stderr"], "level": os.environ.get("MASSPOST_LOG_LEVEL", "WARNING")}},
}

# The price of one SMS part, e.g. "0.065 EUR" (amount, ISO 4217 currency): the preview shows what its parts will
# cost, per language and in total. Unset = no cost shown; a value that is not a price stops the preview.
MASSPOST_SMS_PART_PRICE = os.environ.get("MASSPOST_SMS_PART_PRICE", "")
