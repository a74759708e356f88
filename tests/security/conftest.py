"""Fixtures of the security tests: the module-wide `world` (see world.py)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from cityops.geo import lookup
from tests.security.world import build_world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once per module inside an outer transaction; each test's `db` savepoint nests in it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            lookup.reset_index()
            cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counters and import jobs live in the locmem cache; no test may see another's.
    cache.clear()
    yield
    cache.clear()
