"""Per-process caches of reference rows that every request reads and almost nothing writes.

An intake request used to re-read the caller's roles and permissions, the category and its
time limit, and whether any webhook is subscribed: seven statements of ≈ 24, every time. A
`ReferenceCache` keeps such answers in the process and stays honest in three ways:

* a write in this process clears it at once (the owning app connects `invalidate` to the
  model signals), and again when that write's transaction commits;
* other processes notice within `recheck_seconds` of the commit: `invalidate` then publishes a
  new version under a key in Django's cache (Redis in production), which each process compares
  with the version it loaded under, at most once per `recheck_seconds`;
* only committed rows are cached: a value loaded inside a transaction (which may still roll
  back, or see its own uncommitted writes) is used for that call and not kept.

If the shared cache is down, a process keeps its copy for `recheck_seconds` and then reloads
from the database on every call until the cache is back: slower, never wrong for longer.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MISSING = object()
_registry: list[ReferenceCache] = []


class ReferenceCache:
    def __init__(self, name: str, *, recheck_seconds: float = 2.0, max_entries: int = 10_000) -> None:
        self.name = name
        self.version_key = f"cityops:refcache:{name}:version"
        self.recheck_seconds = recheck_seconds
        self.max_entries = max_entries
        self._entries: dict[Hashable, Any] = {}
        self._version: object = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        _registry.append(self)

    def get(self, key: Hashable, load: Callable[[], T], *, keep_none: bool = True) -> T:
        """The cached value of `key`, or `load()` (kept when it read committed data only, and
        when it is not None unless `keep_none`)."""
        self._revalidate()
        value = self._entries.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = load()
        if (value is not None or keep_none) and not transaction.get_connection(DEFAULT_DB_ALIAS).in_atomic_block:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = value
        return value

    def invalidate(self, **kwargs: Any) -> None:
        """Forget everything here now; once the write is committed, forget again (a read between
        the write and its commit may have cached the old row) and tell the other processes —
        told earlier, they could reload the old row before the commit and keep it. Signal-compatible."""
        self.clear()
        if transaction.get_connection(DEFAULT_DB_ALIAS).in_atomic_block:
            transaction.on_commit(self._committed)
        else:
            self._publish()

    def _committed(self) -> None:
        self.clear()
        self._publish()

    def forget(self, key: Hashable) -> None:
        """Drop one entry of this process (its next `get` reloads it)."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._checked_at = float("-inf")

    def _revalidate(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.recheck_seconds:
            return
        try:
            shared = cache.get(self.version_key)
        except Exception:
            logger.warning("reference cache %s: shared version unavailable", self.name, exc_info=True)
            shared = _MISSING
        with self._lock:
            if shared is _MISSING or shared != self._version:
                self._entries.clear()
                self._version = shared
            self._checked_at = now if shared is not _MISSING else now - self.recheck_seconds

    def _publish(self) -> None:
        try:
            cache.set(self.version_key, uuid.uuid4().hex, None)
        except Exception:
            logger.warning("reference cache %s: could not publish a new version", self.name, exc_info=True)


def clear_all() -> None:
    """Empty every reference cache of this process (tests: the database is reset between them)."""
    for ref in _registry:
        ref.clear()
