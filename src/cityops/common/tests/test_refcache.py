"""Reference caches: kept by their transaction rule, cleared by writes here and elsewhere."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.db import transaction

from cityops.common import refcache
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


# ---------------------------------------------------------------- one helper for every per-process cache


def two_processes(name, **options):
    """Two caches of one name stand for the same cache in two processes: they share nothing but
    the cache backend (the version key)."""
    return (ReferenceCache(name, Loader(), **options), ReferenceCache(name, Loader(), **options))


def test_a_version_bump_by_another_process_is_seen_after_the_recheck_interval(transactional_db):
    here, there = two_processes("test.refcache.two", recheck_seconds=0)
    assert here.value() == there.value() == "v1"
    here._load.value = there._load.value = "v2"
    here.invalidate()
    assert here.value() == "v2"
    assert there.value() == "v2"
    assert there._load.calls == 2


def test_another_process_keeps_its_copy_until_its_recheck_interval(transactional_db):
    here, there = two_processes("test.refcache.two.slow", recheck_seconds=60)
    here.value(), there.value()
    here._load.value = there._load.value = "v2"
    here.invalidate()
    assert here.value() == "v2"
    assert there.value() == "v1"


def test_single_value_cache_without_a_loader_is_refused(transactional_db):
    with pytest.raises(TypeError):
        ReferenceCache("test.refcache.no-loader").value()


def test_unknown_transaction_rule_is_refused():
    with pytest.raises(ValueError):
        ReferenceCache("test.refcache.bad-rule", transactions="sometimes")


def test_own_writes_rule_keeps_reads_inside_a_transaction_that_wrote_nothing(transactional_db):
    load = Loader()
    ref = ReferenceCache("test.refcache.own", load, transactions=refcache.OWN_WRITES, recheck_seconds=60)
    with transaction.atomic():
        ref.value()
        ref.value()
    ref.value()
    assert load.calls == 1


def test_own_writes_rule_reads_what_the_open_transaction_wrote_and_keeps_none_of_it(transactional_db):
    load = Loader()
    ref = ReferenceCache("test.refcache.own.write", load, transactions=refcache.OWN_WRITES, recheck_seconds=60)
    ref.value()
    with transaction.atomic():
        load.value = "written"
        ref.invalidate()  # the writer's signal
        assert ref.value() == "written"
        assert ref.value() == "written"
        assert load.calls == 3  # every read inside the writing transaction goes to the loader
    assert ref.value() == "written"
    assert ref.value() == "written"
    assert load.calls == 4  # committed: loaded once more and kept


def test_own_writes_rule_forgets_a_rolled_back_write(transactional_db):
    load = Loader()
    ref = ReferenceCache("test.refcache.own.rollback", load, transactions=refcache.OWN_WRITES, recheck_seconds=60)
    ref.value()
    with pytest.raises(RuntimeError), transaction.atomic():
        load.value = "written"
        ref.invalidate()
        assert ref.value() == "written"
        load.value = "v1"  # what the table holds again after the rollback
        raise RuntimeError("rolled back")
    assert ref.value() == "v1"


def test_own_writes_rule_tells_other_processes_only_after_the_commit(transactional_db):
    ref = ReferenceCache("test.refcache.own.publish", Loader(), transactions=refcache.OWN_WRITES)
    before = cache.get(ref.version_key)
    with transaction.atomic():
        ref.invalidate()
        assert cache.get(ref.version_key) == before
    assert cache.get(ref.version_key) != before


def test_any_rule_keeps_reads_inside_a_transaction_and_tells_others_at_once(transactional_db):
    load = Loader()
    ref = ReferenceCache("test.refcache.any", load, transactions=refcache.ANY, recheck_seconds=60)
    with transaction.atomic():
        ref.value()
        ref.value()
        assert load.calls == 1
        before = cache.get(ref.version_key)
        ref.invalidate()
        told_now = cache.get(ref.version_key)
        assert told_now != before
    assert cache.get(ref.version_key) != told_now  # and again once committed


def test_a_follower_shares_the_version_and_is_cleared_with_the_cache_it_follows(transactional_db):
    leader = ReferenceCache("test.refcache.leader", Loader(), transactions=refcache.ANY, recheck_seconds=60)
    load = Loader()
    follower = ReferenceCache("test.refcache.follower", load, follows=leader)
    assert follower.version_key == leader.version_key
    assert follower.recheck_seconds == 60
    follower.value()
    leader.invalidate()
    follower.value()
    leader.clear()
    follower.value()
    assert load.calls == 3


def test_a_load_overtaken_by_a_write_is_returned_but_not_kept(transactional_db):
    ref = ReferenceCache("test.refcache.overtaken", recheck_seconds=60)
    calls = []

    def load():
        calls.append(1)
        if len(calls) == 1:
            ref.invalidate()  # a write lands while the first load runs
        return len(calls)

    assert ref.get("k", load) == 1
    assert ref.get("k", load) == 2
    assert ref.get("k", load) == 2


def test_max_age_reloads_a_value_no_one_invalidated(transactional_db):
    load = Loader()
    ref = ReferenceCache("test.refcache.age", load, recheck_seconds=0, max_age=0)
    ref.value()
    ref.value()
    assert load.calls == 2


def test_outage_keep_trusts_the_copy_while_the_shared_cache_is_down(transactional_db, monkeypatch):
    load = Loader()
    ref = ReferenceCache("test.refcache.keep", load, recheck_seconds=0, outage=refcache.KEEP)
    ref.value()

    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "get", down)
    ref.value()
    ref.value()
    assert load.calls == 1


def test_serialized_loads_run_once_for_threads_that_miss_together(transactional_db):
    started = threading.Barrier(4)
    load = Loader()

    def slow():
        time.sleep(0.05)
        return load()

    ref = ReferenceCache("test.refcache.single-flight", slow, recheck_seconds=60, serialize_loads=True)
    results = []

    def worker():
        started.wait()
        results.append(ref.value())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["v1"] * 4
    assert load.calls == 1


def test_recheck_interval_may_be_read_on_every_call(transactional_db):
    interval = {"seconds": 60.0}
    here, there = two_processes("test.refcache.callable", recheck_seconds=lambda: interval["seconds"])
    here.value(), there.value()
    there._load.value = "v2"
    here.invalidate()
    assert there.value() == "v1"
    interval["seconds"] = 0.0  # e.g. a test's monkeypatch or a settings override
    assert there.value() == "v2"
