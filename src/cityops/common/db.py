"""Database helpers shared by the apps."""

from __future__ import annotations

import time
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


def let_others_write(held: float) -> None:
    """A pause after a batch that held SQLite's write lock for `held` seconds, in loops that
    write batch after batch (imports, the SLA scan's row path).

    SQLite has one writer at a time and no queue: a request waiting for the lock polls for it
    (every 100 ms at most, SQLite's busy handler), and a loop that commits a batch and begins
    the next at once wins nearly every time, until the request's busy timeout runs out
    ("database is locked"). Pausing for a quarter of the time held, and at least 0.1 s, lets
    the waiting requests in: the loop takes about a quarter longer, other writes wait about
    one batch. PostgreSQL locks rows, not the database: no pause there (nor inside a caller's
    transaction, which keeps the lock anyway).
    """
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(max(0.1, held / 4))
