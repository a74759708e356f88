"""Assessment periods: months and date ranges in local time (Asia/Shanghai), with the cut-off
at which a period's figures are taken."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


class PeriodError(ValueError):
    """A period the user asked for cannot be used; the message is shown as is."""


@dataclass(frozen=True)
class Period:
    """[start, end) in aware local datetimes. `cutoff` = min(end, now): the figures of a
    closed period are taken at its end and never change; a running one is taken up to now."""

    first_day: date
    last_day: date
    start: datetime
    end: datetime
    cutoff: datetime

    @property
    def closed(self) -> bool:
        return self.cutoff >= self.end

    @property
    def future(self) -> bool:
        return self.cutoff <= self.start

    @property
    def whole_month(self) -> bool:
        return self.first_day.day == 1 and self.last_day == month_last_day(self.first_day)

    @property
    def label(self) -> str:
        if self.whole_month:
            return f"{self.first_day.year}年{self.first_day.month}月"
        return f"{self.first_day:%Y-%m-%d} 至 {self.last_day:%Y-%m-%d}"

    @property
    def month_key(self) -> str:
        return f"{self.first_day:%Y-%m}"

    @property
    def elapsed_days(self) -> int:
        """Calendar days of the period up to the cut-off (a started day counts), at least 0."""
        if self.future:
            return 0
        last = timezone.localtime(self.cutoff - timedelta(microseconds=1)).date()
        return (min(last, self.last_day) - self.first_day).days + 1

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def month_last_day(first: date) -> date:
    return next_month(first) - timedelta(days=1)


def next_month(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def previous_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def date_range(first_day: date, last_day: date, *, now: datetime | None = None) -> Period:
    """The days first_day … last_day inclusive."""
    if last_day < first_day:
        raise PeriodError("结束日期不能早于开始日期。")
    now = now or timezone.now()
    start, end = _aware(first_day), _aware(last_day + timedelta(days=1))
    return Period(first_day, last_day, start, end, min(end, now))


def month_period(first: date, *, now: datetime | None = None) -> Period:
    first = first.replace(day=1)
    return date_range(first, month_last_day(first), now=now)


def current_month(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now()).date().replace(day=1)


def parse_month(text: str | None, *, now: datetime | None = None) -> date:
    """'2026-11' → date(2026, 11, 1); empty → the current month. Raises PeriodError with a
    message for the user on anything else (a future month is an error too)."""
    if not text:
        return current_month(now)
    match = _MONTH.match(text)
    if not match:
        raise PeriodError(f"月份格式应为 YYYY-MM，例如 {current_month(now):%Y-%m}。")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 2000:
        raise PeriodError("月份无效。")
    first = date(year, month, 1)
    if first > current_month(now):
        raise PeriodError(f"{year}年{month}月尚未开始，没有考核数据。")
    return first
