"""Reference caches: kept outside transactions only, cleared by writes here and elsewhere."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from cityops.common.refcache import ReferenceCache


class Loader:
    def __init__(self, value="v1"):
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.value


@pytest.fixture
def ref():
    return ReferenceCache("test.refcache", recheck_seconds=60)


def test_value_loaded_outside_a_transaction_is_kept(transactional_db, ref):
    load = Loader()
    assert ref.get("k", load) == "v1"
    assert ref.get("k", load) == "v1"
    assert load.calls == 1


def test_value_loaded_inside_a_transaction_is_not_kept(transactional_db, ref):
    load = Loader()
    with transaction.atomic():
        assert ref.get("k", load) == "v1"
    ref.get("k", load)
    assert load.calls == 2


def test_invalidate_forgets_values_at_once(transactional_db, ref):
    load = Loader()
    ref.get("k", load)
    load.value = "v2"
    ref.invalidate()
    assert ref.get("k", load) == "v2"


def test_a_read_between_a_write_and_its_commit_is_forgotten_at_commit(transactional_db, ref):
    load = Loader()
    with transaction.atomic():
        ref.invalidate()  # the writer's signal
        # a concurrent request outside the transaction caches the old row meanwhile
        ref._entries["k"] = "stale"
    assert ref.get("k", load) == "v1"


def test_other_processes_are_told_only_once_the_write_is_committed(transactional_db, ref):
    before = cache.get(ref.version_key)
    with transaction.atomic():
        ref.invalidate()
        # told now, another process could reload the old row before the commit and keep it
        assert cache.get(ref.version_key) == before
    assert cache.get(ref.version_key) != before


def test_a_rolled_back_write_tells_no_one(transactional_db, ref):
    before = cache.get(ref.version_key)
    with pytest.raises(RuntimeError), transaction.atomic():
        ref.invalidate()
        raise RuntimeError("rolled back")
    assert cache.get(ref.version_key) == before


def test_another_process_invalidating_is_noticed_after_the_recheck_interval(transactional_db):
    ref = ReferenceCache("test.refcache.shared", recheck_seconds=0)
    load = Loader()
    ref.get("k", load)
    cache.set(ref.version_key, "written-by-another-process")  # what its invalidate() publishes
    load.value = "v2"
    assert ref.get("k", load) == "v2"
    assert ref.get("k", load) == "v2"
    assert load.calls == 2


def test_shared_cache_outage_reloads_instead_of_trusting_old_values(transactional_db, monkeypatch):
    ref = ReferenceCache("test.refcache.outage", recheck_seconds=0)
    load = Loader()
    ref.get("k", load)

    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "get", down)
    ref.get("k", load)
    ref.get("k", load)
    assert load.calls == 3


def test_cache_is_bounded(transactional_db):
    ref = ReferenceCache("test.refcache.bounded", max_entries=3)
    for key in range(10):
        ref.get(key, Loader())
    assert len(ref._entries) <= 3
