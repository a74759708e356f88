"""Working calendar: which days are working days, and deadline arithmetic in working time.

Engine: the `holidays` package's CN calendar (法定节假日 and 调休: substituted days off and
`weekend_workdays`, the Saturdays/Sundays that become 补班 days), corrected by the
`CalendarOverride` table, which an admin edits the day the State Council publishes a notice
(the library only knows the 调休 of years it has been updated for). An override always wins.

Time is Asia/Shanghai. Every function takes and returns timezone-aware datetimes; a naive
datetime is rejected, because guessing its zone silently shifts deadlines by hours.

Units (`LimitUnit`):

* 工作时 `work_hour` — only office hours of working days count. Office hours come from
  `settings.CITYOPS_OFFICE_HOURS` (default 08:30–12:00 and 14:00–18:00, 7.5 h a day). A budget
  used up exactly at the end of a span ends there (12:00, not 14:00).
* 工作日 `work_day` — N working days *after* the start date (民法典 art. 201: a period counted
  in days starts the next day), ending at the close of office hours of the Nth working day,
  whatever the time of day the case started. A fractional part is added as that fraction of a
  day's office hours after that close (1.5 工作日 = close of the 1st working day + 3.75 工作时);
  below one day (0.5 工作日) it is simply that many 工作时 from the start.
* 小时 `hour` — natural time, a plain timedelta.
* 自然日 `day` — natural days as N × 24 h from the start (not "until 24:00 of the Nth day").

Speed: deadlines are computed on every case creation, so the engine's answer is kept as a
per-year table of 0/1 bytes and the overrides as an in-memory dict. Saving or deleting an
override invalidates the dict in this process at once (signals) and, through a version key in
Django's cache, in other processes within `RECHECK_SECONDS` (a `common.refcache.ReferenceCache`
with the `OWN_WRITES` rule: a transaction that wrote overrides reads its own rows).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from cityops.catalog.models import LimitUnit
from cityops.common.refcache import KEEP, OWN_WRITES, ReferenceCache

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_OFFICE_HOURS: tuple[tuple[str, str], ...] = (("08:30", "12:00"), ("14:00", "18:00"))
# How long a process trusts its copy of the override table before asking the shared cache
# whether another process changed it.
RECHECK_SECONDS = 2.0
VERSION_CACHE_KEY = "cityops:catalog:calendar-overrides:version"
# A deadline search that finds no working day for this long means the calendar is broken
# (e.g. overrides marking everything as holiday); fail instead of looping for ever.
MAX_SCAN_DAYS = 3 * 366

_ONE_DAY = timedelta(days=1)
_MIDNIGHT = time(0, 0)


class CalendarError(ValueError):
    """The calendar cannot answer: naive datetime, negative duration, or no working day in sight."""


# ---------------------------------------------------------------------------- office hours


@dataclass(frozen=True)
class OfficeHours:
    """Office-hour spans of a working day, as offsets from midnight, in ascending order."""

    spans: tuple[tuple[timedelta, timedelta], ...]

    @property
    def per_day(self) -> timedelta:
        return sum((end - start for start, end in self.spans), timedelta())

    @property
    def close(self) -> timedelta:
        return self.spans[-1][1]


def _parse_hhmm(text: str) -> timedelta:
    hours, _, minutes = str(text).strip().partition(":")
    value = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if not timedelta() <= value <= _ONE_DAY:
        raise CalendarError(f"办公时间 {text!r} 超出 00:00–24:00")
    return value


def parse_office_hours(raw: object) -> OfficeHours:
    """Validate `CITYOPS_OFFICE_HOURS`: a list of ("HH:MM", "HH:MM") spans, ascending, not overlapping."""
    spans: list[tuple[timedelta, timedelta]] = []
    for item in cast("Iterable[Any]", raw or DEFAULT_OFFICE_HOURS):
        start_text, end_text = item
        start, end = _parse_hhmm(start_text), _parse_hhmm(end_text)
        if start >= end:
            raise CalendarError(f"办公时间段 {start_text}-{end_text} 的开始时间不早于结束时间")
        if spans and start < spans[-1][1]:
            raise CalendarError(f"办公时间段 {start_text}-{end_text} 与前一时间段重叠或顺序颠倒")
        spans.append((start, end))
    if not spans:
        raise CalendarError("办公时间为空")
    return OfficeHours(tuple(spans))


_office_hours_memo: tuple[object, OfficeHours] | None = None


def office_hours() -> OfficeHours:
    """The configured office hours, parsed once per settings value (override_settings swaps the object)."""
    global _office_hours_memo
    raw = settings.CITYOPS_OFFICE_HOURS
    memo = _office_hours_memo
    if memo is None or memo[0] is not raw:
        memo = (raw, parse_office_hours(raw))
        _office_hours_memo = memo
    return memo[1]


# ---------------------------------------------------------------------------- the engine

_year_tables: dict[int, tuple[int, bytes]] = {}


def _year_table(year: int) -> tuple[int, bytes]:
    """(ordinal of 1 Jan, one byte per day: 1 = working day) for `year`, from the holidays engine."""
    table = _year_tables.get(year)
    if table is None:
        import holidays  # most of a second to import: only when a year is first needed

        engine = holidays.country_holidays("CN", years=year)
        first = date(year, 1, 1)
        flags = bytearray()
        day = first
        while day.year == year:
            flags.append(1 if engine.is_working_day(day) else 0)
            day += _ONE_DAY
        table = (first.toordinal(), bytes(flags))
        _year_tables[year] = table
    return table


def engine_is_workday(day: date) -> bool:
    """The holidays engine's answer for `day`, ignoring the override table."""
    first, flags = _year_table(day.year)
    return flags[day.toordinal() - first] == 1


def engine_day_label(day: date) -> str:
    """Why the engine counts `day` as it does, in Chinese (for the admin): 国庆节, 调休上班, 周末, 工作日."""
    import holidays

    names = holidays.country_holidays("CN", years=day.year, language="zh_CN")
    if day in names:
        return names[day]
    if day.weekday() >= 5:
        return "调休上班" if engine_is_workday(day) else "周末"
    return "工作日"


# ---------------------------------------------------------------------------- overrides


def _read_overrides() -> dict[date, bool]:
    from cityops.catalog.models import CalendarOverride

    return dict(CalendarOverride.objects.values_list("date", "is_workday"))


# This process's copy of the CalendarOverride table. Reads inside a transaction are kept, except
# while a transaction that wrote overrides is open: its rows may still roll back, so meanwhile
# every read inside a transaction goes to the table (and sees what that transaction wrote).
_override_rows = ReferenceCache(
    "catalog.calendar_overrides",
    _read_overrides,
    version_key=VERSION_CACHE_KEY,
    recheck_seconds=lambda: RECHECK_SECONDS,
    transactions=OWN_WRITES,
    outage=KEEP,  # a cache outage must not stop deadline computation, nor query on every call
    serialize_loads=True,
)


def _overrides() -> Mapping[date, bool]:
    return _override_rows.value()


def overrides_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Forget the cached overrides here now, and everywhere once the change is committed.

    Called by the CalendarOverride post_save/post_delete signals; call it yourself after
    bulk operations that bypass signals.
    """
    _override_rows.invalidate(using=using)


def clear_cache() -> None:
    """Drop every in-process cache (overrides, office hours). For tests and after manual DB surgery."""
    global _office_hours_memo
    _override_rows.clear()
    _office_hours_memo = None


# ---------------------------------------------------------------------------- queries


def _is_workday(day: date, overrides: Mapping[date, bool]) -> bool:
    flag = overrides.get(day)
    if flag is not None:
        return flag
    first, flags = _year_table(day.year)
    return flags[day.toordinal() - first] == 1


def is_workday(day: date) -> bool:
    """True if `day` is a working day: the override table if it has the date, else the holidays engine."""
    if isinstance(day, datetime):
        day = _local(day).date()
    return _is_workday(day, _overrides())


def next_workday(day: date, n: int = 1) -> date:
    """The `n`th working day after `day` (n ≥ 1); `day` itself never counts."""
    if n < 1:
        raise CalendarError("n 必须不小于 1")
    return _nth_workday_after(day, n, _overrides())


def _nth_workday_after(day: date, n: int, overrides: Mapping[date, bool]) -> date:
    found = 0
    scanned = 0
    while found < n:
        day += _ONE_DAY
        scanned += 1
        if _is_workday(day, overrides):
            found += 1
            scanned = 0
        elif scanned > MAX_SCAN_DAYS:
            raise CalendarError(f"{day} 之前 {MAX_SCAN_DAYS} 天内没有工作日，请检查节假日调整")
    return day


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError("需要带时区的时间（timezone-aware datetime）")
    return moment.astimezone(TZ)


def _at(day: date, offset: timedelta) -> datetime:
    return datetime.combine(day, _MIDNIGHT, tzinfo=TZ) + offset


def _as_decimal(value: Decimal | float | int) -> Decimal:
    # str() first so that 0.1 stays 0.1 instead of its binary approximation.
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if amount < 0:
        raise CalendarError("时限不能为负数")
    return amount


@functools.lru_cache(maxsize=256)
def _hours(amount: Decimal) -> timedelta:
    # Cached: limits come from a small set of values, and Decimal arithmetic is the slow part.
    return timedelta(microseconds=int(amount * 3_600_000_000))


def _add_work_time(start: datetime, budget: timedelta, overrides: Mapping[date, bool], hours: OfficeHours) -> datetime:
    """Walk office-hour spans from `start` (local time) until `budget` of office time is used."""
    if budget <= timedelta():
        return start
    day = start.date()
    clock = start - _at(day, timedelta())
    idle_days = 0
    while True:
        if _is_workday(day, overrides):
            idle_days = 0
            for span_start, span_end in hours.spans:
                if clock >= span_end:
                    continue
                begin = max(clock, span_start)
                available = span_end - begin
                if budget <= available:
                    return _at(day, begin + budget)
                budget -= available
        else:
            idle_days += 1
            if idle_days > MAX_SCAN_DAYS:
                raise CalendarError(f"{day} 之前 {MAX_SCAN_DAYS} 天内没有工作日，请检查节假日调整")
        day += _ONE_DAY
        clock = timedelta()


def add_work_duration(start: datetime, value: Decimal | float | int, unit: LimitUnit | str) -> datetime:
    """The deadline `value` `unit`s after `start`, in Asia/Shanghai (see the module docstring for each unit)."""
    local = _local(start)
    amount = _as_decimal(value)
    unit = LimitUnit(unit)
    if unit == LimitUnit.HOUR:
        return local + _hours(amount)
    if unit == LimitUnit.DAY:
        return local + _hours(amount * 24)
    overrides = _overrides()
    hours = office_hours()
    if unit == LimitUnit.WORK_HOUR:
        return _add_work_time(local, _hours(amount), overrides, hours)
    whole = int(amount)
    fraction = amount - whole
    if whole == 0:
        return _add_work_time(local, hours.per_day * float(fraction), overrides, hours)
    last_day = _nth_workday_after(local.date(), whole, overrides)
    deadline = _at(last_day, hours.close)
    if fraction:
        deadline = _add_work_time(deadline, hours.per_day * float(fraction), overrides, hours)
    return deadline


def work_seconds_between(start: datetime, end: datetime) -> float:
    """Office-hour seconds between two moments; negative when `end` is before `start`.

    Use it for the share of a working-time limit already used, for the working time still left
    (`work_seconds_between(now, deadline)` turns negative once overdue), and for the working
    time a suspended case was paused.
    """
    a, b = _local(start), _local(end)
    if b < a:
        return -work_seconds_between(end, start)
    overrides = _overrides()
    hours = office_hours()
    total = timedelta()
    day = a.date()
    last = b.date()
    while day <= last:
        if _is_workday(day, overrides):
            midnight = _at(day, timedelta())
            lo = a - midnight if day == a.date() else timedelta()
            hi = b - midnight if day == last else _ONE_DAY
            for span_start, span_end in hours.spans:
                overlap = min(hi, span_end) - max(lo, span_start)
                if overlap > timedelta():
                    total += overlap
        day += _ONE_DAY
    return total.total_seconds()


def elapsed_seconds(start: datetime, end: datetime, unit: LimitUnit | str) -> float:
    """Time from `start` to `end` on the clock `unit` runs on: office time for 工作时/工作日, natural otherwise."""
    if LimitUnit(unit) in (LimitUnit.WORK_HOUR, LimitUnit.WORK_DAY):
        return work_seconds_between(start, end)
    return (_local(end) - _local(start)).total_seconds()


def time_used_ratio(start: datetime, deadline: datetime, now: datetime, unit: LimitUnit | str) -> float:
    """Share of the allowed time used at `now` (0.0 at start, 1.0 at the deadline, above 1 when overdue)."""
    allowed = elapsed_seconds(start, deadline, unit)
    if allowed <= 0:
        return 1.0 if _local(now) >= _local(deadline) else 0.0
    return elapsed_seconds(start, now, unit) / allowed


def shift_deadline(deadline: datetime, paused_from: datetime, paused_to: datetime, unit: LimitUnit | str) -> datetime:
    """Move `deadline` later by the time the clock stood still (挂账, waiting for an extension decision).

    Working-time units move by the office time inside the pause (a pause over a weekend costs
    nothing); natural units by the whole pause.
    """
    unit = LimitUnit(unit)
    start, end = _local(paused_from), _local(paused_to)
    if end <= start:
        return _local(deadline)
    if unit in (LimitUnit.HOUR, LimitUnit.DAY):
        return _local(deadline) + (end - start)
    paused = timedelta(seconds=work_seconds_between(start, end))
    return _add_work_time(_local(deadline), paused, _overrides(), office_hours())
