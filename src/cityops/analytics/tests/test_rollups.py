"""The rollups follow the cases: live increments from case events equal a rebuild from scratch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.analytics import rollups
from cityops.analytics.models import ALL_STREETS, DailyCount, Dim, MonthlyCount, OpenCase
from cityops.analytics.rollups import rollup_rebuild, rollup_repair
from cityops.analytics.tests.support import EAST, report, snapshot, walk
from cityops.cases.models import Case, Channel
from cityops.cases.states import Action, Status
from cityops.cases.workflow import case_transition

pytestmark = pytest.mark.django_db


def test_live_updates_equal_a_rebuild(district, people, category, other_category, department, committed):
    yesterday = timezone.now() - timedelta(days=1)
    with committed():
        a = report(now=yesterday)
        b = report(lonlat=EAST, channel=Channel.WEB)
        c = report(lonlat=None, category=other_category)
    with committed():
        walk(a, people, category, department)
        walk(b, people, category, department, close=False)
        case_transition(case=c, action=Action.REJECT, actor=people["operator"], data={"note": "重复"})
    live = snapshot()
    assert live["daily"], "the receiver wrote nothing"
    rollup_rebuild()
    assert snapshot() == live


def test_creation_counts_each_dimension_once(district, category, committed):
    with committed():
        case = report(category=category)
    day = timezone.localdate(case.created_at)
    street = district["street1"].pk
    rows = {(r.dim, r.key): r.n for r in DailyCount.objects.filter(day=day, street_id=street)}
    assert rows[(Dim.TOTAL, "")] == 1
    assert rows[(Dim.STATUS, Status.NEW)] == 1
    assert rows[(Dim.CHANNEL, Channel.HOTLINE)] == 1
    assert rows[(Dim.CATEGORY, str(category.pk))] == 1
    assert rows[(Dim.COMMUNITY, str(district["community1"].pk))] == 1
    assert rows[(Dim.GRID, str(district["grid1"].pk))] == 1
    assert MonthlyCount.objects.get(month=day.replace(day=1), street_id=street, dim=Dim.TOTAL).n == 1
    assert MonthlyCount.objects.get(month=day.replace(day=1), street_id=ALL_STREETS, dim=Dim.TOTAL).n == 1
    assert not DailyCount.objects.filter(street_id=ALL_STREETS, dim=Dim.GRID).exists()
    assert OpenCase.objects.get(pk=case.pk).street_id == street


def test_register_moves_the_case_to_its_category_and_close_leaves_the_snapshot(district, people, category, department, committed):
    with committed():
        case = report()  # unclassified at intake
    with committed():
        walk(case, people, category, department)
    day = timezone.localdate(case.created_at)
    cats = {r.key: r.n for r in DailyCount.objects.filter(day=day, dim=Dim.CATEGORY, street_id=ALL_STREETS)}
    assert cats.get("", 0) == 0 and cats[str(category.pk)] == 1
    statuses = {r.key: r.n for r in DailyCount.objects.filter(day=day, dim=Dim.STATUS, street_id=ALL_STREETS) if r.n}
    assert statuses == {Status.CLOSED: 1}
    events = {r.key: r.n for r in DailyCount.objects.filter(dim=Dim.EVENT, street_id=ALL_STREETS) if r.n}
    assert events == {"register": 1, "dispatch": 1, "close": 1}
    assert {r.key: r.n for r in DailyCount.objects.filter(dim=Dim.SATISFACTION, street_id=ALL_STREETS)} == {"satisfied": 1}
    assert not OpenCase.objects.filter(pk=case.pk).exists()


def test_a_failing_rollup_never_fails_the_case_action(district, people, monkeypatch, committed, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("rollup down")

    monkeypatch.setattr(rollups, "bump", boom)
    with committed():
        case = report()
    assert Case.objects.filter(pk=case.pk).exists()
    assert "rollup update failed" in caplog.text


def test_repair_puts_drifted_counts_right(district, people, committed):
    with committed():
        case = report()
    DailyCount.objects.filter(dim=Dim.TOTAL).update(n=99)
    OpenCase.objects.all().delete()
    rollup_repair()
    assert DailyCount.objects.get(dim=Dim.TOTAL, day=timezone.localdate(case.created_at), street_id=ALL_STREETS).n == 1
    assert DailyCount.objects.get(dim=Dim.TOTAL, day=timezone.localdate(case.created_at), street_id=case.street_id).n == 1
    assert OpenCase.objects.filter(pk=case.pk).exists()
    assert MonthlyCount.objects.get(dim=Dim.TOTAL, street_id=ALL_STREETS).n == 1


def test_repair_syncs_the_open_case_snapshot(district, people, committed):
    with committed():
        kept = report()
        closed = report(phone="13800000002")
    Case.objects.filter(pk=closed.pk).update(status=Status.CLOSED)  # a write that sent no signal
    OpenCase.objects.filter(pk=kept.pk).update(deadline=None, status="bogus")
    rollup_repair()
    snap = OpenCase.objects.get(pk=kept.pk)
    assert snap.status == Status.NEW and snap.deadline == Case.objects.get(pk=kept.pk).deadline
    assert not OpenCase.objects.filter(pk=closed.pk).exists()


def test_repair_builds_everything_on_a_new_installation(district, people):
    case = report()  # no on_commit callbacks ran: the rollups know nothing
    assert not DailyCount.objects.exists()
    rollup_repair()
    assert DailyCount.objects.get(dim=Dim.TOTAL, street_id=ALL_STREETS).n == 1
    assert OpenCase.objects.filter(pk=case.pk).exists()


def test_event_facts_match_the_rebuild_queries():
    """Every event key the live path counts has a rebuild query (and the other way round)."""
    from cityops.cases.models import CaseEvent

    keys = {k for dim, q in rollups._event_queries(CaseEvent.objects.none()) for k in [dim]}
    assert keys == {Dim.EVENT}  # Dim.SATISFACTION is rebuilt from the cases (`_result_query`)
    samples = [
        CaseEvent(action=Action.REGISTER, from_status="new", to_status="registered"),
        CaseEvent(action=Action.DISPATCH, from_status="registered", to_status="dispatched"),
        CaseEvent(action=Action.RETURN, from_status="dispatched", to_status="returned", payload={"mis_dispatch": True}),
        CaseEvent(action=Action.VERIFY, from_status="responded", to_status="in_progress", payload={"passed": False}),
        CaseEvent(action=Action.ANSWER, from_status="new", to_status="closed"),
        CaseEvent(action=Action.REJECT, from_status="new", to_status="rejected"),
        CaseEvent(action=Action.REOPEN, from_status="closed", to_status="dispatched", payload={"previous_satisfaction": "unsatisfied"}),
    ]
    seen = {key for e in samples for dim, key in rollups.event_facts(e) if dim == Dim.EVENT}
    # a return as 非本单位职责 is no mis-dispatch by itself: the dispatch to another department that follows is
    assert seen == {"register", "dispatch", "return", "rework", "close", "reject", "reopen"}


def test_a_not_our_duty_return_re_dispatched_elsewhere_counts_one_mis_dispatch_live_and_rebuilt(
    district, people, category, department, committed
):
    from cityops.accounts.tests.factories import UserFactory
    from cityops.cases.tests.factories import DepartmentFactory

    other = DepartmentFactory(code="zhujian", name="区住建局")
    other_user = UserFactory(role="department", department=other)
    with committed():
        first = walk(report(category=category), people, category, department, close=False)
        first = case_transition(case=first, action=Action.RETURN, actor=people["dept"],
                                data={"reason": "not_our_duty", "note": "属住建局职责"})
        first = case_transition(case=first, action=Action.ACCEPT_RETURN, actor=people["dispatcher"])
        first = case_transition(case=first, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": other.code})
        # a rejected return and a return sent back to the same department are no mis-dispatches
        second = walk(report(category=category), people, category, department, close=False)
        second = case_transition(case=second, action=Action.RETURN, actor=people["dept"],
                                 data={"reason": "not_our_duty", "note": "不归我们管"})
        second = case_transition(case=second, action=Action.REJECT_RETURN, actor=people["dispatcher"], data={"note": "属城管职责"})
        case_transition(case=first, action=Action.SIGN, actor=other_user)
    live = snapshot()
    day = timezone.localdate()
    assert live["daily"][(day, ALL_STREETS, Dim.EVENT, "misdispatch")] == 1
    assert live["daily"][(day, ALL_STREETS, Dim.EVENT, "dispatch")] == 3
    rollup_rebuild()
    assert snapshot() == live
