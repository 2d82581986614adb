from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from masspost.cli.base import MasspostCommand
from masspost.cli.production import refuse_development_key
from masspost.content.languages import country_codes, language_codes


class Command(MasspostCommand):
    help = ("Serve the web UI with gunicorn (masspost.wsgi:application), static files included. Behind a "
            "reverse proxy with HTTPS for real use; set MASSPOST_ALLOWED_HOSTS to the names it is reached by.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="the port to listen on (default 8000)")
        parser.add_argument("--workers", type=int, default=4, metavar="N", help="worker processes (default 4)")
        parser.add_argument("--threads", type=int, default=1, metavar="N",
                            help="threads per worker process (default 1: plain sync workers; more uses gunicorn's "
                                 "gthread workers)")
        parser.add_argument("--access-log", action="store_true",
                            help="log each request (method, path, status) to standard output")
        parser.add_argument("--graceful-timeout", type=int, default=30, metavar="SECONDS",
                            help="seconds requests in progress get to finish when stopped (default 30)")
        parser.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="ADDRESSES",
                            help="the reverse proxies (comma-separated addresses) whose X-Forwarded-Proto is "
                                 "trusted (default 127.0.0.1)")

    def execute(self, *args: Any, **options: Any) -> Any:
        refuse_development_key("serve")  # before the schema is touched
        return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"--port {port}: not a port (1–65535)")
        for name in ("workers", "threads"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1")
        _check_free(host, port)
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if settings.SECRET_KEY == settings.DEV_SECRET_KEY and not _loopback(host):
            self.stderr.write("warning: MASSPOST_SECRET_KEY is not set: sessions are signed with a key anyone can "
                              "read; set it before serving beyond this machine")
        # The workers are forked from this process: none may inherit its database connection (the migration's).
        connections.close_all()
        # A page's requests (the live count, the SMS counter) come in bursts: each worker thread keeps its
        # connection a minute instead of opening one per request (~10 ms on PostgreSQL), checked before reuse.
        for alias in connections:
            connections.settings[alias].update({"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True})
        config = {
            "bind": [netloc],
            "workers": options["workers"],
            # Sync workers by default: gunicorn's gthread pool can deadlock a worker whose stop signal lands while
            # it starts a request thread (seen in CI), and a clinic's handful of users needs no threads.
            "worker_class": "gthread" if options["threads"] > 1 else "sync",
            "threads": options["threads"],
            "graceful_timeout": options["graceful_timeout"],
            "timeout": 60,
            "keepalive": 5,
            "accesslog": "-" if options["access_log"] else None,
            "logger_class": AccessLog,
            "errorlog": "-",
            "loglevel": "warning",  # gunicorn's start-up chatter off; its errors still show
            "forwarded_allow_ips": options["forwarded_allow_ips"],
            "proc_name": "masspost-serve",
            "control_socket_disable": True,  # gunicorn ≥ 25: no control socket shared by every server of the user
            "post_worker_init": _worker_ready,
            "when_ready": lambda server: print(f"masspost web UI at http://{netloc}/", file=sys.stderr, flush=True),
        }
        WebServer(config).run()


def _worker_ready(worker: Any) -> None:
    """Before a worker's first request: the language and country tables loaded (a first preview would pay
    for them: 34 ms idle, a second on a busy machine), and a gthread worker's threads started."""
    language_codes()
    country_codes()
    _start_threads(worker)


def _start_threads(worker: Any) -> None:
    """Start every request thread of a gthread worker now, not at its first requests. gunicorn's pool starts a
    thread inside `submit`, holding the pool's lock, and its SIGQUIT/SIGINT handler shuts the pool down, taking
    the same lock: a stop that lands while a thread is being started deadlocked the worker (seen in CI: the
    server never exited). With every thread already running, `submit` no longer starts one."""
    pool = getattr(worker, "tpool", None)
    threads = int(getattr(worker.cfg, "threads", 1))
    if pool is None or threads < 2:
        return
    everyone = threading.Barrier(threads, timeout=5)

    def wait() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            everyone.wait()  # holds this thread until all are running, so each task gets a thread of its own

    for _ in range(threads):
        pool.submit(wait)


# A webhook path's last segment is the secret that authenticates the provider's calls (Messente's): never logged.
_HOOK_SECRET = re.compile(r"(/hooks/[^/?\s]+/[^/?\s]+/)[^/?\s]+")


class AccessLog(Logger):
    """gunicorn's logger, with the secret in a webhook path (/hooks/messente/dlr/<secret>) shown as "…"."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = _HOOK_SECRET.sub(r"\1…", atoms[key])
        return atoms


class WebServer(BaseApplication):
    """gunicorn in this process, configured here rather than by its command line or a config file."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.config.items():
            if key in self.cfg.settings:  # a setting an older gunicorn does not have is left out
                self.cfg.set(key, value)

    def load(self) -> Any:
        from masspost.wsgi import application

        return application


def _check_free(host: str, port: int) -> None:
    """A port in use, or an address not this machine's, as one line — not gunicorn's five retries and log."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CommandError(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with contextlib.closing(socket.socket(family, kind, proto)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host} port {port}: {exc.strerror}") from None


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
