"""Dispatch accuracy on a small hand-written history.

Day 1 (2026-11-02): A auto → zhujian, signed (good)
                    B manual → zhujian, returned not_our_duty, re-dispatched manual → renshe (bad, then good)
                    C auto → renshe, returned wrong_location (not a mis-dispatch: good)
Day 2 (2026-11-03): D auto → renshe, returned not_our_duty (bad); B's re-dispatch is on day 2
By hand: day 1 = 3 dispatches, 1 bad; day 2 = 2 dispatches, 1 bad.
         route auto = A, C, D → 3, 1 bad; manual = B1, B2 → 2, 1 bad.
         zhujian = A, B1 → 2, 1 bad; renshe = C, B2, D → 3, 1 bad.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from cityops.cases.models import CaseEvent
from cityops.cases.tests.factories import DepartmentFactory, make_case
from cityops.routing.selectors import dispatch_accuracy

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=TZ)


@pytest.fixture
def history(db):
    zhujian = DepartmentFactory(code="zhujian")
    renshe = DepartmentFactory(code="renshe")

    def dispatch(case, when, dept, route):
        CaseEvent.objects.create(case=case, created_at=when, action="dispatch", department=dept,
                                 payload={"department": dept.code, "route": route})

    def give_back(case, when, dept, reason):
        CaseEvent.objects.create(case=case, created_at=when, action="return", department=dept,
                                 payload={"reason": reason, "mis_dispatch": reason == "not_our_duty", "department": dept.code})

    a, b, c, d = (make_case(description=f"案件{x}") for x in "ABCD")
    dispatch(a, at(2, 9), zhujian, "auto")
    CaseEvent.objects.create(case=a, created_at=at(2, 10), action="sign", department=zhujian)
    dispatch(b, at(2, 9), zhujian, "manual")
    give_back(b, at(2, 15), zhujian, "not_our_duty")
    dispatch(b, at(3, 9), renshe, "manual")
    dispatch(c, at(2, 11), renshe, "auto")
    give_back(c, at(2, 16), renshe, "wrong_location")
    dispatch(d, at(3, 10), renshe, "auto")
    give_back(d, at(4, 9), renshe, "not_our_duty")  # returned after the period: still counts


def _table(rows):
    return {row.key: (row.dispatched, row.mis_dispatched) for row in rows}


def test_overall_accuracy(history):
    [row] = dispatch_accuracy(date(2026, 11, 2), date(2026, 11, 3))
    assert (row.dispatched, row.mis_dispatched) == (5, 2)
    assert row.accuracy == pytest.approx(0.6)


def test_by_day(history):
    assert _table(dispatch_accuracy(date(2026, 11, 2), date(2026, 11, 3), "day")) == {
        date(2026, 11, 2): (3, 1), date(2026, 11, 3): (2, 1),
    }


def test_by_route(history):
    assert _table(dispatch_accuracy(date(2026, 11, 2), date(2026, 11, 3), "route")) == {"auto": (3, 1), "manual": (2, 1)}


def test_by_department(history):
    assert _table(dispatch_accuracy(date(2026, 11, 2), date(2026, 11, 3), "department")) == {"zhujian": (2, 1), "renshe": (3, 1)}


def test_period_bounds_and_empty_periods(history):
    [row] = dispatch_accuracy(date(2026, 11, 3), date(2026, 11, 3))
    assert (row.dispatched, row.mis_dispatched) == (2, 1)
    [empty] = dispatch_accuracy(date(2026, 10, 1), date(2026, 10, 31))
    assert empty.dispatched == 0 and empty.accuracy is None
    assert dispatch_accuracy(date(2026, 10, 1), date(2026, 10, 31), "day") == []
    with pytest.raises(ValueError):
        dispatch_accuracy(date(2026, 11, 2), date(2026, 11, 3), "street")
