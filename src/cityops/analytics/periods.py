"""Reporting periods: today / this week / this month / a custom range, the period they are
compared with (the same period last week or last month), and clear messages for bad input.

Dates are local dates (settings.TIME_ZONE); ranges are inclusive of both ends.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

MAX_DAYS = 3660  # ten years (with their leap days) is the longest range we answer
DAILY_SERIES_MAX_DAYS = 92  # longer ranges get a monthly trend line

KINDS = {"today": "今日", "week": "本周", "month": "本月", "custom": "自定义"}
COMPARES = {"week": "上周同期", "month": "上月同期"}


class PeriodError(ValueError):
    """Input that cannot name a period; `message` is shown to the user as is."""

    def __init__(self, message: str, field: str = "period") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def shift_month(day: date, months: int) -> date:
    """The same day of the month `months` later (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_start(day: date) -> date:
    return day.replace(day=1)


def parse_day(raw: str | date | None, field: str) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise PeriodError(f"日期“{raw}”格式不正确，应为 YYYY-MM-DD。", field) from None


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # inclusive
    compare: str
    today: date
    notes: tuple[str, ...] = field(default=())

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        if self.start == self.end:
            return f"{KINDS.get(self.kind, '')} {self.start:%Y-%m-%d}".strip()
        return f"{KINDS.get(self.kind, '')} {self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}".strip()

    @property
    def compare_label(self) -> str:
        return COMPARES[self.compare]

    @property
    def in_future(self) -> bool:
        return self.start > self.today

    @property
    def granularity(self) -> str:
        if self.days == 1:
            return "hour"
        return "day" if self.days <= DAILY_SERIES_MAX_DAYS else "month"

    def shifted(self, day: date) -> date:
        return day - timedelta(days=7) if self.compare == "week" else shift_month(day, -1)

    @property
    def compare_start(self) -> date:
        return self.shifted(self.start)

    @property
    def compare_end(self) -> date:
        return self.shifted(self.end)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days,
            "label": self.label, "compare": self.compare, "compare_label": self.compare_label,
            "compare_start": self.compare_start.isoformat(), "compare_end": self.compare_end.isoformat(),
            "granularity": self.granularity, "notes": list(self.notes),
        }


def period_parse(
    kind: str | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    compare: str | None = None,
    *,
    today: date | None = None,
) -> Period:
    """The period the user asked for, or PeriodError with a message that says what is wrong.

    A range reaching past today ends today (noted); a range wholly in the future is answered
    with empty figures (noted); ranges longer than ten years are refused.
    """
    today = today or timezone.localdate()
    kind = (kind or "").strip() or ("custom" if (start or end) else "today")
    if kind not in KINDS:
        raise PeriodError(f"未知的时段“{kind}”，可选：今日 today、本周 week、本月 month、自定义 custom。")
    notes: list[str] = []
    if kind == "today":
        first, last = today, today
    elif kind == "week":
        first, last = today - timedelta(days=today.weekday()), today
    elif kind == "month":
        first, last = month_start(today), today
    else:
        first, last = parse_day(start, "from"), parse_day(end, "to")
        if first is None and last is None:
            raise PeriodError("自定义时段请填写开始日期和结束日期。", "from")
        first = first or last
        last = last or first
        if first > last:
            raise PeriodError("开始日期不能晚于结束日期。", "from")
        if (last - first).days + 1 > MAX_DAYS:
            raise PeriodError("时段过长：最长可统计 10 年，请缩短时段。", "from")
        if first > today:
            notes.append("所选时段尚未到来，暂无数据。")
        elif last > today:
            notes.append(f"结束日期晚于今天，统计截至今天（{today:%Y-%m-%d}）。")
            last = today
    compare = (compare or "").strip()
    if compare and compare not in COMPARES:
        raise PeriodError(f"未知的对比方式“{compare}”，可选：上周同期 week、上月同期 month。", "compare")
    if not compare:
        compare = "month" if kind == "month" or (kind == "custom" and (last - first).days >= 7) else "week"
    return Period(kind=kind, start=first, end=last, compare=compare, today=today, notes=tuple(notes))


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Aware datetimes [start of `first`, start of the day after `last`) in local time."""
    tz = timezone.get_current_timezone()
    lo = timezone.make_aware(datetime.combine(first, datetime.min.time()), tz)
    hi = timezone.make_aware(datetime.combine(last + timedelta(days=1), datetime.min.time()), tz)
    return lo, hi
