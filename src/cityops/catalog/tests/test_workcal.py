from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings

from cityops.catalog import workcal
from cityops.catalog.models import CalendarOverride, LimitUnit
from cityops.catalog.tests.factories import CalendarOverrideFactory
from cityops.catalog.workcal import (
    CalendarError,
    add_work_duration,
    is_workday,
    shift_deadline,
    work_seconds_between,
)

pytestmark = pytest.mark.django_db

TZ = workcal.TZ


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def every_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# ---------------------------------------------------------------------------- which days work


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 2, 14), True),  # Saturday 补班 before 春节
        (date(2026, 2, 28), True),  # Saturday 补班 after 春节
        (date(2026, 1, 4), True),  # Sunday 补班 after 元旦
        (date(2025, 1, 26), True),  # Sunday 补班 before 春节 2025
        (date(2026, 9, 20), True),  # Sunday 补班 before 国庆
        (date(2026, 10, 10), True),  # Saturday 补班 after 国庆
        (date(2026, 2, 16), False),  # 除夕
        (date(2026, 2, 23), False),  # Monday, day off in lieu
        (date(2026, 3, 7), False),  # ordinary Saturday
        (date(2026, 3, 9), True),  # ordinary Monday
        *[(date(2026, 10, d), False) for d in range(1, 8)],  # 国庆 2026-10-01..07
    ],
)
def test_is_workday_knows_holidays_and_adjusted_working_days(day: date, expected: bool) -> None:
    assert is_workday(day) is expected


def test_override_row_turns_a_working_day_into_a_holiday_and_back() -> None:
    monday = date(2026, 3, 9)
    assert is_workday(monday)
    override = CalendarOverrideFactory(date=monday, is_workday=False)
    assert not is_workday(monday)
    override.delete()
    assert is_workday(monday)


def test_override_row_turns_a_weekend_day_into_a_working_day() -> None:
    saturday = date(2027, 2, 20)
    assert not is_workday(saturday)
    CalendarOverrideFactory(date=saturday, is_workday=True, note="国务院办公厅通知 2027 补班")
    assert is_workday(saturday)


def test_override_edit_in_the_admin_takes_effect_immediately() -> None:
    override = CalendarOverrideFactory(date=date(2026, 3, 9), is_workday=False)
    assert not is_workday(date(2026, 3, 9))
    override.is_workday = True
    override.save()
    assert is_workday(date(2026, 3, 9))


def test_override_written_by_another_process_is_seen_after_the_recheck_interval(monkeypatch) -> None:
    assert is_workday(date(2026, 3, 9))  # warm this process's copy
    # Another process writes the row (no signal here) and publishes a new version.
    CalendarOverride.objects.bulk_create([CalendarOverride(date=date(2026, 3, 9), is_workday=False)])
    cache.set(workcal.VERSION_CACHE_KEY, "written-elsewhere")
    monkeypatch.setattr(workcal, "RECHECK_SECONDS", 0.0)
    assert not is_workday(date(2026, 3, 9))


def test_override_rolled_back_is_forgotten() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        CalendarOverrideFactory(date=date(2026, 3, 9), is_workday=False)
        assert not is_workday(date(2026, 3, 9))
        raise RuntimeError("abort")
    assert is_workday(date(2026, 3, 9))


def test_warm_calendar_answers_without_database_queries(django_assert_num_queries) -> None:
    start = at(2026, 9, 30, 10)
    add_work_duration(start, 2, LimitUnit.WORK_DAY)  # warm up
    with django_assert_num_queries(0):
        for _ in range(50):
            add_work_duration(start, 8, LimitUnit.WORK_HOUR)
            add_work_duration(start, 15, LimitUnit.WORK_DAY)


def test_add_work_duration_is_fast_once_warm() -> None:
    start = at(2026, 2, 13, 16)
    add_work_duration(start, 8, LimitUnit.WORK_HOUR)
    rounds = 2000
    began = time.perf_counter()
    for _ in range(rounds):
        add_work_duration(start, 8, LimitUnit.WORK_HOUR)
        add_work_duration(start, 5, LimitUnit.WORK_DAY)
    per_call = (time.perf_counter() - began) / (2 * rounds)
    # Measured ~10 µs; the bound is loose so a busy CI machine does not fail it.
    assert per_call < 500e-6


# ---------------------------------------------------------------------------- 工作时


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Friday 16:00 + 4 h: 2 h on Friday, the rest on Monday morning.
        (at(2026, 3, 6, 16), 4, at(2026, 3, 9, 10, 30)),
        # Friday 2026-02-13 16:00 + 8 h: the 调休 Saturday 2026-02-14 is a working day.
        (at(2026, 2, 13, 16), 8, at(2026, 2, 14, 16, 30)),
        # Lunch break does not count.
        (at(2026, 3, 10, 11), 2, at(2026, 3, 10, 15)),
        # Starting inside the lunch break waits for 14:00.
        (at(2026, 3, 10, 12, 30), 1, at(2026, 3, 10, 15)),
        # A budget used up exactly at noon ends at noon.
        (at(2026, 3, 10, 10), 2, at(2026, 3, 10, 12)),
        # After close: next working day.
        (at(2026, 3, 10, 19), 1, at(2026, 3, 11, 9, 30)),
        # Before opening: counted from 08:30.
        (at(2026, 3, 10, 7), 1, at(2026, 3, 10, 9, 30)),
        # A full office day is 7.5 h.
        (at(2026, 3, 10, 8, 30), 7.5, at(2026, 3, 10, 18)),
        (at(2026, 3, 10, 9), Decimal("0.5"), at(2026, 3, 10, 9, 30)),
        # Started on a holiday: the clock runs from the first working morning.
        (at(2026, 10, 2, 10), 1, at(2026, 10, 8, 9, 30)),
    ],
)
def test_work_hours_count_only_office_hours_of_working_days(start, hours, expected) -> None:
    assert add_work_duration(start, hours, LimitUnit.WORK_HOUR) == expected


def test_work_hours_follow_configured_office_hours() -> None:
    with override_settings(CITYOPS_OFFICE_HOURS=[("09:00", "17:00")]):
        assert add_work_duration(at(2026, 3, 10, 9), 8, LimitUnit.WORK_HOUR) == at(2026, 3, 10, 17)
        assert add_work_duration(at(2026, 3, 10, 16), 2, LimitUnit.WORK_HOUR) == at(2026, 3, 11, 10)


def test_invalid_office_hours_are_rejected() -> None:
    with override_settings(CITYOPS_OFFICE_HOURS=[("14:00", "18:00"), ("08:30", "12:00")]), pytest.raises(CalendarError):
        add_work_duration(at(2026, 3, 10, 9), 1, LimitUnit.WORK_HOUR)


# ---------------------------------------------------------------------------- 工作日


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # National Day week 2026: 9/30 + 2 working days = 10/8, 10/9 → close of 10/9.
        (at(2026, 9, 30, 10), 2, at(2026, 10, 9, 18)),
        # Counting starts the next day, whatever the hour of the start.
        (at(2026, 3, 10, 8, 0), 1, at(2026, 3, 11, 18)),
        (at(2026, 3, 10, 23, 0), 1, at(2026, 3, 11, 18)),
        # Friday + 1 working day = Monday.
        (at(2026, 3, 6, 10), 1, at(2026, 3, 9, 18)),
        # Through 春节 2026: 2/13 Fri → 2/14 Sat (补班) is working day 1.
        (at(2026, 2, 13, 10), 1, at(2026, 2, 14, 18)),
        (at(2026, 2, 13, 10), 2, at(2026, 2, 24, 18)),
        # 15 working days (违法搭建).
        (at(2026, 3, 2, 9), 15, at(2026, 3, 23, 18)),
        # Fractions: 1.5 days = close of day 1 + 3.75 office hours.
        (at(2026, 3, 10, 9), Decimal("1.5"), at(2026, 3, 12, 14, 15)),
        # Below one day: that share of a day's office hours from the start.
        (at(2026, 3, 10, 9), Decimal("0.5"), at(2026, 3, 10, 14, 45)),
    ],
)
def test_work_days_end_at_close_of_the_nth_working_day_after_the_start(start, days, expected) -> None:
    assert add_work_duration(start, days, LimitUnit.WORK_DAY) == expected


# ---------------------------------------------------------------------------- natural time


def test_natural_hours_ignore_holidays_and_office_hours() -> None:
    assert add_work_duration(at(2026, 10, 1, 22), 6, LimitUnit.HOUR) == at(2026, 10, 2, 4)
    assert add_work_duration(at(2026, 10, 1, 22), 0.5, "hour") == at(2026, 10, 1, 22, 30)


def test_natural_days_are_24_hour_periods() -> None:
    assert add_work_duration(at(2026, 9, 30, 10), 7, LimitUnit.DAY) == at(2026, 10, 7, 10)


def test_deadlines_are_returned_in_shanghai_time_for_utc_input() -> None:
    start = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in Xining
    deadline = add_work_duration(start, 1, LimitUnit.WORK_HOUR)
    assert deadline == at(2026, 3, 10, 10)
    assert deadline.utcoffset() == timedelta(hours=8)


def test_naive_datetimes_and_negative_limits_are_refused() -> None:
    with pytest.raises(CalendarError):
        add_work_duration(datetime(2026, 3, 10, 9), 1, LimitUnit.WORK_HOUR)  # noqa: DTZ001
    with pytest.raises(CalendarError):
        add_work_duration(at(2026, 3, 10, 9), -1, LimitUnit.WORK_HOUR)


def test_calendar_with_no_working_day_in_sight_fails_instead_of_looping(monkeypatch) -> None:
    monkeypatch.setattr(workcal, "MAX_SCAN_DAYS", 10)
    CalendarOverride.objects.bulk_create(
        [CalendarOverride(date=d, is_workday=False) for d in every_day(date(2026, 3, 10), date(2026, 3, 31))]
    )
    workcal.clear_cache()
    with pytest.raises(CalendarError):
        add_work_duration(at(2026, 3, 10, 9), 1, LimitUnit.WORK_DAY)


# ---------------------------------------------------------------------------- elapsed time and pauses


def test_work_seconds_between_counts_office_time_only() -> None:
    assert work_seconds_between(at(2026, 3, 10, 0), at(2026, 3, 11, 0)) == 7.5 * 3600
    # Friday 17:00 → Monday 09:00 = 1 h + 0.5 h.
    assert work_seconds_between(at(2026, 3, 6, 17), at(2026, 3, 9, 9)) == 1.5 * 3600
    # The whole National Day week 10/1–10/7 holds no office time.
    assert work_seconds_between(at(2026, 10, 1), at(2026, 10, 8)) == 0
    assert work_seconds_between(at(2026, 3, 9, 9), at(2026, 3, 6, 17)) == -1.5 * 3600


def test_work_seconds_between_inverts_add_work_duration() -> None:
    start = at(2026, 2, 13, 16)
    deadline = add_work_duration(start, 8, LimitUnit.WORK_HOUR)
    assert work_seconds_between(start, deadline) == 8 * 3600


def test_pause_over_a_weekend_costs_only_the_office_time_inside_it() -> None:
    deadline = at(2026, 3, 10, 18)
    # Suspended Friday 17:00 → Monday 09:00 = 1.5 office hours.
    shifted = shift_deadline(deadline, at(2026, 3, 6, 17), at(2026, 3, 9, 9), LimitUnit.WORK_DAY)
    assert shifted == at(2026, 3, 11, 10)


def test_pause_on_a_natural_time_limit_moves_the_deadline_by_the_whole_pause() -> None:
    deadline = at(2026, 3, 10, 18)
    shifted = shift_deadline(deadline, at(2026, 3, 6, 17), at(2026, 3, 9, 9), LimitUnit.HOUR)
    assert shifted == deadline + timedelta(hours=64)


def test_empty_pause_leaves_the_deadline_alone() -> None:
    deadline = at(2026, 3, 10, 18)
    assert shift_deadline(deadline, at(2026, 3, 9, 9), at(2026, 3, 9, 9), LimitUnit.WORK_HOUR) == deadline


def test_time_used_ratio_runs_on_the_limit_clock() -> None:
    start = at(2026, 3, 6, 16)  # Friday
    deadline = add_work_duration(start, 4, LimitUnit.WORK_HOUR)  # Monday 10:30
    assert workcal.time_used_ratio(start, deadline, at(2026, 3, 7, 12), LimitUnit.WORK_HOUR) == 0.5
    assert workcal.time_used_ratio(start, deadline, at(2026, 3, 9, 12), LimitUnit.WORK_HOUR) > 1


def test_engine_label_explains_a_day_for_the_admin() -> None:
    assert workcal.engine_day_label(date(2026, 10, 1)) == "国庆节"
    assert workcal.engine_day_label(date(2026, 2, 14)) == "调休上班"
    assert workcal.engine_day_label(date(2026, 3, 7)) == "周末"
    assert workcal.engine_day_label(date(2026, 3, 9)) == "工作日"
