"""Deferred fan-out (production): the request writes an outbox row; batches from the outbox
give the same rollups, snapshot and duplicate index as the inline path, exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.analytics.models import DailyCount, OpenCase
from cityops.analytics.rollups import rollup_rebuild
from cityops.analytics.tests.support import EAST, report, snapshot, walk
from cityops.cases import fanout
from cityops.cases.models import CaseEvent, Channel, PendingFanout
from cityops.cases.states import Action
from cityops.cases.workflow import case_transition
from cityops.routing.models import DuplicateIndexEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def deferred(settings):
    settings.CITYOPS_EVENT_FANOUT = fanout.DEFERRED


def make_history(people, category, other_category, department):
    a = report(now=timezone.now() - timedelta(days=1))
    b = report(lonlat=EAST, channel=Channel.WEB)
    c = report(lonlat=None, category=other_category)
    walk(a, people, category, department)
    walk(b, people, category, department, close=False)
    case_transition(case=c, action=Action.REJECT, actor=people["operator"], data={"note": "重复"})
    return a, b, c


def test_deferred_events_wait_in_the_outbox_and_nothing_is_derived_yet(district, people, category, other_category, department, deferred, committed):
    with committed():
        make_history(people, category, other_category, department)
    assert PendingFanout.objects.count() == CaseEvent.objects.count() > 0
    assert not DailyCount.objects.exists()
    assert not OpenCase.objects.exists()
    assert not DuplicateIndexEntry.objects.exists()


@pytest.mark.parametrize("batch", [1, 3, 500])
def test_deferred_batches_equal_a_rebuild_whatever_their_size(district, people, category, other_category, department, deferred, committed, batch):
    with committed():
        _, b, _ = make_history(people, category, other_category, department)
    result = fanout.fan_out_pending(limit=batch)
    assert result["events"] == CaseEvent.objects.count()
    assert not PendingFanout.objects.exists()
    live = snapshot()
    assert set(live["open"]) == {b.pk}
    assert set(DuplicateIndexEntry.objects.values_list("case_id", flat=True)) == {b.pk}
    rollup_rebuild()
    assert snapshot() == live


def test_a_second_run_changes_nothing(district, people, category, other_category, department, deferred, committed):
    with committed():
        make_history(people, category, other_category, department)
    fanout.fan_out_pending()
    before = snapshot()
    assert fanout.fan_out_pending() == {"events": 0, "batches": 0}
    assert snapshot() == before


def test_a_batch_that_dies_midway_leaves_its_events_pending_and_counts_them_once_on_retry(
    district, people, category, other_category, department, deferred, committed, monkeypatch
):
    with committed():
        make_history(people, category, other_category, department)
    pending = PendingFanout.objects.count()
    real_send = fanout.case_events_committed.send

    def send_then_die(*args, **kwargs):
        real_send(*args, **kwargs)  # the listeners wrote their part …
        raise SystemExit("worker killed")  # … and the worker died before the batch committed

    monkeypatch.setattr(fanout.case_events_committed, "send", send_then_die)
    with pytest.raises(SystemExit):
        fanout.fan_out_pending()
    assert PendingFanout.objects.count() == pending
    assert not DailyCount.objects.exists()
    monkeypatch.setattr(fanout.case_events_committed, "send", real_send)
    fanout.fan_out_pending()
    live = snapshot()
    rollup_rebuild()
    assert snapshot() == live


def test_inline_mode_writes_no_outbox_rows(district, category, committed):
    with committed():
        report(category=category)
    assert not PendingFanout.objects.exists()
    assert DailyCount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_apply_each_event_once(district, people, category, other_category, department, deferred):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections

    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("needs SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL)")
    for _ in range(4):
        make_history(people, category, other_category, department)
    total = PendingFanout.objects.count()

    def worker() -> int:
        try:
            return fanout.fan_out_pending(limit=4)["events"]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        done = sum(pool.map(lambda _: worker(), range(2)))
    assert done == total
    assert not PendingFanout.objects.exists()
    live = snapshot()
    rollup_rebuild()
    assert snapshot() == live
