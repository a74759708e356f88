"""A Redis cache that degrades to "always miss" while Redis is down.

The web must keep taking cases when Redis is unavailable. Django's `RedisCache` raises on
a refused connection, and the geo index and the working calendar read version keys from
the cache on the request path, so a Redis outage would turn into 500s. This backend
catches Redis errors, logs once, answers like an empty cache, and for
`CITYOPS_CACHE_RETRY_SECONDS` (default 5 s) does not even try, so a dead Redis costs no
time per request. Nothing in CityOps stores data only in the cache.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("cityops.ops.cache")


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _guard(self, method: str, default, *args):
        if self._down_until and time.monotonic() < self._down_until:
            return default
        try:
            result = getattr(super(), method)(*args)
        except RedisError as exc:
            with self._lock:
                if not self._down_until:
                    logger.warning("Redis cache unavailable, serving without it: %s", exc)
                retry = float(settings.CITYOPS_CACHE_RETRY_SECONDS)
                self._down_until = time.monotonic() + retry
            return default
        if self._down_until:
            logger.info("Redis cache is back")
            self._down_until = 0.0
        return result

    @property
    def available(self) -> bool:
        return not self._down_until or time.monotonic() >= self._down_until

    def get(self, key, default=None, version=None):
        return self._guard("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._guard("get_many", {}, keys, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("set", None, key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("add", False, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._guard("delete", False, key, version)

    def has_key(self, key, version=None):
        return self._guard("has_key", False, key, version)

    def incr(self, key, delta=1, version=None):
        return self._guard("incr", None, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("set_many", list(data), data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._guard("delete_many", None, keys, version)

    def clear(self):
        return self._guard("clear", False)
