"""Database helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def asynchronous_commit() -> Iterator[None]:
    """A transaction whose commit does not wait for the WAL flush (PostgreSQL; plain atomic elsewhere).

    For writes that may be lost in a server crash without harm: derived data that a repair
    job rebuilds (rollups, the duplicate index), or a counter whose value a later synchronous
    commit flushes anyway. It spares the request one disk flush.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
