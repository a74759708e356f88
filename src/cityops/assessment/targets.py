"""The center's performance targets (绩效目标): loading the product's data file and measuring
each target over a period — live from the platform where a metric exists, otherwise from
the latest manual entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.apps import apps
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q

from cityops.accounts.selectors import role_lookup
from cityops.analytics import kpis
from cityops.assessment import metrics
from cityops.assessment.models import PerformanceTarget, TargetManualValue, TargetOp
from cityops.assessment.periods import Period, date_range
from cityops.cases.models import CaseEvent, Channel
from cityops.cases.states import Action

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_FILE = DATA_DIR / "targets_2024.json"


class TargetDataError(ValueError):
    """The targets data file cannot be loaded; the message says where and why."""


# ---------------------------------------------------------------- loading


@dataclass
class LoadResult:
    year: int
    created: int = 0
    updated: int = 0
    deactivated: int = 0


def _decimal(raw, where: str) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        raise TargetDataError(f"{where}：数值 {raw!r} 无效。") from None


def _rows(data: dict) -> list[dict]:
    rows = []
    for item in data.get("department_targets", []):
        rows.append({**item, "group": "department", "project": "", "project_budget": None})
    for project in data.get("project_targets", []):
        for item in project.get("targets", []):
            rows.append({**item, "group": "project", "project": project.get("project", ""), "project_budget": project.get("budget")})
    return rows


def targets_load(path: Path | str | None = None) -> LoadResult:
    """Create or update the targets of the data file (by code); targets of the same year that
    the file no longer lists are deactivated, their manual values kept. Idempotent."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetDataError(f"找不到绩效目标数据文件 {path}。") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TargetDataError(f"{path.name} 不是有效的 JSON：{exc}") from None
    year = data.get("budget_year")
    if not isinstance(year, int):
        raise TargetDataError(f"{path.name} 缺少 budget_year。")
    result = LoadResult(year)
    seen = []
    with transaction.atomic():
        for order, row in enumerate(_rows(data), start=1):
            code, name, op = row.get("code"), row.get("name"), row.get("op")
            where = f"{path.name} 第 {order} 项（{name or code}）"
            if not code or not name:
                raise TargetDataError(f"{where}：缺少 code 或 name。")
            if op not in TargetOp.values:
                raise TargetDataError(f"{where}：比较符 {op!r} 无效，可用 {'、'.join(TargetOp.values)}。")
            qualitative = op == TargetOp.QUALITATIVE
            defaults = {
                "year": year, "group": row["group"], "project": row["project"],
                "project_budget": _decimal(row["project_budget"], where),
                "level1": row.get("level1", ""), "level2": row.get("level2", ""), "name": name, "op": op,
                "value": None if qualitative else _decimal(row.get("value"), where),
                "value_text": str(row.get("value", "")) if qualitative else "",
                "unit": row.get("unit", ""), "period": row.get("period", ""),
                "weight": _decimal(row.get("weight"), where), "metric": row.get("metric", ""),
                "order": order, "active": True,
            }
            if defaults["metric"] and defaults["metric"] not in METRICS:
                raise TargetDataError(f"{where}：未知的平台指标 {defaults['metric']}。")
            _, created = PerformanceTarget.objects.update_or_create(code=code, defaults=defaults)
            result.created += created
            result.updated += not created
            seen.append(code)
        result.deactivated = PerformanceTarget.objects.filter(year=year, active=True).exclude(code__in=seen).update(active=False)
    return result


# ---------------------------------------------------------------- live metrics


@dataclass(frozen=True)
class Measured:
    value: Decimal | None
    detail: str = ""


def _per_day(count: int, period: Period, what: str) -> Measured:
    days = period.elapsed_days
    if days <= 0:
        return Measured(None, "期间尚未开始")
    return Measured(_round(Decimal(count) / days, "0.01"), f"{what} {count} ÷ {days} 天")


def _rate(num: int, den: int, what: str) -> Measured:
    if den <= 0:
        return Measured(None, f"期间内无{what}")
    return Measured(_round(Decimal(num) * 100 / den, "0.1"), f"{num} ÷ {den}")


def _round(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _events(period: Period, **filters):
    return CaseEvent.objects.filter(created_at__gte=period.start, created_at__lt=period.cutoff, **filters)


def m_dispatched_per_day(period: Period) -> Measured:
    return _per_day(_events(period, action=Action.DISPATCH).count(), period, "派遣")


def m_dispatch_accuracy(period: Period) -> Measured:
    counts = metrics.dispatch_accuracy_counts(period)
    return _rate(counts["dispatches_accurate"], counts["dispatches"], "派遣")


def m_satisfaction(period: Period) -> Measured:
    counts = metrics.satisfaction_totals(period)
    return _rate(counts[kpis.SATISFIED_COUNT], counts[kpis.RATED], "确定满意度结果的案件")


def m_resolution(period: Period) -> Measured:
    counts = metrics.center_counts(period)
    return _rate(counts.get("closed", 0), counts.get("due", 0), "应结案件")


def m_city_hotline(period: Period) -> Measured:
    count = _events(period, action=Action.DISPATCH, case__channel=Channel.CITY_PLATFORM).values("case").distinct().count()
    return Measured(Decimal(count), f"市级12345派件 {count} 件")


def m_active_inspectors(period: Period) -> Measured:
    from cityops.accounts import roles

    inspectors = _events(period, **{role_lookup("actor"): roles.INSPECTOR}).values("actor").distinct().count()
    return Measured(Decimal(inspectors), f"有上报或核查记录的网格员 {inspectors} 人")


def m_video_cases_per_day(period: Period) -> Measured:
    closed = (
        _events(period, case__channel=Channel.IOT)
        .filter(Q(action=Action.VERIFY, payload__passed=True) | Q(action=Action.ANSWER))
        .values("case").distinct().count()
    )
    return _per_day(closed, period, "视频/物联感知案件结案")


def _big_screen_model():
    try:
        return apps.get_model("analytics", "BigScreenSession")
    except LookupError:
        return None


def m_big_screen_per_day(period: Period) -> Measured:
    model = _big_screen_model()
    if model is None:
        return Measured(None, "大屏使用记录尚未接入")
    names = {f.name for f in model._meta.get_fields()}
    field_name = next((n for n in ("started_at", "opened_at", "created_at", "at", "timestamp") if n in names), None)
    if field_name is None:
        return Measured(None, "大屏使用记录缺少时间字段")
    count = model.objects.filter(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.cutoff}).count()
    return _per_day(count, period, "大屏打开")


@dataclass(frozen=True)
class Metric:
    label: str
    definition: str
    measure: Callable[[Period], Measured] | None  # None: the platform has no source, manual entry


METRICS: dict[str, Metric] = {
    "dispatched_cases_per_day": Metric("日均派遣数", "期间内派遣（转派）次数 ÷ 期间已过天数", m_dispatched_per_day),
    "dispatch_accuracy": Metric(
        "准确派遣率", "准确派遣数 ÷ 派遣数 × 100%；被接收部门以“非本单位职责”退回的派遣为不准确（含智能分拨）", m_dispatch_accuracy
    ),
    "satisfaction_rate": Metric("满意率", f"{kpis.SATISFACTION_RATE_FORMULA}；{kpis.SATISFACTION_RATE_NOTE}", m_satisfaction),
    "city_hotline_cases_dispatched": Metric("市级12345派件转办数", "来源为市级 12345 平台、期间内派遣的案件数", m_city_hotline),
    "active_inspectors": Metric("在岗网格员人数", "期间内有上报或核查记录的网格员/监督员人数", m_active_inspectors),
    "resolution_rate": Metric(
        "解决率", "结案数 ÷ 应结案数 × 100%（期间内派遣、截至统计时已反馈或已过处置时限的案件；与部门结案率同口径）", m_resolution
    ),
    "video_assisted_cases_per_day": Metric("日均视频协助结案数", "来源为视频/物联感知、期间内结案的案件数 ÷ 期间已过天数", m_video_cases_per_day),
    "big_screen_sessions_per_day": Metric("日均大屏使用次数", "期间内大屏打开次数（大屏使用记录）÷ 期间已过天数", m_big_screen_per_day),
    "hotline_calls_per_day": Metric("日均热线接听量", "平台不接话务系统，无通话记录：人工填报", None),
}


# ---------------------------------------------------------------- status


@dataclass
class TargetStatus:
    """One target measured over a period. `met` is None when it cannot be judged (no data)."""

    code: str
    name: str
    value: Decimal | None
    unit: str
    op: str
    target: Decimal | str | None
    met: bool | None
    metric: str
    weight: Decimal | None
    level1: str
    level2: str
    note: str
    project: str = ""
    project_budget: Decimal | None = None
    group: str = ""
    source: str = "none"  # live | manual | none
    target_label: str = ""
    period: str = ""  # "" | day | year
    progress: Decimal | None = None  # % of the target reached (year targets: of the whole year's)
    detail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def value_display(self) -> str:
        if self.value is None:
            return "—"
        return f"{self.value:f}" if self.source == "live" else plain(self.value)

    @property
    def weight_display(self) -> str:
        return plain(self.weight) if self.weight is not None else "—"

    @property
    def budget_display(self) -> str:
        return plain(self.project_budget) if self.project_budget is not None else ""

    @property
    def source_label(self) -> str:
        return {"live": "平台实时", "manual": "人工填报", "none": "待填报"}[self.source]

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}
        for key in ("value", "target", "weight", "progress", "project_budget"):
            if isinstance(out[key], Decimal):
                out[key] = float(out[key])
        out["source_label"] = self.source_label
        out["value_display"] = self.value_display
        return out


def plain(value: Decimal) -> str:
    """300.0000 → '300', 17.2013 → '17.2013' (no exponent, no trailing zeros)."""
    return f"{value.normalize():f}"


def _compare(op: str, value: Decimal, target: Decimal) -> bool:
    if op == TargetOp.GTE:
        return value >= target
    if op == TargetOp.LTE:
        return value <= target
    return value == target


def _manual(target: PerformanceTarget, first: date, last: date) -> TargetManualValue | None:
    return (
        TargetManualValue.objects.filter(target=target, period_start__lte=last, period_end__gte=first)
        .order_by("-period_end", "-entered_at", "-id")
        .first()
    )


def _status(target: PerformanceTarget, period: Period, cache_: dict[str, Measured]) -> TargetStatus:
    status = TargetStatus(
        code=target.code, name=target.name, value=None, unit=target.unit, op=target.op,
        target=target.value_text if target.op == TargetOp.QUALITATIVE else target.value, met=None,
        metric=target.metric, weight=target.weight, level1=target.level1, level2=target.level2, note="",
        project=target.project, project_budget=target.project_budget, group=target.group, target_label=target.target_label, period=target.period,
    )
    metric = METRICS.get(target.metric) if target.metric else None
    measure = metric.measure if metric else None
    measured = None
    if measure is not None:
        if target.metric not in cache_:
            cache_[target.metric] = measure(period)
        measured = cache_[target.metric]
    if measured is not None and measured.value is not None:
        status.value, status.source, status.detail = measured.value, "live", measured.detail
    else:
        manual = _manual(target, period.first_day, period.last_day)
        if manual is not None:
            status.source = "manual"
            status.value = manual.value
            status.detail = f"{manual.period_start:%Y-%m-%d} 至 {manual.period_end:%Y-%m-%d} 人工填报" + (f"：{manual.note}" if manual.note else "")
            if manual.achieved is not None:
                status.met = manual.achieved
        elif measured is not None:
            status.note = measured.detail or "期间内无数据"
        else:
            status.note = "平台无此数据，请在管理后台“绩效目标人工填报”中填写" if target.metric else "待人工填报（管理后台“绩效目标人工填报”）"
    _judge(status, target, period)
    return status


def _judge(status: TargetStatus, target: PerformanceTarget, period: Period) -> None:
    if status.value is None or target.value is None or target.op == TargetOp.QUALITATIVE:
        return
    goal = target.value
    if target.period == "year" and status.source == "live":
        # A yearly total measured over part of a year is judged against the pro-rated goal.
        year_days = 366 if _leap(period.first_day.year) else 365
        days = max(period.elapsed_days, 1)
        if days < year_days:
            goal = _round(target.value * days / year_days, "1")
            status.note = f"按期间 {days} 天折算目标 {goal:f}{target.unit}（全年 {target.value.normalize():f}{target.unit}）"
        status.progress = _round(status.value * 100 / target.value, "0.1") if target.value else None
    elif target.value:
        status.progress = _round(status.value * 100 / target.value, "0.1")
    if status.met is None:
        status.met = _compare(target.op, status.value, goal)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def targets_status(start: date, end: date, *, cache_seconds: int = 0) -> list[TargetStatus]:
    """Every active target of the latest loaded budget year, measured over start … end
    (inclusive). Live metrics are cut off at now; a range that has not begun yields no live
    values. Never raises on odd ranges: end < start is swapped.

    `cache_seconds` > 0 keeps the answer in Django's cache (for pages that poll, like the big screen)."""
    if end < start:
        start, end = end, start
    key = f"cityops:assessment:targets:{start:%Y%m%d}:{end:%Y%m%d}"
    if cache_seconds > 0:
        cached = cache.get(key)
        if cached is not None:
            return cached
    year = PerformanceTarget.objects.filter(active=True).order_by("-year").values_list("year", flat=True).first()
    result: list[TargetStatus] = []
    if year is not None:
        period = date_range(start, end)
        measured: dict[str, Measured] = {}
        for target in PerformanceTarget.objects.filter(active=True, year=year).order_by("order"):
            result.append(_status(target, period, measured))
    if cache_seconds > 0:
        cache.set(key, result, cache_seconds)
    return result
