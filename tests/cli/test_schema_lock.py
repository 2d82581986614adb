"""Commands started together migrate one at a time (PostgreSQL's advisory lock), and release the lock after."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from masspost.cli.base import MIGRATE_LOCK, ensure_schema

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_process() -> object:
    if connection.vendor != "postgresql":
        pytest.skip("the migration lock is PostgreSQL's; SQLite runs one process that writes")
    other = connections.create_connection("default")  # a session of its own, as another process has
    yield other
    other.close()


def waiting_for_the_lock(other: object, within: float = 30.0) -> bool:
    """True once some session waits for MIGRATE_LOCK (pg_locks: a bigint key's low 32 bits are objid)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with other.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                           "AND classid = 0 AND objid = %s", [MIGRATE_LOCK])
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


def test_a_command_waits_while_another_migrates_then_migrates_itself(other_process: object) -> None:
    with other_process.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
    done = threading.Event()

    def command() -> None:
        try:
            ensure_schema()
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=command)
    thread.start()
    try:
        assert waiting_for_the_lock(other_process)  # held up by the other session's migration
        assert not done.is_set()
    finally:
        with other_process.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
    assert done.wait(60)
    thread.join()


def test_the_lock_is_released_when_the_migration_is_done(other_process: object) -> None:
    ensure_schema()
    with other_process.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK])
        assert cursor.fetchone() == (True,)
        cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
