"""Streaming bulk inserts: PostgreSQL COPY, or executemany on SQLite.

Django's bulk_create builds a model instance per row, which is most of the cost at a million rows; the
outbox, the demo generator and the benchmarks write through here instead. Call inside a transaction when the
rows must land all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from django.db import connection
from django.db.models import Model

BATCH = 5000


def bulk_insert(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (tuples in `columns` order, column = database column name); returns the count."""
    table = model._meta.db_table
    quote = connection.ops.quote_name
    cols = ", ".join(quote(c) for c in columns)
    connection.ensure_connection()
    count = 0
    it = iter(rows)
    if connection.vendor == "postgresql":
        raw = connection.connection
        assert raw is not None
        while batch := list(islice(it, BATCH)):
            # One COPY per batch: the caller may be streaming its rows from a server-side cursor on this same
            # connection, which must not be mid-fetch while a COPY is open.
            with raw.cursor() as cur, cur.copy(f"COPY {quote(table)} ({cols}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
            count += len(batch)
    else:
        sql = f"INSERT INTO {quote(table)} ({cols}) VALUES ({', '.join(['%s'] * len(columns))})"
        with connection.cursor() as cur:
            while batch := list(islice(it, BATCH)):
                cur.executemany(sql, batch)
                count += len(batch)
    return count


def statistics_refresh(models: Sequence[type[Model]]) -> None:
    """Let the query planner see what a large write changed (after an import or the demo). SQLite keeps no
    statistics of its own until ANALYZE: without them it reads a wide age range through the birth-date index,
    row by row, at twice the time of a plain scan (docs/benchmarks.md, "Web UI"). PostgreSQL's autovacuum
    would get there later; an ANALYZE now makes the first audience after an import fast too."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
