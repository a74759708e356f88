"""Per-process caches of reference data that every request reads and almost nothing writes.

The one way CityOps keeps database rows (or something built from them: the working calendar's
overrides, the geo lookup index, the active routing model, analytics names, the caller's roles)
in the memory of a process. Do not hand-roll another: make a `ReferenceCache`.

An intake request used to re-read the caller's roles and permissions, the category and its
time limit, and whether any webhook is subscribed: seven statements of ≈ 24, every time. A
`ReferenceCache` keeps such answers in the process and stays honest in three ways:

* a write in this process clears it at once (the owning app connects `invalidate` to the
  model signals, or calls it after bulk writes that send none), and again when that write's
  transaction commits;
* other processes notice within `recheck_seconds` of the commit: `invalidate` then publishes a
  new version under a key in Django's cache (Redis in production), which each process compares
  with the version it loaded under, at most once per `recheck_seconds`;
* what is read inside a transaction follows the cache's `transactions` rule:

  - `COMMITTED` (the default): only committed rows are cached. A value loaded inside a
    transaction (which may still roll back, or see its own uncommitted writes) is used for
    that call and not kept. For data whose staleness is a security question (tokens, roles).
  - `OWN_WRITES` (the working calendar): values read inside transactions are kept, except
    while this process has an uncommitted write of its own: until that transaction ends,
    every read inside a transaction goes to the loader (it sees what the transaction wrote)
    and nothing is kept.
  - `ANY` (the geo index and what follows it, the routing model keyed by its row): whatever
    was read is kept; a write here clears at once and publishes a new version at once and
    again after its commit, so that others keyed on the version (map layer bodies, ETags)
    move with this process's own view.

A cache may `follow` another: it shares that cache's version key and recheck interval and is
cleared with it (rows derived from the geo data follow the geo index).

One cache holds one value (`value()`, with the loader given at construction) or many values by
key (`get(key, load)`, at most `max_entries`). `max_age` reloads a value that old even if no
version changed (for rows whose writers publish nothing). With `serialize_loads` one loader runs
at a time per cache and process (expensive loads: the geo index, a routing model), and a
thread that waited gets the value the other one loaded. A load that a write overtook (the cache
was cleared while it ran) is returned to its caller but not kept.

If the shared cache is down (it raises), a process keeps its copy for `recheck_seconds` and then
reloads from the database on every call until the cache is back: slower, never wrong for
longer (`outage=RELOAD`, the default). With `outage=KEEP` (expensive loads, data where being a
few seconds late is harmless) it keeps its copy and asks again after the next interval.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MISSING: Any = object()
_registry: weakref.WeakSet[ReferenceCache] = weakref.WeakSet()

COMMITTED = "committed"
OWN_WRITES = "own_writes"
ANY = "any"
RELOAD = "reload"
KEEP = "keep"


def _in_transaction(using: str = DEFAULT_DB_ALIAS) -> bool:
    return transaction.get_connection(using).in_atomic_block


class ReferenceCache:
    def __init__(
        self,
        name: str,
        load: Callable[[], Any] | None = None,
        *,
        version_key: str | None = None,
        follows: ReferenceCache | None = None,
        recheck_seconds: float | Callable[[], float] | None = None,
        max_entries: int = 10_000,
        max_age: float | None = None,
        transactions: str = COMMITTED,
        outage: str = RELOAD,
        serialize_loads: bool = False,
    ) -> None:
        if transactions not in (COMMITTED, OWN_WRITES, ANY):
            raise ValueError(f"transactions={transactions!r}")
        if outage not in (RELOAD, KEEP):
            raise ValueError(f"outage={outage!r}")
        if follows is not None and version_key is not None and version_key != follows.version_key:
            raise ValueError("a cache that follows another shares its version key")
        self.name = name
        self.version_key: str = follows.version_key if follows is not None else version_key or f"cityops:refcache:{name}:version"
        self.max_entries = max_entries
        self.max_age = max_age
        self.transactions = transactions
        self.outage = outage
        self._load = load
        if recheck_seconds is None:  # a follower checks as often as the cache it follows
            recheck_seconds = (follows._recheck or follows.recheck_seconds) if follows is not None else 2.0
        if callable(recheck_seconds):
            self._recheck: Callable[[], float] | None = recheck_seconds
            self.recheck_seconds: float = 0.0
        else:
            self._recheck = None
            self.recheck_seconds = float(recheck_seconds)
        self._entries: dict[Hashable, Any] = {}
        self._single: Any = _MISSING  # _entries[None] (the value of a single-value cache), for value()
        self._version: object = None
        self._checked_at = float("-inf")
        self._filled_at: float | None = None
        self._generation = 0
        # Set while a transaction that wrote (OWN_WRITES) is open: its rows may still roll back.
        self._uncommitted = False
        self._lock = threading.Lock()
        self._load_lock = threading.RLock() if serialize_loads else None
        self._followers: weakref.WeakSet[ReferenceCache] = weakref.WeakSet()
        if follows is not None:
            follows._followers.add(self)
        _registry.add(self)

    def __repr__(self) -> str:
        return f"<ReferenceCache {self.name} ({len(self._entries)} entries)>"

    # ------------------------------------------------------------------------- reading

    @property
    def version(self) -> object:
        """The shared version the values of this process were loaded under (None before the first check)."""
        return self._version

    def value(self) -> Any:
        """The one value of a single-value cache, loaded with the loader given at construction."""
        # The fast path of `get`, inlined: this is called on every deadline and every lookup.
        value = self._single
        if value is not _MISSING and not self._uncommitted:
            recheck = self._recheck
            if time.monotonic() - self._checked_at < (recheck() if recheck is not None else self.recheck_seconds):
                return value
        if self._load is None:
            raise TypeError(f"reference cache {self.name} has no loader: use get(key, load)")
        return self.get(None, self._load)

    def get(self, key: Hashable, load: Callable[[], T], *, keep_none: bool = True) -> T:
        """The cached value of `key`, or `load()` (kept as the `transactions` rule allows, and
        when it is not None unless `keep_none`)."""
        if self._uncommitted:
            if _in_transaction():
                return load()
            # Outside any transaction: the writer either committed (its on_commit cleared us
            # already) or rolled back; either way the table is settled again.
            self.clear()
        interval = self._recheck() if self._recheck is not None else self.recheck_seconds
        if time.monotonic() - self._checked_at >= interval:
            self._revalidate()
        value = self._entries.get(key, _MISSING)
        if value is not _MISSING:
            return value
        if self.transactions == COMMITTED and _in_transaction():
            return load()
        if self._load_lock is None:
            return self._load_and_keep(key, load, keep_none)
        with self._load_lock:
            value = self._entries.get(key, _MISSING)
            if value is not _MISSING:
                return value
            return self._load_and_keep(key, load, keep_none)

    def _load_and_keep(self, key: Hashable, load: Callable[[], T], keep_none: bool) -> T:
        generation = self._generation
        value = load()
        if value is None and not keep_none:
            return value
        with self._lock:
            if generation == self._generation:  # else a write cleared us meanwhile
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                    self._single = _MISSING
                    self._filled_at = None
                if self._filled_at is None:
                    self._filled_at = time.monotonic()
                self._entries[key] = value
                if key is None:
                    self._single = value
        return value

    def _revalidate(self) -> None:
        now = time.monotonic()
        try:
            shared = cache.get(self.version_key)
            if shared is None:  # first use anywhere (or evicted): agree on one token
                cache.add(self.version_key, uuid.uuid4().hex, None)
                shared = cache.get(self.version_key)
        except Exception:
            logger.warning("reference cache %s: shared version unavailable", self.name, exc_info=True)
            shared = _MISSING
        with self._lock:
            if shared is _MISSING and self.outage == KEEP:
                self._checked_at = now
                return
            expired = self.max_age is not None and self._filled_at is not None and now - self._filled_at >= self.max_age
            if shared is _MISSING or shared != self._version or expired:
                self._drop()
                self._version = None if shared is _MISSING else shared
            self._checked_at = now if shared is not _MISSING else float("-inf")

    # ------------------------------------------------------------------------- writing

    def invalidate(self, using: str | None = None, **kwargs: Any) -> None:
        """Forget everything here (and in the caches that follow this one) now; once the write is
        committed, forget again (a read between the write and its commit may have cached the old
        row) and tell the other processes — told earlier, they could reload the old row before
        the commit and keep it (`ANY` tells them now as well). Signal-compatible."""
        alias = using or DEFAULT_DB_ALIAS
        self.clear()
        if _in_transaction(alias):
            for ref in self._group():
                if ref.transactions == OWN_WRITES:
                    ref._uncommitted = True
            if self.transactions == ANY:
                self._publish()
            transaction.on_commit(self._committed, using=alias)
        else:
            self._publish()

    def _committed(self) -> None:
        self.clear()
        self._publish()

    def forget(self, key: Hashable) -> None:
        """Drop one entry of this process (its next `get` reloads it)."""
        with self._lock:
            self._entries.pop(key, None)
            if key is None:
                self._single = _MISSING
            self._generation += 1

    def clear(self) -> None:
        """Empty this cache and those that follow it, in this process only (no version published)."""
        for ref in self._group():
            with ref._lock:
                ref._drop()
                ref._uncommitted = False
                ref._checked_at = float("-inf")

    def _drop(self) -> None:
        self._entries.clear()
        self._single = _MISSING
        self._filled_at = None
        self._generation += 1

    def _group(self) -> list[ReferenceCache]:
        group: list[ReferenceCache] = [self]
        for ref in group:
            group.extend(f for f in ref._followers if f not in group)
        return group

    def _publish(self) -> None:
        try:
            cache.set(self.version_key, uuid.uuid4().hex, None)
        except Exception:
            logger.warning("reference cache %s: could not publish a new version", self.name, exc_info=True)


def clear_all() -> None:
    """Empty every reference cache of this process (tests: the database is reset between them)."""
    for ref in list(_registry):
        ref.clear()
