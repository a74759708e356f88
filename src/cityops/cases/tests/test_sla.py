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
from cityops.desks import presenters

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


def handling_case(people, category, department):
    """Dispatched Monday 9:00, signed 9:30: 处置 due Wednesday 2026-11-25 18:00 (2 working days)."""
    case = dispatched_case(people, category, department, at(2026, 11, 23, 9, 0))
    return case_transition(case=case, action=Action.SIGN, actor=people["dept"], now=at(2026, 11, 23, 9, 30))


def ask_for_extension(people, case, when, value="1"):
    return case_transition(case=case, action=Action.REQUEST_EXTENSION, actor=people["dept"],
                           data={"value": value, "unit": "work_day", "note": "需采购配件"}, now=when)


def test_a_pending_extension_request_does_not_stop_the_clock(people, category, department):
    case = ask_for_extension(people, handling_case(people, category, department), at(2026, 11, 25, 17, 0))
    assert case.extension_pending
    assert case.clock_paused_at is None and case.clock_remaining is None
    assert case.deadline.astimezone(SH) == at(2026, 11, 25, 18, 0)
    assert sla_scan(now=at(2026, 11, 26, 9, 0)).turned_red == 1
    view = presenters.sla_view(Case.objects.get(pk=case.pk), at(2026, 11, 26, 9, 0))
    assert view.level == SlaLevel.RED and not view.paused
    assert view.remaining.startswith("超期") and "暂停" not in view.remaining


def test_an_approved_extension_is_granted_from_the_request(people, category, department):
    case = ask_for_extension(people, handling_case(people, category, department), at(2026, 11, 25, 17, 0))
    sla_scan(now=at(2026, 11, 26, 9, 0))  # the deadline passed while the dispatcher decided
    case = case_transition(case=Case.objects.get(pk=case.pk), action=Action.APPROVE_EXTENSION,
                           actor=people["dispatcher"], now=at(2026, 11, 26, 9, 0))
    # Asked before the deadline: the deadline itself moves by 1 working day (7.5 h), so the night
    # the decision took is not lost (the former pause gave Friday 10:00 instead).
    assert not case.extension_pending
    assert case.deadline.astimezone(SH) == at(2026, 11, 26, 18, 0)
    assert case.handle_deadline == case.deadline
    assert case.sla_level != SlaLevel.RED
    event = case.events.get(action=Action.APPROVE_EXTENSION)
    assert datetime.fromisoformat(event.payload["new_deadline"]) == case.deadline


def test_an_extension_asked_for_after_the_deadline_counts_from_the_request(people, category, department):
    case = ask_for_extension(people, handling_case(people, category, department), at(2026, 11, 26, 9, 0))
    case = case_transition(case=case, action=Action.APPROVE_EXTENSION, actor=people["dispatcher"], now=at(2026, 11, 26, 11, 0))
    # Overdue since Wednesday 18:00: the overdue night is not forgiven; 7.5 working hours from Thursday 9:00.
    assert case.deadline.astimezone(SH) == at(2026, 11, 27, 9, 0)


def test_a_denied_extension_leaves_the_clock_as_it_was(people, category, department):
    case = ask_for_extension(people, handling_case(people, category, department), at(2026, 11, 25, 17, 0), value="3")
    before = (case.deadline, case.warn_at)
    case = case_transition(case=case, action=Action.DENY_EXTENSION, actor=people["dispatcher"], data={"note": "可按期完成"}, now=at(2026, 11, 26, 9, 0))
    assert (case.deadline, case.warn_at) == before
    assert case.deadline.astimezone(SH) == at(2026, 11, 25, 18, 0)
    assert not case.extension_pending and case.clock_paused_at is None


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
