"""Deadlines on the working calendar: weekends, 调休 Saturdays, holiday weeks, pauses, extensions."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from cityops.cases import sla
from cityops.cases.models import Case, CaseEvent, Notification, SlaLevel
from cityops.cases.sla_scan import sla_scan
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import LeafCategoryFactory, make_case
from cityops.cases.workflow import case_transition
from cityops.catalog.models import LimitUnit, Stage

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def dispatched_case(people, category, department, when):
    case = make_case(category=category, now=when)
    case = case_transition(case=case, action=Action.REGISTER, actor=people["operator"], now=when)
    return case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": department.code}, now=when)


def test_handling_time_skips_the_weekend(people, category, department):
    case = dispatched_case(people, category, department, at(2026, 11, 20, 16, 0))  # Friday
    assert case.handle_deadline.astimezone(SH) == at(2026, 11, 24, 18, 0)  # 2 working days: Mon, Tue


def test_working_hours_run_through_a_tiao_xiu_saturday():
    category = LeafCategoryFactory(limits={Stage.REGISTER: (8, LimitUnit.WORK_HOUR)})
    case = make_case(category=category, now=at(2026, 2, 13, 16, 0))  # Friday before 春节; Saturday 2/14 is a working day
    assert case.deadline.astimezone(SH) == at(2026, 2, 14, 16, 30)


def test_a_holiday_week_stops_the_count(people, category, department):
    case = dispatched_case(people, category, department, at(2026, 9, 30, 10, 0))
    assert case.handle_deadline.astimezone(SH) == at(2026, 10, 9, 18, 0)  # 10/1–7 off, 10/8 and 10/9 count


def test_suspension_stops_the_clock_and_resuming_moves_the_deadline(people, category, department):
    case = dispatched_case(people, category, department, at(2026, 11, 23, 9, 0))  # Monday
    case = case_transition(case=case, action=Action.SIGN, actor=people["dept"], now=at(2026, 11, 23, 9, 30))
    assert case.deadline.astimezone(SH) == at(2026, 11, 25, 18, 0)
    case = case_transition(case=case, action=Action.SUSPEND, actor=people["dispatcher"], data={"note": "待汛期后施工"}, now=at(2026, 11, 23, 10, 0))
    assert case.clock_paused_at is not None
    # 21 working hours were left (Mon 10:00–18:00 less lunch = 6 h, Tue 7.5 h, Wed 7.5 h).
    assert case.clock_remaining == pytest.approx(21 * 3600)
    case = case_transition(case=case, action=Action.RESUME, actor=people["dispatcher"], now=at(2026, 11, 26, 10, 0))
    assert case.deadline.astimezone(SH) == at(2026, 11, 30, 18, 0)
    assert case.handle_deadline == case.deadline


def test_an_approved_extension_adds_to_the_remaining_time(people, category, department):
    case = dispatched_case(people, category, department, at(2026, 11, 23, 9, 0))
    case = case_transition(case=case, action=Action.SIGN, actor=people["dept"], now=at(2026, 11, 23, 9, 30))
    case = case_transition(case=case, action=Action.REQUEST_EXTENSION, actor=people["dept"],
                           data={"value": "1", "unit": "work_day", "note": "需采购配件"}, now=at(2026, 11, 25, 17, 0))
    assert case.extension_pending and case.clock_paused_at is not None
    case = case_transition(case=case, action=Action.APPROVE_EXTENSION, actor=people["dispatcher"], now=at(2026, 11, 26, 9, 0))
    # 1 h was left when the request went in; the decision came next morning; +1 working day (7.5 h).
    assert not case.extension_pending
    assert case.deadline.astimezone(SH) == at(2026, 11, 27, 10, 0)


def test_a_denied_extension_restarts_the_clock_without_extra_time(people, category, department):
    case = dispatched_case(people, category, department, at(2026, 11, 23, 9, 0))
    case = case_transition(case=case, action=Action.SIGN, actor=people["dept"], now=at(2026, 11, 23, 9, 30))
    case = case_transition(case=case, action=Action.REQUEST_EXTENSION, actor=people["dept"],
                           data={"value": "3", "unit": "work_day", "note": "x"}, now=at(2026, 11, 25, 17, 0))
    case = case_transition(case=case, action=Action.DENY_EXTENSION, actor=people["dispatcher"], data={"note": "可按期完成"}, now=at(2026, 11, 26, 9, 0))
    assert case.deadline.astimezone(SH) == at(2026, 11, 26, 10, 0)  # the 1 h that was left


def test_levels_turn_yellow_at_eighty_percent_and_red_when_overdue(category):
    case = make_case(category=category, now=at(2026, 11, 23, 9, 0))  # 立案 within 1 working hour
    assert sla.current_level(case, at(2026, 11, 23, 9, 30)) == SlaLevel.GREEN
    assert sla.current_level(case, at(2026, 11, 23, 9, 50)) == SlaLevel.YELLOW
    assert sla.current_level(case, at(2026, 11, 23, 10, 1)) == SlaLevel.RED


def test_the_scan_marks_and_notifies_each_crossing_once(people, category, department, django_capture_on_commit_callbacks):
    case = dispatched_case(people, category, department, at(2026, 11, 23, 9, 0))  # 签收 within 1 working day
    first = sla_scan(now=at(2026, 11, 24, 17, 0))
    assert first.turned_yellow == 1 and first.turned_red == 0
    assert Case.objects.get(pk=case.pk).sla_level == SlaLevel.YELLOW
    again = sla_scan(now=at(2026, 11, 24, 17, 0))
    assert again.turned_yellow == 0 and again.notifications == 0
    late = sla_scan(now=at(2026, 11, 25, 9, 0))
    assert late.turned_red == 1
    assert Notification.objects.filter(recipient=people["dept"], kind="sla_overdue").count() == 1
    assert Notification.objects.filter(recipient=people["dispatcher"], kind="sla_warning").count() == 1
    assert CaseEvent.objects.filter(case=case, action=Action.SLA_OVERDUE).count() == 1
    sla_scan(now=at(2026, 11, 25, 10, 0))
    assert CaseEvent.objects.filter(case=case, action=Action.SLA_OVERDUE).count() == 1


def test_a_suspended_case_is_never_marked_overdue(people, category, department):
    case = dispatched_case(people, category, department, at(2026, 11, 23, 9, 0))
    case = case_transition(case=case, action=Action.SIGN, actor=people["dept"], now=at(2026, 11, 23, 9, 30))
    case_transition(case=case, action=Action.SUSPEND, actor=people["dispatcher"], data={"note": "x"}, now=at(2026, 11, 23, 10, 0))
    assert sla_scan(now=at(2026, 12, 31, 10, 0)).turned_red == 0
    assert Case.objects.get(pk=case.pk).status == Status.SUSPENDED


def test_urgent_cases_count_natural_hours(people, department):
    category = LeafCategoryFactory()
    case = make_case(category=category, now=at(2026, 11, 21, 22, 0), urgency="urgent")  # Saturday night
    assert case.deadline.astimezone(SH) == at(2026, 11, 22, 2, 0)
    assert sla.stage_limit(category_id=category.pk, urgency="urgent", stage=Stage.HANDLE).value == Decimal(4)
