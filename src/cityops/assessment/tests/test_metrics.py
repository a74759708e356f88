"""The assessment counts and figures against values worked out by hand from `history.py`."""

from datetime import date
from decimal import Decimal

import pytest

from cityops.assessment import metrics
from cityops.assessment.indicators import Kind
from cityops.assessment.periods import current_month, month_period
from cityops.assessment.selectors import assessment_ranking

pytestmark = pytest.mark.django_db

MARCH = month_period(date(2026, 3, 1))
FEBRUARY = month_period(date(2026, 2, 1))


def figures(row) -> dict[str, Decimal | None]:
    return {f.indicator.code: f.value for f in row.figures}


def row_of(ranking, name):
    return next(r for r in ranking.rows if r.subject.name == name)


def test_department_counts(history):
    counts = metrics.department_counts(MARCH)
    # c5's return as 非本单位职责, accepted and re-dispatched to B, is the dispatcher's mis-dispatch: A has no 退单
    assert counts[history.dept_a.pk] == {
        "dispatched": 8, "returned": 0, "due": 5, "handled": 4, "handled_on_time": 3, "closed": 3,
        "closed_on_time": 2, "reworked": 1, "extended": 1, "overdue_open": 1,
        "rated": 2, "satisfied": 1, "callbacks_needed": 3, "callbacks_finished": 2,
    }
    assert counts[history.dept_b.pk] == {
        "dispatched": 2, "returned": 0, "due": 2, "handled": 2, "handled_on_time": 2, "closed": 2,
        "closed_on_time": 2, "reworked": 0, "extended": 0, "overdue_open": 0,
        "rated": 0, "satisfied": 0, "callbacks_needed": 2, "callbacks_finished": 0,
    }


def test_department_ranking_figures_score_grade_and_change(history):
    ranking = assessment_ranking(Kind.DEPARTMENT, "2026-03")
    a, b = row_of(ranking, "区城管局"), row_of(ranking, "区住建局")
    assert figures(a) == {
        "disposal_rate": Decimal("80.0"), "disposal_on_time_rate": Decimal("60.0"), "closure_rate": Decimal("60.0"),
        "rework_rate": Decimal("20.0"), "return_rate": Decimal("0.0"), "extension_rate": Decimal("20.0"),
        "overdue_open_rate": Decimal("20.0"), "satisfaction_rate": Decimal("50.0"), "dispatched": Decimal(8),
    }
    # 20×80 + 20×60 + 10×60 + 10×(100−20) + 10×(100−0) + 5×(100−20) + 10×(100−20) + 15×50 = 7150 → 71.5
    assert a.score == Decimal("71.5") and a.grade == "C"
    # no satisfaction results: 满意率 is left out and the other 85 points re-weighted
    assert figures(b)["satisfaction_rate"] is None and b.missing == ["满意率"]
    assert b.score == Decimal("100.0") and b.grade == "A"
    assert [r.subject.name for r in ranking.rows[:2]] == ["区住建局", "区城管局"]
    assert (b.rank, a.rank) == (1, 2)
    # February: A handled its one case perfectly
    assert a.prev_score == Decimal("100.0") and a.change == Decimal("-28.5")
    assert (a.prev_rank, a.rank_change) == (1, -1)
    assert b.prev_score is None and b.change is None


def test_street_figures(history):
    ranking = assessment_ranking(Kind.STREET, "2026-03")
    s1, s2 = row_of(ranking, "东关"), row_of(ranking, "清真巷")
    assert figures(s1) == {
        "registered": Decimal(4), "closure_rate": Decimal("75.0"), "closure_on_time_rate": Decimal("50.0"),
        "disposal_on_time_rate": Decimal("50.0"), "rework_rate": Decimal("25.0"), "overdue_open_rate": Decimal("25.0"),
        "satisfaction_rate": Decimal("50.0"),
    }
    assert s1.score == Decimal("61.3") and s1.grade == "C"  # (30×75 + 40×50 + 15×50 + 15×75) / 100 = 61.25
    assert figures(s2) == {
        "registered": Decimal(5), "closure_rate": Decimal("66.7"), "closure_on_time_rate": Decimal("66.7"),
        "disposal_on_time_rate": Decimal("100.0"), "rework_rate": Decimal("0.0"), "overdue_open_rate": Decimal("0.0"),
        "satisfaction_rate": None,
    }
    assert s2.score == Decimal("72.6") and s2.grade == "C"  # (30×66.7 + 40×66.7 + 15×100) / 85 = 72.58
    assert (s2.rank, s1.rank) == (1, 2)
    assert s1.change == Decimal("-38.7") and s2.change is None


def test_operator_figures(history):
    ranking = assessment_ranking(Kind.OPERATOR, "2026-03")
    op1, op2 = row_of(ranking, "受理员甲"), row_of(ranking, "受理员乙")
    assert op1.counts == {
        "accepted": 12, "callbacks_by": 2, "registered_by": 10, "registered_on_time": 8, "registered_valid": 9,
        "register_overdue_waiting": 0, "register_due": 10,
    }
    assert figures(op1)["register_on_time_rate"] == Decimal("80.0")
    assert figures(op1)["register_accuracy_rate"] == Decimal("90.0")
    assert op1.score == Decimal("84.0") and op1.grade == "B"  # 60×80 + 40×90
    assert op2.counts == {
        "accepted": 4, "callbacks_by": 0, "registered_by": 3, "registered_on_time": 3, "registered_valid": 3,
        "register_overdue_waiting": 0, "register_due": 3,
    }
    assert op2.score == Decimal("100.0") and op2.rank == 1
    assert op1.prev_score == Decimal("100.0") and op1.change == Decimal("-16.0") and op1.rank_change == -1


def test_dispatcher_figures(history):
    ranking = assessment_ranking(Kind.DISPATCHER, "2026-03")
    disp = row_of(ranking, "派遣员甲")
    # c13, c14 and c16 (registered 3/3, never dispatched) wait past their 派遣 deadline at the month's
    # end, and c6 (responded 3/5, no grid, so no inspector) past its 核查 deadline
    assert disp.counts == {
        "dispatches": 10, "dispatches_on_time": 9, "dispatches_accurate": 9,
        "dispatch_overdue_waiting": 3, "dispatch_due": 13,
        "verifications": 5, "verifications_on_time": 3, "verify_overdue_waiting": 1, "verify_due": 6,
    }
    assert figures(disp)["dispatch_accuracy_rate"] == Decimal("90.0")
    assert figures(disp)["dispatch_on_time_rate"] == Decimal("69.2")
    assert figures(disp)["verify_on_time_rate"] == Decimal("50.0")
    assert disp.score == Decimal("75.8") and disp.grade == "B"  # 50×90 + 30×69.2 + 20×50 = 7576.9


def test_inspector_figures(history):
    ranking = assessment_ranking(Kind.INSPECTOR, "2026-03")
    insp, insp2 = row_of(ranking, "网格员甲"), row_of(ranking, "网格员乙")
    assert insp.counts == {"reports": 3, "valid_reports": 2, "verifications": 1, "verifications_on_time": 1, "verify_due": 1}
    assert figures(insp)["valid_report_rate"] == Decimal("66.7")
    assert insp.score == Decimal("80.0") and insp.grade == "B"  # 60×66.7 + 40×100 = 80.02
    assert insp2.counts == {"reports": 1, "valid_reports": 1}
    assert insp2.score == Decimal("100.0") and insp2.missing == ["按期核查率"]
    assert [insp2.rank, insp.rank] == [1, 2]


def test_a_closed_month_does_not_change_with_later_events(history):
    from cityops.assessment.tests.history import at
    from cityops.cases.states import Action
    from cityops.cases.workflow import case_transition

    before = metrics.department_counts(MARCH)[history.dept_a.pk]
    c4 = history.cases["c4"]
    case_transition(case=c4, action=Action.RESPOND, actor=history.people["a"], data={"result": "迟到的反馈"}, now=at(4, 2, 10))
    assert metrics.department_counts(MARCH)[history.dept_a.pk] == before


def test_the_real_sla_scan_makes_a_registration_late(history):
    from cityops.assessment.tests.history import at
    from cityops.cases.models import Case
    from cityops.cases.services import CaseInput, case_create
    from cityops.cases.sla_scan import sla_scan
    from cityops.cases.states import Action
    from cityops.cases.workflow import case_transition

    category = history.cases["c1"].category.code
    case = case_create(data=CaseInput(description="井盖缺失", category=category, require_location=False), now=at(3, 16, 9, 0))
    sla_scan(now=at(3, 16, 11, 0))  # the register stage (1 working hour) is over
    op2 = history.people["op2"]
    case_transition(case=Case.objects.get(pk=case.pk), action=Action.REGISTER, actor=op2, now=at(3, 16, 11, 5))
    counts = metrics.operator_counts(MARCH, [op2.pk])[op2.pk]
    assert (counts["registered_by"], counts["registered_on_time"]) == (4, 3)


def test_empty_and_future_periods(history):
    assert metrics.department_counts(month_period(date(2025, 6, 1))) == {}
    ranking = assessment_ranking(Kind.DEPARTMENT, "2025-06")
    assert ranking.empty and "暂无" in ranking.message
    assert all(r.score is None and r.rank is None for r in ranking.rows)
    future = assessment_ranking(Kind.DEPARTMENT, "2999-01")
    assert future.period is None and "尚未开始" in future.message
    bad = assessment_ranking(Kind.DEPARTMENT, "March")
    assert bad.period is None and "YYYY-MM" in bad.message


def test_ranking_takes_a_handful_of_queries(history, django_assert_max_num_queries):
    from django.db import connection

    # Two months (this one and the previous); on PostgreSQL each flag aggregate is wrapped in
    # SAVEPOINT / SET LOCAL jit = off / RELEASE.
    wrap = 3 if connection.vendor == "postgresql" else 0
    with django_assert_max_num_queries(10 + 2 * wrap):
        assessment_ranking(Kind.DEPARTMENT, "2026-03")
    with django_assert_max_num_queries(18 + 4 * wrap):
        assessment_ranking(Kind.DISPATCHER, "2026-03")


def test_snapshot_freezes_a_closed_month_and_pages_read_it(history):
    from cityops.assessment.models import AssessmentSnapshot
    from cityops.assessment.periods import PeriodError
    from cityops.assessment.selectors import kind_counts, snapshot_month

    assert snapshot_month(date(2026, 3, 1)) == [k.value for k in Kind]
    assert AssessmentSnapshot.objects.filter(month=date(2026, 3, 1)).count() == len(Kind)
    counts, source = kind_counts(Kind.DEPARTMENT, MARCH)
    assert source == "snapshot" and counts == metrics.department_counts(MARCH)
    ranking = assessment_ranking(Kind.DEPARTMENT, "2026-03")
    assert ranking.source == "snapshot" and row_of(ranking, "区城管局").score == Decimal("71.5")
    with pytest.raises(PeriodError):
        snapshot_month(current_month())
