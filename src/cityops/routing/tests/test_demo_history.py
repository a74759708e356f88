"""The demo's synthetic dispatch history (`desks/demo_history.py`): volume, shares, consistent
events, idempotence, and the analytics rollups rebuilt from it."""

from collections import Counter

from django.utils import timezone

from cityops.cases.models import Case, CaseEvent, Channel
from cityops.cases.states import Action, CallbackStatus, Satisfaction, Status
from cityops.desks.demo_history import CATEGORIES, HISTORY_PREFIX, demo_history_ensure, describe


def _history():
    return Case.objects.filter(external_id__startswith=HISTORY_PREFIX)


def test_history_loads_once_with_the_daily_volume(demo_district):
    result = demo_history_ensure(days=10, per_day=30, rebuild=False)
    assert not result.skipped
    assert _history().count() == result.cases
    assert 0.75 * 300 <= result.cases <= 1.25 * 300
    days = Counter(timezone.localtime(t).date() for t in _history().values_list("created_at", flat=True))
    assert len(days) >= 9 and max(days.values()) < 3 * 30
    assert CaseEvent.objects.count() == result.events
    again = demo_history_ensure(days=10, per_day=30, rebuild=False)
    assert again.skipped and Case.objects.count() == result.cases and CaseEvent.objects.count() == result.events


def test_history_has_realistic_shares_of_channels_results_and_exceptions(demo_district):
    result = demo_history_ensure(days=40, per_day=40, rebuild=False)
    cases = _history()
    channels = Counter(cases.values_list("channel", flat=True))
    assert {Channel.INSPECTOR, Channel.CITY_PLATFORM, Channel.HOTLINE, Channel.WEB} <= set(channels)
    # Inspectors report 部件/事件, not 12345 诉求.
    assert not cases.filter(channel=Channel.INSPECTOR, category__code__startswith="H").exists()
    with_result = cases.exclude(satisfaction="")
    good = with_result.filter(satisfaction__in=[Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED]).count()
    assert 0.9 <= good / with_result.count() <= 0.99
    statuses = Counter(cases.values_list("callback_status", flat=True))
    assert statuses[CallbackStatus.UNREACHABLE] > 0 and statuses[CallbackStatus.NOT_NEEDED] > 0
    assert not cases.filter(channel=Channel.INSPECTOR).exclude(callback_status__in=["", CallbackStatus.NOT_NEEDED]).exists()
    assert not cases.filter(callback_status=CallbackStatus.DONE, satisfaction="").exists()
    assert not cases.filter(satisfaction=Satisfaction.UNSATISFIED, review_status="").exists()
    actions = Counter(CaseEvent.objects.values_list("action", flat=True))
    n = result.cases
    assert 0.01 * n <= actions[Action.ACCEPT_RETURN] <= 0.06 * n
    assert actions[Action.REQUEST_EXTENSION] > 0 and actions[Action.SLA_OVERDUE] > 0 and actions[Action.RATE] > 0
    assert actions[Action.DISPATCH] >= n
    assert cases.filter(status=Status.CLOSED).count() > 0.8 * n
    assert cases.exclude(status=Status.CLOSED).exists()  # the last days are still being handled


def test_history_events_are_consistent_with_each_case(demo_district):
    demo_history_ensure(days=8, per_day=30, rebuild=False)
    for case in _history().order_by("?")[:80]:
        events = list(case.events.order_by("created_at", "id"))
        assert events[0].action == Action.CREATE and events[0].created_at == case.created_at
        assert events[0].payload["synthetic"] is True
        previous = events[0].to_status
        for event in events[1:]:
            assert event.from_status == previous, (case.number, event.action)
            previous = event.to_status
        assert previous == case.status
        assert case.version == len(events) and case.updated_at == events[-1].created_at
        if case.status == Status.CLOSED:
            assert case.closed_at is not None and case.department_id is not None
        if case.satisfaction:
            source_event = next(e for e in events if e.action in (Action.CALLBACK, Action.RATE))
            assert case.satisfaction_at == source_event.created_at
            assert source_event.payload == {"satisfaction": case.satisfaction, "result": True}


def test_descriptions_vary_within_a_category():
    import random

    rng = random.Random(1)
    texts = {describe(rng, "P0118", Channel.HOTLINE, "东关社区")[1] for _ in range(200)}
    assert len(texts) > 100
    for code in CATEGORIES:
        title, text = describe(rng, code, Channel.WEB, "东关社区")
        assert len(text) > 8 and not title  # web reports come without a title


def test_rollups_are_rebuilt_after_loading(demo_district):
    from cityops.analytics.models import DailyCount

    demo_history_ensure(days=5, per_day=20)
    assert DailyCount.objects.exists()
