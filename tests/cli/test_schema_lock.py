"""Commands started together migrate one at a time (PostgreSQL's advisory lock), and release the lock after."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections

from masspost.cli import base
from masspost.cli.base import MIGRATE_LOCK, ensure_schema

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_process() -> Iterator[Any]:
    if connection.vendor != "postgresql":
        pytest.skip("the migration lock is PostgreSQL's; SQLite runs one process that writes")
    other = connections.create_connection("default")  # a session of its own, as another process has
    yield other
    other.close()


def run(other: Any, sql: str, *params: Any) -> Any:
    with other.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def test_a_command_waits_while_another_migrates_then_migrates_itself(other_process: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run(other_process, "SELECT pg_advisory_lock(%s)", MIGRATE_LOCK)
    tries: list[float] = []

    def sleep(seconds: float) -> None:  # a try that found the lock taken
        tries.append(seconds)
        if len(tries) == 3:
            run(other_process, "SELECT pg_advisory_unlock(%s)", MIGRATE_LOCK)  # the other's migration ends
        assert len(tries) < 100, "still trying after the lock was free"

    monkeypatch.setattr(base.time, "sleep", sleep)
    ensure_schema()
    assert len(tries) == 3  # it waited for the lock, and went on as soon as it was free


def test_waiting_for_the_lock_does_not_hold_up_the_holders_concurrent_index_build(
        other_process: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The holder's migration builds an index CONCURRENTLY, which waits for every older snapshot: a command
    # waiting for the lock inside a statement would hold one, and the two would wait for each other.
    run(other_process, "SELECT pg_advisory_lock(%s)", MIGRATE_LOCK)
    run(other_process, "CREATE TABLE lock_probe (x integer)")
    done, trying = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        trying.set()  # the command found the lock taken at least once
        real_sleep(seconds)

    monkeypatch.setattr(base.time, "sleep", sleep)

    def command() -> None:
        try:
            ensure_schema()
        except BaseException as exc:  # noqa: BLE001 - reported below, on the test's thread
            errors.append(exc)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=command)
    thread.start()
    try:
        assert trying.wait(30)
        assert not done.is_set()
        run(other_process, "SET statement_timeout = '20s'")
        run(other_process, "CREATE INDEX CONCURRENTLY lock_probe_x ON lock_probe (x)")  # does not wait on it
    finally:
        run(other_process, "SELECT pg_advisory_unlock(%s)", MIGRATE_LOCK)
        assert done.wait(60)
        thread.join()
        run(other_process, "DROP TABLE lock_probe")
    assert errors == []  # neither side was chosen as a deadlock's victim


def test_the_lock_is_released_when_the_migration_is_done(other_process: Any) -> None:
    ensure_schema()
    assert run(other_process, "SELECT pg_try_advisory_lock(%s)", MIGRATE_LOCK) == (True,)
    run(other_process, "SELECT pg_advisory_unlock(%s)", MIGRATE_LOCK)
