"""Django settings, all from environment variables (documented in README.md, "Configuration").

SQLite under MASSPOST_DATA_DIR is the embedded default; PostgreSQL via DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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


# The development key is public (it is in this file): `masspost serve`, `masspost worker` and masspost.wsgi refuse
# to start with it in production mode (masspost.production).
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = os.environ.get("MASSPOST_SECRET_KEY") or DEV_SECRET_KEY
DEBUG = os.environ.get("MASSPOST_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("MASSPOST_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

# Production (docs/ui.md, "Running it for real"): MASSPOST_PRODUCTION=1 behind HTTPS; `masspost check --deploy`
# is then clean once MASSPOST_SECRET_KEY is a real key.
PRODUCTION = os.environ.get("MASSPOST_PRODUCTION", "") == "1"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "axes",
    "masspost.clinic",
    "masspost.campaigns",
    "masspost.delivery",
    "masspost.staff",
    "masspost.web",
    "masspost.api",
    "masspost.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "masspost.web.middleware.SessionMiddleware",  # Django's; a session it cannot save for a busy database: 503
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "masspost.web.middleware.StaffScopeMiddleware",
    "masspost.web.timezone.TimeZoneMiddleware",  # pages in the clinics' local time (masspost_format)
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "masspost.urls"
WSGI_APPLICATION = "masspost.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.csrf",
                "django.template.context_processors.i18n",
                "masspost.web.context.staff",
            ],
        },
    }
]

STATIC_URL = "/static/"
# Served by WhiteNoise straight from the apps' static folders: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Sign-in: Django's users; a user is staff with clinics and a role (masspost.staff). django-axes locks a user
# name + address out for 15 minutes after 5 failed sign-ins; the address is the audit log's (masspost.http:
# behind a trusted proxy the client it names, not the proxy — else 5 failures would lock the name for everyone).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:sign_in"
LOGIN_REDIRECT_URL = "web:bulk"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "masspost.http.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False

# Sessions end after 8 hours (a working day), or 1 hour without a request, or when the browser closes.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
MASSPOST_SESSION_IDLE = 3600
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("MASSPOST_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SILENCED_SYSTEM_CHECKS = ["security.W021"]  # HSTS preload is the operator's choice for their domain
# Reverse proxies whose X-Forwarded-For names the client in the audit log (docs/ui.md, "Running it for real").
MASSPOST_TRUSTED_PROXIES = frozenset(a for a in os.environ.get("MASSPOST_TRUSTED_PROXIES", "").split(",") if a)
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("MASSPOST_CSRF_ORIGINS", "").split(",") if o]

# No inline script or style anywhere: the pages' own JavaScript is one static file (docs/ui.md, "Security").
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

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
TIME_ZONE = "UTC"  # stored, the API, the logs; a page shows local time (masspost.web.timezone)
MASSPOST_DISPLAY_TIME_ZONE = os.environ.get("MASSPOST_DISPLAY_TIME_ZONE", "Europe/Tallinn")  # clinics in several zones
LANGUAGE_CODE = os.environ.get("MASSPOST_LANGUAGE", "et")  # a new browser: its Accept-Language first (docs/ui.md)
LANGUAGES = [("et", "Eesti"), ("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [Path(__file__).resolve().parent / "locale"]
USE_I18N = True
USE_THOUSAND_SEPARATOR = True
FORMAT_MODULE_PATH = ["masspost.web.formats"]  # Estonian thousands grouped (masspost/web/formats/et)
LANGUAGE_COOKIE_NAME = "masspost_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Gateways by URL (docs/delivery.md). Unset = a JSON-lines file in the data directory: nothing leaves the machine.
MASSPOST_SMS_URL = os.environ.get("MASSPOST_SMS_URL") or f"file://{DATA_DIR / 'outbox-sms.jsonl'}"
MASSPOST_EMAIL_URL = os.environ.get("MASSPOST_EMAIL_URL") or f"file://{DATA_DIR / 'outbox-email.jsonl'}"

# The public base URL masspost is served at, as an HTTP SMS provider reaches it (https://masspost.clinic.example):
# the providers' receipts and replies come to its /hooks/… webhooks (docs/delivery.md, "HTTP SMS providers").
# Unset = no webhooks (nothing asks a provider to call back). Checked where it is used (delivery.webhooks.public_url).
MASSPOST_PUBLIC_URL = os.environ.get("MASSPOST_PUBLIC_URL", "").strip().rstrip("/")
# Consent (docs/consent.md). The unsubscribe links and pages are under MASSPOST_PUBLIC_URL (/u/<key>); unset, a
# marketing SMS's opt-out line is the stop word instead, and a marketing e-mail carries only the mailto: below.
# The address of the List-Unsubscribe header's mailto: (unset: none). masspost does not read that mailbox.
MASSPOST_UNSUBSCRIBE_MAILTO = os.environ.get("MASSPOST_UNSUBSCRIBE_MAILTO", "").strip()
# DKIM for every e-mail whose clinic has no key of its own: the selector and a PEM private key's file (d= is the
# domain of each e-mail's From address). Both unset: e-mails are not signed.
MASSPOST_DKIM_SELECTOR = os.environ.get("MASSPOST_DKIM_SELECTOR", "").strip()
MASSPOST_DKIM_KEY_FILE = os.environ.get("MASSPOST_DKIM_KEY_FILE", "").strip()

# Rate limits per gateway, across all workers: messages per second (an SMS counts its parts); 0 = none.
MASSPOST_SMS_RATE = float(os.environ.get("MASSPOST_SMS_RATE") or 0)
MASSPOST_EMAIL_RATE = float(os.environ.get("MASSPOST_EMAIL_RATE") or 0)
# E-mails a worker hands to the SMTP server as one group (one hand-off, one record); the SMS window is the SMS
# URL's `window` (smpp://, twilio://, messente://). Either is the most a worker killed mid-send can leave `unknown`.
MASSPOST_EMAIL_WINDOW = int(os.environ.get("MASSPOST_EMAIL_WINDOW") or 10)

# Every 500 of the web UI is logged by Django's `django.request` (the path and the traceback's frames: the
# exception's message, which may quote patient data, never); Django's own default logs it only with DEBUG on.
# The API logs its 500s itself, in the same form (masspost.api.problems).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "frames": {"()": "masspost.logs.FramesOnly",
                              "format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
                 "stderr_frames": {"class": "logging.StreamHandler", "formatter": "frames"}},
    "loggers": {"masspost": {"handlers": ["stderr"], "level": os.environ.get("MASSPOST_LOG_LEVEL", "WARNING")},
                "django.request": {"handlers": ["stderr_frames"], "level": "ERROR", "propagate": False}},
}

# Sending windows (docs/campaign.md, "Quiet hours and holidays"): "clinics" (the default) holds each message until
# its clinic's window for the purpose opens — marketing Mon-Sat 09:00-20:00, service 08:00-21:00 every day unless
# the clinic says otherwise —, with the country's public holidays closed for marketing; "always" ignores every
# window and holiday (a test installation, or a deployment that sends only what staff send by hand at once).
MASSPOST_SENDING_WINDOWS = os.environ.get("MASSPOST_SENDING_WINDOWS", "clinics").strip().lower() or "clinics"
if MASSPOST_SENDING_WINDOWS not in ("clinics", "always"):
    raise ImproperlyConfigured(f"MASSPOST_SENDING_WINDOWS: {MASSPOST_SENDING_WINDOWS!r} is not 'clinics' or 'always'")

# The price of one SMS part, e.g. "0.065 EUR" (amount, ISO 4217 currency): the preview shows what its parts will
# cost, per language and in total. Unset = no cost shown; a value that is not a price stops the preview.
MASSPOST_SMS_PART_PRICE = os.environ.get("MASSPOST_SMS_PART_PRICE", "")

# The REST API (docs/api.md). Requests a second per token, and the burst it may make at once (0 = no limit);
# the largest JSON body, and the largest CSV file an import takes (bytes).
MASSPOST_API_RATE = float(os.environ.get("MASSPOST_API_RATE") or 10)
MASSPOST_API_BURST = int(os.environ.get("MASSPOST_API_BURST") or 50)
MASSPOST_API_MAX_BODY = int(os.environ.get("MASSPOST_API_MAX_BODY") or 1024 * 1024)
MASSPOST_API_MAX_IMPORT = int(os.environ.get("MASSPOST_API_MAX_IMPORT") or 512 * 1024 * 1024)
