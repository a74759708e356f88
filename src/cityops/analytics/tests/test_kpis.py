"""满意率 and 回访率 count cases, once, and every reader shows the same counts: the dashboard
(rollups), the stats API, the assessment, the targets page and the monthly report.

One month's story (two months ago, so that every page treats it as a closed period), all in
street 1 and handled by one department:

  A  closed, the citizen rates 满意 on /track/ before any callback          → result 满意 (citizen)
  B  callback 不满意, the leader corrects it to 基本满意                    → result 基本满意
  C  three unanswered callback attempts                                    → 无法联系: no result
  D  callback 不满意, reopened (重办), handled again, callback 满意         → one result, 满意
  E  closed without a phone                                                → needs no callback
  F  closed, waiting in the callback queue                                 → needs one, none yet
  G  callback 不满意, then the citizen's own 满意 (kept apart, no new result) → result 不满意

满意率 = (A + B + D) ÷ (A + B + D + G) = 3 ÷ 4 = 75.0 %; counting callback events would give
other figures (D was called back twice, B corrected, G rated twice).
回访率 = (A, B, C, D, G finished) ÷ (A, B, C, D, F, G need one) = 5 ÷ 6 = 83.3 %.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cityops.analytics import kpis, selectors
from cityops.analytics.periods import period_parse, shift_month
from cityops.analytics.rollups import rollup_rebuild
from cityops.analytics.tests.support import report, snapshot
from cityops.cases.models import Case
from cityops.cases.states import Action
from cityops.cases.workflow import case_transition
from cityops.intake.services import citizen_rate

pytestmark = pytest.mark.django_db

EXPECTED = {kpis.RATED: 4, kpis.SATISFIED_COUNT: 3, kpis.CALLBACKS_NEEDED: 6, kpis.CALLBACKS_FINISHED: 5}


def month_two_months_ago() -> date:
    return shift_month(timezone.localdate().replace(day=1), -2)


def at(first: date, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(first.replace(day=day), time(hour, minute)))


def build_story(people, category, department, committed) -> date:
    first = month_two_months_ago()
    op, disp, dept, leader = people["operator"], people["dispatcher"], people["dept"], people["leader"]

    def act(case: Case, action: str, actor, when: datetime, **data) -> Case:
        return case_transition(case=Case.objects.get(pk=case.pk), action=action, actor=actor, data=data, now=when)

    def closed(day: int, *, phone: str = "13800000001") -> Case:
        case = report(category=category, now=at(first, day, 8), phone=phone)
        case = act(case, Action.REGISTER, op, at(first, day, 8, 10), category=category.code)
        case = act(case, Action.DISPATCH, disp, at(first, day, 8, 20), department=department.code)
        case = act(case, Action.SIGN, dept, at(first, day, 8, 30))
        case = act(case, Action.RESPOND, dept, at(first, day, 9), result="已清理")
        return act(case, Action.VERIFY, disp, at(first, day, 9, 30), passed=True)

    with committed():
        a = closed(5)
        citizen_rate(Case.objects.get(pk=a.pk), "satisfied", now=at(first, 6))

        b = closed(5)
        act(b, Action.CALLBACK, op, at(first, 7), satisfaction="unsatisfied")
        act(b, Action.CORRECT_SATISFACTION, leader, at(first, 20), satisfaction="basically_satisfied", note="误录")

        c = closed(5)
        for attempt in range(3):
            act(c, Action.CALLBACK_ATTEMPT, op, at(first, 6 + attempt))

        d = closed(5)
        act(d, Action.CALLBACK, op, at(first, 8), satisfaction="unsatisfied")
        d = act(d, Action.REOPEN, disp, at(first, 9), note="重新清理")
        d = act(d, Action.SIGN, dept, at(first, 9, 11))
        d = act(d, Action.RESPOND, dept, at(first, 12), result="已彻底清理")
        d = act(d, Action.VERIFY, disp, at(first, 12, 15), passed=True)
        act(d, Action.CALLBACK, op, at(first, 15), satisfaction="satisfied")

        closed(5, phone="")  # E
        closed(5)  # F

        g = closed(5)
        act(g, Action.CALLBACK, op, at(first, 7), satisfaction="unsatisfied")
        citizen_rate(Case.objects.get(pk=g.pk), "satisfied", now=at(first, 8))
    return first


@pytest.fixture
def story(district, people, category, department, committed):
    return build_story(people, category, department, committed)


def _month_end(first: date) -> date:
    return shift_month(first, 1) - timedelta(days=1)


def test_the_definitions_count_each_case_once(story):
    lo = at(story, 1, 0)
    hi = timezone.make_aware(datetime.combine(shift_month(story, 1), time()))
    counts = kpis.case_kpi_counts(lo, hi)
    assert counts == EXPECTED
    assert kpis.satisfaction_rate(counts) == 75.0
    assert kpis.callback_rate(counts) == 83.3


def test_dashboard_and_api_show_the_same_counts(story, people, client):
    period = period_parse("custom", story.isoformat(), _month_end(story).isoformat())
    figures = selectors.dashboard(period)["kpis"]
    expected = {"rated": 4, "satisfied": 3, "satisfaction_rate": 75.0, "callbacks_needed": 6, "callbacks_finished": 5,
                "callback_rate": 83.3}
    assert {k: figures[k] for k in expected} == expected

    client.force_login(people["leader"])
    response = client.get("/api/v1/stats/dashboard", {"period": "custom", "start": story.isoformat(),
                                                      "end": _month_end(story).isoformat()})
    assert response.status_code == 200
    assert {k: response.json()["kpis"][k] for k in expected} == expected


def test_assessment_targets_and_report_show_the_same_counts(story, department):
    from cityops.analytics.reports import report_build, report_period_parse
    from cityops.assessment import metrics, targets
    from cityops.assessment.indicators import Kind
    from cityops.assessment.periods import month_period
    from cityops.assessment.selectors import assessment_ranking

    month = month_period(story)
    assert {k: metrics.department_counts(month)[department.pk][k] for k in EXPECTED} == EXPECTED
    assert {k: metrics.center_counts(month)[k] for k in EXPECTED} == EXPECTED
    ranking = assessment_ranking(Kind.DEPARTMENT, f"{story:%Y-%m}")
    row = next(r for r in ranking.rows if r.subject.id == department.pk)
    figure = next(f for f in row.figures if f.indicator.code == "satisfaction_rate")
    assert (figure.value, figure.numerator, figure.denominator) == (Decimal("75.0"), 3, 4)

    assert targets.m_satisfaction(month).value == Decimal("75.0")

    monthly = report_build(report_period_parse("monthly", f"{story:%Y-%m}"))
    assert monthly.figure("satisfaction").value == 75.0
    assert monthly.figure("callback_rate").value == 83.3


def test_the_satisfaction_rollup_rebuilt_equals_the_live_one(story):
    live = snapshot()
    sat = {key: n for (day, street, dim, key), n in live["monthly"].items() if dim == "sat" and street == -1}
    assert sat == {"satisfied": 2, "basically_satisfied": 1, "unsatisfied": 1}
    rollup_rebuild()
    assert snapshot() == live


def test_an_export_adds_up_to_the_same_counts(story):
    from cityops.intake.exports import export_rows

    rows = list(export_rows(Case.objects.order_by("pk"), mask=True))
    rated = [r for r in rows if r["satisfaction_at"] and r["satisfaction"]]
    needed = [r for r in rows if r["callback_status"] in kpis.NEEDS_CALLBACK]
    assert {
        kpis.RATED: len(rated),
        kpis.SATISFIED_COUNT: sum(r["satisfaction"] in kpis.SATISFIED for r in rated),
        kpis.CALLBACKS_NEEDED: len(needed),
        kpis.CALLBACKS_FINISHED: sum(r["callback_status"] in kpis.CALLBACK_FINISHED for r in needed),
    } == EXPECTED
    assert [r["citizen_satisfaction"] for r in rows if r["satisfaction_source"] == "citizen"] == ["satisfied"]
