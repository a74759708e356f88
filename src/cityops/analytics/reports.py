"""Analysis reports (数据分析报告): a weekly or monthly report of the whole district as an XLSX
workbook and a printable HTML page, with a short narrative generated from the figures.

* `report_period_parse(kind, text)` / `report_period_last(kind)`: which week or month (ISO weeks,
  "2026-W47"; months, "2026-11"). Only periods that have ended are reported.
* `report_build(period)`: every figure, read through the dashboard's rollups (`reads.read`,
  `selectors.series`, `selectors.overdue_cases`), the assessment's counts and rankings
  (`assessment.metrics.center_counts`, `assessment.selectors.ranking_between`) and the stored
  hot-issue runs. No cause is ever stated: the narrative only compares figures.
* `report_xlsx(report)` → bytes, `report_html(report)` → str (template `analytics/report.html`,
  charts as server-drawn SVG, no script, so it prints and opens from disk alike).
* `report_write(report, directory)` writes both files; `generate_due_reports()` is the periodic
  job (the "reports" job declared in `analytics/plugin.py`): last week's report from Monday 06:00, last month's
  from the 1st 06:00, into `report_dir()`, once each.
"""

from __future__ import annotations

import io
import math
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from cityops.analytics import kpis
from cityops.analytics.models import Dim, HotIssueRun
from cityops.analytics.periods import day_bounds, shift_month
from cityops.analytics.reads import Spec, read
from cityops.analytics.refs import refs
from cityops.analytics.rollups import EV_CLOSE, EV_DISPATCH, EV_REGISTER
from cityops.analytics.selectors import callback_counts, overdue_cases, satisfaction_figures, series, sla_mix
from cityops.assessment.indicators import Kind
from cityops.assessment.metrics import center_counts
from cityops.assessment.periods import date_range
from cityops.assessment.selectors import ranking_between
from cityops.common.pii import mask_text

KINDS = {"weekly": "周报", "monthly": "月报"}
UNIT = {"weekly": "本周", "monthly": "本月"}
PREVIOUS = {"weekly": "上周", "monthly": "上月"}
REPORT_HOUR = 6  # scheduled reports are made from 06:00 of the day after the period
TOP_CATEGORIES = 15
OVERDUE_ROWS = 50
HOT_ROWS = 10
# A stored hot-issue run describes the period when its window ends at most this long after it.
HOT_RUN_SLACK = timedelta(days=1)
CSS_NAME = "report.css"
FILE_NAME = re.compile(r"^(weekly-\d{4}-W\d{2}|monthly-\d{4}-\d{2})\.(xlsx|html)$")

_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


class ReportPeriodError(ValueError):
    """A period that cannot be reported; `message` is shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class ReportPeriod:
    """One ISO week or calendar month (dates inclusive) and the one before it."""

    kind: str
    key: str  # "2026-W47" | "2026-11"
    start: date
    end: date
    prev_start: date
    prev_end: date

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}年第{week}周（{self.start.month}月{self.start.day}日至{self.end.month}月{self.end.day}日）"
        return f"{self.start.year}年{self.start.month}月"

    @property
    def unit(self) -> str:
        return UNIT[self.kind]

    @property
    def previous(self) -> str:
        return PREVIOUS[self.kind]

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def file_stem(self) -> str:
        return f"{self.kind}-{self.key}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _week(year: int, week: int) -> ReportPeriod:
    start = date.fromisocalendar(year, week, 1)
    end = start + timedelta(days=6)
    return ReportPeriod("weekly", f"{year}-W{week:02d}", start, end, start - timedelta(days=7), start - timedelta(days=1))


def _month(year: int, month: int) -> ReportPeriod:
    start = date(year, month, 1)
    end = shift_month(start, 1) - timedelta(days=1)
    prev_start = shift_month(start, -1)
    return ReportPeriod("monthly", f"{year}-{month:02d}", start, end, prev_start, start - timedelta(days=1))


def report_period_last(kind: str, *, today: date | None = None) -> ReportPeriod:
    """The last week (Monday–Sunday) or month that has ended."""
    today = today or timezone.localdate()
    if kind == "weekly":
        year, week, _ = (today - timedelta(days=today.weekday() + 7)).isocalendar()
        return _week(year, week)
    if kind == "monthly":
        last = today.replace(day=1) - timedelta(days=1)
        return _month(last.year, last.month)
    raise ReportPeriodError(f"未知的报告类型“{kind}”，可选：weekly（周报）、monthly（月报）。")


def report_period_parse(kind: str, text: str | None, *, today: date | None = None) -> ReportPeriod:
    """The week ("2026-W47") or month ("2026-11") named by `text`; empty → the last one that has
    ended. Raises ReportPeriodError for anything else, and for periods that have not ended."""
    today = today or timezone.localdate()
    if kind not in KINDS:
        raise ReportPeriodError(f"未知的报告类型“{kind}”，可选：weekly（周报）、monthly（月报）。")
    text = (text or "").strip()
    if not text:
        return report_period_last(kind, today=today)
    latest = report_period_last(kind, today=today)
    if kind == "weekly":
        match = _WEEK.match(text)
        if not match:
            raise ReportPeriodError(f"周的格式应为 YYYY-Www，例如 {latest.key}。")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            if year < 2000:
                raise ValueError
            period = _week(year, week)
        except ValueError:
            raise ReportPeriodError(f"{year} 年没有第 {week} 周。") from None
    else:
        match = _MONTH.match(text)
        if not match:
            raise ReportPeriodError(f"月份的格式应为 YYYY-MM，例如 {latest.key}。")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12 or year < 2000:
            raise ReportPeriodError(f"月份“{text}”无效，月份应为 01 至 12。")
        period = _month(year, month)
    if period.start > today:
        raise ReportPeriodError(f"{period.label}尚未开始，没有数据。最近一期可用的{period.kind_label}是 {latest.key}。")
    if period.end >= today:
        raise ReportPeriodError(f"{period.label}尚未结束，只能生成已结束时段的{period.kind_label}（最近一期：{latest.key}）。")
    return period


# ---------------------------------------------------------------- the figures


@dataclass
class Figure:
    """One summary figure with the previous period's value and the change (in % for counts, in
    percentage points for rates)."""

    code: str
    name: str
    value: float | int | None
    previous: float | int | None
    is_rate: bool = False
    definition: str = ""
    better: str = ""  # "higher" | "lower" | "" (a volume: neither way is good or bad in itself)

    @property
    def tone(self) -> str:
        """"good" / "bad" for a change in the direction that is better / worse, else ""."""
        if not self.change or not self.better:
            return ""
        return "good" if (self.change > 0) == (self.better == "higher") else "bad"

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        if self.is_rate:
            return round(self.value - self.previous, 1)
        return pct_change(self.value, self.previous)

    @property
    def change_unit(self) -> str:
        return "个百分点" if self.is_rate else "%"

    @property
    def unit(self) -> str:
        return "%" if self.is_rate else "件"


@dataclass
class CountRow:
    name: str
    value: int
    previous: int

    @property
    def diff(self) -> int:
        return self.value - self.previous

    @property
    def change(self) -> float | None:
        return pct_change(self.value, self.previous)


def rank_move(change: int | None) -> str:
    """Places gained (↑) or lost (↓) since the previous period."""
    if not change:
        return "—"
    return f"↑{change}" if change > 0 else f"↓{-change}"


@dataclass
class DepartmentRow:
    rank: int | None
    name: str
    dispatched: int
    handled: int
    on_time_rate: float | None
    returned: int
    score: float | None
    grade: str
    rank_change: int | None

    @property
    def move(self) -> str:
        return rank_move(self.rank_change)


@dataclass
class RankingRow:
    rank: int | None
    name: str
    score: float | None
    grade: str
    prev_rank: int | None
    rank_change: int | None
    score_change: float | None

    @property
    def move(self) -> str:
        return rank_move(self.rank_change)


@dataclass
class OverdueRow:
    number: str
    category: str
    street: str
    department: str
    status: str
    deadline: str
    hours: float


@dataclass
class HotRow:
    rank: int
    text: str
    size: int
    previous: int
    growth: int
    category: str
    place: str
    representative: str


@dataclass
class Report:
    """Everything a report shows, computed once; the XLSX, the HTML and the narrative read it."""

    period: ReportPeriod
    generated_at: datetime
    summary: list[Figure]
    categories: list[CountRow]
    streets: list[CountRow]
    departments: list[DepartmentRow]
    street_ranking: list[RankingRow]
    department_ranking: list[RankingRow]
    overdue: list[OverdueRow]
    overdue_total: int
    hot: list[HotRow]
    hot_window: str
    daily: list[tuple[str, int]]
    daily_previous: list[tuple[str, int]]
    narrative: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, code: str) -> Figure:
        return next(f for f in self.summary if f.code == code)

    @property
    def empty(self) -> bool:
        return not self.figure("received").value

    @property
    def title(self) -> str:
        return f"城市运行管理{self.period.kind_label}　{self.period.label}"

    @property
    def generated_label(self) -> str:
        return timezone.localtime(self.generated_at).strftime("%Y-%m-%d %H:%M")


def pct_change(value: float, previous: float) -> float | None:
    if not previous:
        return None
    return round((value - previous) * 100.0 / previous, 1)


def _rate(part: int, whole: int) -> float | None:
    return round(part * 100.0 / whole, 1) if whole else None


def _num(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


def _count_rows(current: Counter, previous: Counter, name_of, *, always: frozenset = frozenset()) -> list[CountRow]:
    """Rows of keys counted in either period (and of `always`, zeros included), largest first."""
    keys = {k for k in set(current) | set(previous) if current.get(k) or previous.get(k)} | always
    rows = [CountRow(name_of(k), int(current.get(k, 0)), int(previous.get(k, 0))) for k in keys]
    rows.sort(key=lambda r: (-r.value, -r.previous, r.name))
    return rows


def _departments_and_rankings(period: ReportPeriod, now: datetime) -> tuple[list[DepartmentRow], list[RankingRow], list[RankingRow]]:
    current = date_range(period.start, period.end, now=now)
    before = date_range(period.prev_start, period.prev_end, now=now)
    departments = ranking_between(Kind.DEPARTMENT, current, before)
    streets = ranking_between(Kind.STREET, current, before)
    dept_rows = []
    for row in departments.rows:
        if not row.has_data:
            continue
        on_time = next((f.value for f in row.figures if f.indicator.code == "disposal_on_time_rate"), None)
        dept_rows.append(DepartmentRow(
            row.rank, row.subject.name, int(row.counts.get("dispatched", 0) or 0), int(row.counts.get("handled", 0) or 0),
            _num(on_time), int(row.counts.get("returned", 0) or 0), _num(row.score), row.grade or "", row.rank_change,
        ))

    def ranking(rows) -> list[RankingRow]:
        return [RankingRow(r.rank, r.subject.name, _num(r.score), r.grade or "", r.prev_rank, r.rank_change, _num(r.change))
                for r in rows if r.rank is not None]

    return dept_rows, ranking(streets.rows), ranking(departments.rows)


def _center_counts(first: date, last: date, now: datetime) -> dict[str, int]:
    return center_counts(date_range(first, last, now=now))


def _hot(period: ReportPeriod) -> tuple[list[HotRow], str]:
    """The stored hot-issue run that ends with the period (the scheduled report runs right after
    it), or none: runs are kept only for a short while, so an older period has no hot issues."""
    _lo, period_end = day_bounds(period.start, period.end)
    run = (
        HotIssueRun.objects.filter(window_end__gte=period_end, window_end__lte=period_end + HOT_RUN_SLACK)
        .order_by("window_end").first()
    )
    if run is None:
        return [], ""
    window = (f"{timezone.localtime(run.window_start):%Y-%m-%d %H:%M} 至 "
              f"{timezone.localtime(run.window_end):%Y-%m-%d %H:%M}")
    rows = []
    for c in run.clusters[:HOT_ROWS]:
        place = c.get("place") or {}
        rows.append(HotRow(
            int(c.get("rank") or len(rows) + 1), mask_text(str(c.get("text") or "")), int(c.get("size") or 0),
            int(c.get("previous") or 0),
            int(c.get("growth") or 0), str(c.get("category") or ""),
            " ".join(p for p in (place.get("street") or "", place.get("community") or "") if p), str(c.get("representative") or ""),
        ))
    return rows, window


def report_build(period: ReportPeriod, *, now: datetime | None = None) -> Report:
    """Every figure of the report for `period` (a week or month that has ended)."""
    now = now or timezone.now()
    r = refs()
    dims = (Dim.TOTAL, Dim.EVENT, Dim.SATISFACTION, Dim.CATEGORY)
    answers = read([  # one round trip for every rollup figure
        Spec("cur", period.start, period.end, dims),
        Spec("prev", period.prev_start, period.prev_end, dims),
        Spec("streets", period.start, period.end, (Dim.TOTAL,), None, "street"),
        Spec("streets_prev", period.prev_start, period.prev_end, (Dim.TOTAL,), None, "street"),
    ])
    cur, prev = answers["cur"], answers["prev"]
    center, center_prev = _center_counts(period.start, period.end, now), _center_counts(period.prev_start, period.prev_end, now)

    def satisfaction(c) -> float | None:
        return satisfaction_figures(c[Dim.SATISFACTION], {})["satisfaction_rate"]

    callbacks = callback_counts(period.start, period.end)
    callbacks_prev = callback_counts(period.prev_start, period.prev_end)

    def on_time(c: dict[str, int]) -> float | None:
        return _rate(c.get("closed_on_time", 0), c.get("due", 0))

    summary = [
        Figure("received", "受理案件", cur[Dim.TOTAL].get("", 0), prev[Dim.TOTAL].get("", 0),
               definition="本期上报（受理）的案件数"),
        Figure("registered", "立案", cur[Dim.EVENT].get(EV_REGISTER, 0), prev[Dim.EVENT].get(EV_REGISTER, 0),
               definition="本期的立案操作数（含此前上报的案件）"),
        Figure("dispatched", "派遣", cur[Dim.EVENT].get(EV_DISPATCH, 0), prev[Dim.EVENT].get(EV_DISPATCH, 0),
               definition="本期的派遣次数（改派另计一次）"),
        Figure("closed", "结案", cur[Dim.EVENT].get(EV_CLOSE, 0), prev[Dim.EVENT].get(EV_CLOSE, 0),
               definition="本期结案的案件数（含此前上报的案件）"),
        Figure("on_time_rate", "按期结案率", on_time(center), on_time(center_prev), is_rate=True,
               definition="本期派遣的案件中，按期结案数 ÷ 应结案数 × 100%（与绩效考核同一口径）", better="higher"),
        Figure("overdue_open", "超期未处置", center.get("overdue_open", 0), center_prev.get("overdue_open", 0),
               definition="本期派遣的案件中，截至期末已过处置时限仍未反馈、且未挂账的案件数", better="lower"),
        Figure("satisfaction", "群众满意率", satisfaction(cur), satisfaction(prev), is_rate=True,
               definition=kpis.SATISFACTION_RATE_FORMULA, better="higher"),
        Figure("callback_rate", "回访率", kpis.callback_rate(callbacks), kpis.callback_rate(callbacks_prev), is_rate=True,
               definition=kpis.CALLBACK_RATE_FORMULA, better="higher"),
    ]

    def cat_name(key: str) -> str:
        cat = r.categories.get(int(key)) if key and key.isdigit() else None
        return cat.name if cat else "未分类"

    def merge(counter: Counter) -> Counter:
        out: Counter = Counter()
        for key, n in counter.items():
            out[cat_name(key)] += n
        return out

    categories = _count_rows(merge(cur[Dim.CATEGORY]), merge(prev[Dim.CATEGORY]), str)

    def by_street(counter: Counter) -> Counter:
        out: Counter = Counter()
        for (sid, _k), n in counter.items():
            out[sid] += n
        return out

    def street_name(sid: int) -> str:
        return r.streets[sid].name if sid in r.streets else "未定位"

    streets = _count_rows(by_street(answers["streets"][Dim.TOTAL]), by_street(answers["streets_prev"][Dim.TOTAL]),
                          street_name, always=frozenset(r.streets))
    departments, street_ranking, department_ranking = _departments_and_rankings(period, now)
    overdue = [
        OverdueRow(c["number"], c["category"], c["street"], c["department"], c["status"], c["deadline"], c["overdue_hours"])
        for c in overdue_cases(now, limit=OVERDUE_ROWS)
    ]
    hot, hot_window = _hot(period)
    report = Report(
        period=period, generated_at=now, summary=summary, categories=categories, streets=streets,
        departments=departments, street_ranking=street_ranking, department_ranking=department_ranking,
        overdue=overdue, overdue_total=sla_mix(now, fresh=True)["red"], hot=hot, hot_window=hot_window,
        daily=series(period.start, period.end, "day"), daily_previous=series(period.prev_start, period.prev_end, "day"),
    )
    report.narrative = narrative(report)
    if report.empty:
        report.notes.append(f"{period.unit}没有受理案件。")
    if not hot:
        report.notes.append("本期没有可用的热点计算结果：热点由后台定期按最近 7 天计算，只保留最近的结果，"
                            "期末次日定时生成的报告才附有热点。")
    return report


# ---------------------------------------------------------------- the narrative


def _n(value: float | int) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _count_change(f: Figure, previous: str) -> str:
    if f.previous == 0:
        return f"{previous}为 0 件" if f.value else f"与{previous}相同"
    if f.value == f.previous:
        return f"与{previous}持平"
    change = f.change or 0.0
    return f"较{previous}{'增加' if change > 0 else '减少'} {abs(change):.1f}%"


def _rate_change(f: Figure, previous: str) -> str:
    if f.previous is None:
        return f"{previous}无可比数据"
    change = f.change or 0.0
    if change == 0:
        return f"与{previous}持平"
    return f"较{previous}{'上升' if change > 0 else '下降'} {abs(change):.1f} 个百分点"


def narrative(report: Report) -> list[str]:
    """Three to six sentences that state the main figures and their changes — never a cause."""
    p = report.period
    unit, previous = p.unit, p.previous
    received = report.figure("received")
    if not received.value and not received.previous:
        sentences = [f"{unit}没有受理案件，{previous}也没有。"]
    else:
        sentences = [f"{unit}共受理案件 {_n(received.value)} 件，{_count_change(received, previous)}。"]
    registered, dispatched, closed = (report.figure(code).value for code in ("registered", "dispatched", "closed"))
    if registered or dispatched or closed:
        sentences.append(f"立案 {_n(registered)} 件，派遣 {_n(dispatched)} 次，结案 {_n(closed)} 件。")
    else:
        sentences.append(f"{unit}没有立案、派遣或结案。")
    on_time = report.figure("on_time_rate")
    if on_time.value is None:
        sentences.append(f"{unit}派遣的案件中没有到期应结的案件，按期结案率无从计算。")
    else:
        sentences.append(f"按期结案率 {on_time.value:.1f}%，{_rate_change(on_time, previous)}。")
    sat, callbacks = report.figure("satisfaction"), report.figure("callback_rate")
    callback_text = f"回访率 {callbacks.value:.1f}%" if callbacks.value is not None else ""
    if sat.value is not None:
        sentences.append(f"群众满意率 {sat.value:.1f}%，{_rate_change(sat, previous)}" + (f"；{callback_text}" if callback_text else "") + "。")
    elif callback_text:
        sentences.append(f"{callback_text}，{unit}没有确定满意度结果的案件。")
    rising_cat = max((c for c in report.categories if c.diff > 0), key=lambda c: (c.diff, c.value), default=None)
    rising_street = max((s for s in report.streets if s.diff > 0), key=lambda s: (s.diff, s.value), default=None)
    parts = []
    if rising_cat:
        parts.append(f"案件量增加最多的类别是“{rising_cat.name}”（+{_n(rising_cat.diff)} 件）")
    if rising_street:
        parts.append(f"增加最多的街道是“{rising_street.name}”（+{_n(rising_street.diff)} 件）")
    if parts:
        sentences.append("，".join(parts) + "。")
    overdue = report.figure("overdue_open")
    if overdue.value:
        sentences.append(f"{unit}派遣的案件中有 {_n(overdue.value)} 件截至期末超期未处置（{previous} {_n(overdue.previous or 0)} 件）。")
    return sentences[:6]


# ---------------------------------------------------------------- charts (SVG geometry for the template)


def _nice_max(value: float) -> float:
    """The end of a value axis: a round number at or above `value` whose half is round too."""
    if value <= 2:
        return 2.0
    if value <= 10:
        return float(math.ceil(value / 2) * 2)
    scale = 10 ** (len(str(int(value))) - 1)
    return float(next(m * scale for m in (1, 1.2, 2, 3, 4, 5, 6, 8, 10) if m * scale >= value))


def chart_bars(rows: list[CountRow], *, limit: int = 10, width: int = 680, label_width: int = 150) -> dict[str, Any]:
    """Horizontal bars (this period and the previous one) for the first `limit` rows."""
    rows = rows[:limit]
    row_h, top = 26, 8
    height = top + row_h * len(rows) + 24
    peak = max([max(r.value, r.previous) for r in rows], default=0) or 1  # no axis: the longest bar fills the row
    span = width - label_width - 60
    bars = []
    for i, row in enumerate(rows):
        y = top + i * row_h
        bars.append({
            "label": row.name if len(row.name) <= 10 else row.name[:9] + "…", "y": y, "ty": y + 15,
            "w": round(span * row.value / peak, 1), "pw": round(span * row.previous / peak, 1),
            "vx": label_width + round(span * max(row.value, row.previous) / peak, 1) + 4, "value": row.value, "previous": row.previous,
        })
    return {"width": width, "height": height, "x0": label_width, "lx": label_width - 6, "bars": bars,
            "legend_y": height - 8, "axis_y": top + row_h * len(rows)}


def chart_daily(current: list[tuple[str, int]], previous: list[tuple[str, int]], *, width: int = 680, height: int = 220) -> dict[str, Any]:
    """Columns per day of the period, with the previous period's days as a line (day 1 on day 1)."""
    left, bottom, top = 36, 30, 10
    inner_w, inner_h = width - left - 10, height - bottom - top
    peak = _nice_max(max([n or 0 for _, n in current + previous], default=0))
    n = max(len(current), 1)
    slot = inner_w / n
    cols, points = [], []
    for i, (label, value) in enumerate(current):
        h = inner_h * (value or 0) / peak
        x = left + i * slot
        cols.append({"x": round(x + slot * 0.15, 1), "y": round(top + inner_h - h, 1), "w": round(slot * 0.7, 1), "h": round(h, 1),
                     "label": label[8:10].lstrip("0"), "lx": round(x + slot / 2, 1), "value": value})
    for i, (_label, value) in enumerate(previous[:n]):
        points.append(f"{left + i * slot + slot / 2:.1f},{top + inner_h - inner_h * (value or 0) / peak:.1f}")
    ticks = [{"y": round(top + inner_h - inner_h * f, 1), "label": _n(int(peak * f))} for f in (0, 0.5, 1)]
    return {"width": width, "height": height, "cols": cols, "line": " ".join(points), "ticks": ticks, "left": left,
            "right": width - 10, "label_y": height - bottom + 16, "base_y": top + inner_h}


# ---------------------------------------------------------------- the HTML page


def report_context(report: Report) -> dict[str, Any]:
    return {
        "r": report, "p": report.period,
        "chart_streets": chart_bars(report.streets, limit=12),
        "chart_categories": chart_bars(report.categories, limit=10),
        "chart_daily": chart_daily(report.daily, report.daily_previous),
    }


def report_html(report: Report, *, css_href: str = CSS_NAME, toolbar: dict[str, str] | None = None) -> str:
    """The printable page (A4). `css_href` is where the page finds its style sheet: beside it on
    disk by default, the static URL when served; `toolbar` adds links (web only)."""
    return render_to_string("analytics/report.html", {**report_context(report), "css_href": css_href, "toolbar": toolbar})


def report_css() -> bytes:
    path = finders.find(f"analytics/{CSS_NAME}")
    if not path:
        raise FileNotFoundError(f"analytics/{CSS_NAME}")
    return Path(path).read_bytes()


# ---------------------------------------------------------------- the workbook

SHEETS = ("概况", "分类", "街道", "部门", "超期案件", "热点诉求", "排名")


def report_xlsx(report: Report) -> bytes:
    """The workbook: one sheet per part of the report (SHEETS), the narrative on the first."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(title: str, widths: list[int]):
        ws = wb.create_sheet(title)
        for i, w in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + i)].width = w
        return ws

    def cell(ws, value, *, strong: bool = False, fmt: str | None = None):
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # citizens' text starting with "=" must stay text, never a formula
        if strong:
            c.font = bold
        if fmt:
            c.number_format = fmt
        return c

    def header(ws, *names: str) -> None:
        ws.append([cell(ws, n, strong=True) for n in names])

    def row(ws, *values) -> None:
        ws.append([cell(ws, v, fmt="0.0" if isinstance(v, float) else None) for v in values])

    p = report.period
    ws = sheet("概况", [16, 14, 14, 14, 12, 60])
    ws.append([cell(ws, report.title, strong=True)])
    ws.append([cell(ws, f"统计时段：{p.start:%Y-%m-%d} 至 {p.end:%Y-%m-%d}；对比：{p.previous} {p.prev_start:%Y-%m-%d} 至 {p.prev_end:%Y-%m-%d}；生成时间：{report.generated_label}")])
    ws.append([])
    header(ws, "指标", p.unit, p.previous, "变化", "变化单位", "口径")
    for f in report.summary:
        row(ws, f.name + ("(%)" if f.is_rate else "(件)"), f.value, f.previous, f.change, f.change_unit, f.definition)
    ws.append([])
    ws.append([cell(ws, "分析摘要", strong=True)])
    for sentence in report.narrative:
        ws.append([cell(ws, sentence)])
    for note in report.notes:
        ws.append([cell(ws, note)])

    for title, rows, first in (("分类", report.categories[:TOP_CATEGORIES], "分类（小类）"), ("街道", report.streets, "街道")):
        ws = sheet(title, [24, 10, 10, 10, 12])
        header(ws, first, p.unit, p.previous, "增减(件)", "增减(%)")
        for r in rows:
            row(ws, r.name, r.value, r.previous, r.diff, r.change)
        if title == "街道":
            row(ws, "合计", sum(r.value for r in rows), sum(r.previous for r in rows),
                sum(r.diff for r in rows), pct_change(sum(r.value for r in rows), sum(r.previous for r in rows)))

    ws = sheet("部门", [8, 26, 10, 10, 14, 10, 12, 8, 12])
    header(ws, "排名", "部门", "派遣数", "处置数", "按期处置率(%)", "退单数", "综合得分", "等级", "名次变化")
    for d in report.departments:
        row(ws, d.rank, d.name, d.dispatched, d.handled, d.on_time_rate, d.returned, d.score, d.grade, d.rank_change)

    ws = sheet("超期案件", [20, 22, 18, 24, 10, 14, 12])
    ws.append([cell(ws, f"截至报告生成时（{report.generated_label}）超期未办结 {report.overdue_total} 件，超期最久的 {len(report.overdue)} 件：")])
    header(ws, "案件编号", "分类", "街道", "处置部门", "状态", "时限", "超期(小时)")
    for o in report.overdue:
        row(ws, o.number, o.category, o.street, o.department, o.status, o.deadline, float(o.hours))

    ws = sheet("热点诉求", [6, 60, 8, 8, 8, 16, 24, 20])
    ws.append([cell(ws, f"热点计算窗口：{report.hot_window}" if report.hot_window else "本期没有可用的热点计算结果。")])
    header(ws, "序号", "代表性诉求", "件数", "上期", "增长", "分类", "主要位置", "代表案件")
    for h in report.hot:
        row(ws, h.rank, h.text, h.size, h.previous, h.growth, h.category, h.place, h.representative)

    ws = sheet("排名", [8, 26, 12, 8, 10, 10, 12])
    for title, rows in (("街道综合排名", report.street_ranking), ("部门综合排名", report.department_ranking)):
        ws.append([cell(ws, title, strong=True)])
        header(ws, "排名", "名称", "综合得分", "等级", "上期排名", "名次变化", "得分变化")
        for k in rows:
            row(ws, k.rank, k.name, k.score, k.grade, k.prev_rank, k.rank_change, k.score_change)
        ws.append([])

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- files and the schedule


def report_dir() -> Path:
    """Where stored reports live: settings.CITYOPS_REPORT_DIR (default var/reports; never under
    MEDIA_ROOT, which the development server serves without a login)."""
    return Path(settings.CITYOPS_REPORT_DIR)


def _write_atomic(path: Path, data: bytes) -> None:
    handle, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report_write(report: Report, directory: Path | str | None = None) -> list[Path]:
    """Write `<kind>-<key>.xlsx`, `<kind>-<key>.html` and the page's style sheet into
    `directory` (default `report_dir()`); each file appears whole or not at all."""
    directory = Path(directory) if directory else report_dir()
    directory.mkdir(parents=True, exist_ok=True)
    xlsx, html = directory / f"{report.period.file_stem}.xlsx", directory / f"{report.period.file_stem}.html"
    _write_atomic(xlsx, report_xlsx(report))
    _write_atomic(html, report_html(report).encode("utf-8"))
    _write_atomic(directory / CSS_NAME, report_css())
    return [xlsx, html]


@dataclass(frozen=True)
class StoredReport:
    kind: str
    key: str
    stem: str
    generated_at: datetime
    has_html: bool

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def stored_reports(directory: Path | None = None) -> list[StoredReport]:
    """The reports in `report_dir()`, newest period first."""
    directory = directory or report_dir()
    if not directory.is_dir():
        return []
    out = []
    for path in directory.glob("*.xlsx"):
        if not FILE_NAME.match(path.name):
            continue
        kind, key = path.stem.split("-", 1)
        try:
            _period_of(kind, key)
        except ValueError:
            continue  # not a file of ours ("weekly-2026-W99")
        stamp = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.get_current_timezone())
        out.append(StoredReport(kind, key, path.stem, stamp, path.with_suffix(".html").exists()))
    out.sort(key=lambda s: (_period_of(s.kind, s.key).end, s.kind == "monthly"), reverse=True)
    return out


def _period_of(kind: str, key: str) -> ReportPeriod:
    if kind == "weekly":
        year, week = key.split("-W")
        return _week(int(year), int(week))
    year, month = key.split("-")
    return _month(int(year), int(month))


def stored_file(name: str, directory: Path | None = None) -> Path | None:
    """A stored report file by its bare name (the page's style sheet included), else None."""
    if name != CSS_NAME and not FILE_NAME.match(name):
        return None
    path = (directory or report_dir()) / name
    return path if path.is_file() else None


def due_periods(now: datetime) -> list[ReportPeriod]:
    """The reports the schedule owes at `now`: last week's from Monday 06:00, last month's from
    the 1st 06:00 (before that hour the periods before those)."""
    local = timezone.localtime(now)
    day = local.date() if local.hour >= REPORT_HOUR else local.date() - timedelta(days=1)
    return [report_period_last("weekly", today=day), report_period_last("monthly", today=day)]


def generate_due_reports(*, now: datetime | None = None, directory: Path | None = None) -> dict[str, Any]:
    """Periodic job: make the reports that are due and not stored yet (idempotent; a missed run
    is caught up by the next)."""
    now = now or timezone.now()
    directory = directory or report_dir()
    out: dict[str, Any] = {}
    for period in due_periods(now):
        if (directory / f"{period.file_stem}.xlsx").exists() and (directory / f"{period.file_stem}.html").exists():
            out[period.kind] = f"{period.key} exists"
            continue
        report_write(report_build(period, now=now), directory)
        out[period.kind] = f"{period.key} written"
    return out
