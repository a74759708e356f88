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


def let_others_write(held: float, *, contended: bool = False) -> None:
    """A pause after a batch that held SQLite's write lock for `held` seconds, in loops that
    write batch after batch (imports, the SLA scan's row path).

    SQLite has one writer at a time and no queue: a request waiting for the lock polls for it
    (every 100 ms at most, SQLite's busy handler), and a loop that commits a batch and begins
    the next at once wins nearly every time, until the request's busy timeout runs out
    ("database is locked"). Pausing for a quarter of the time held, and at least 0.1 s, lets
    the waiting requests in: the loop takes about a quarter longer, other writes wait about
    one batch. When the loop itself had to wait for the lock (`contended`: others are writing
    right now) it pauses as long as it held the lock, leaving them half the time. PostgreSQL
    locks rows, not the database: no pause there (nor inside a caller's transaction, which
    keeps the lock anyway).
    """
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(max(0.1, held if contended else held / 4))


BACKGROUND_BUSY_TIMEOUT_MS = 300_000


@contextmanager
def patient_writer(timeout_ms: int = BACKGROUND_BUSY_TIMEOUT_MS) -> Iterator[None]:
    """SQLite: this connection waits up to `timeout_ms` for the write lock instead of the
    requests' 30 s. For background writers (an import, a periodic job): they give way to the
    requests between their batches (`let_others_write`), and when the site is busy, waiting a
    little longer for their turn beats failing half-way. No effect on PostgreSQL."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
    try:
        yield
    finally:
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")
