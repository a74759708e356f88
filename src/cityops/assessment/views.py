"""The assessment pages: /assessment/ (monthly rankings) and /targets/ (the center's 绩效目标).

Views parse the query string, call the selectors and render; every figure is computed in
`selectors` / `metrics` / `targets`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from cityops.assessment.access import can_read_assessment
from cityops.assessment.indicators import GRADES, Kind
from cityops.assessment.models import PerformanceTarget
from cityops.assessment.periods import current_month, next_month, previous_month
from cityops.assessment.selectors import assessment_ranking, targets_status
from cityops.assessment.targets import METRICS

MAX_TARGET_RANGE_DAYS = 366


def _readers_only(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_read_assessment(request.user):
            return render(request, "assessment/403.html", status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _url(name: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse(name) + (f"?{query}" if query else "")


def _chart(ranking) -> list[dict]:
    return [
        {"name": row.subject.name, "score": float(row.score), "grade": row.grade}
        for row in ranking.scored_rows
    ]


GRADE_RANGES = {"A": "≥ 90", "B": "75–<90", "C": "60–<75", "D": "40–<60", "E": "< 40"}


def _grade_rows(ranking) -> list[dict]:
    counts = {letter: 0 for _floor, letter, _label in GRADES}
    for row in ranking.scored_rows:
        counts[row.grade] += 1
    return [{"letter": g, "label": label, "range": GRADE_RANGES[g], "count": counts[g]} for _floor, g, label in GRADES]


@_readers_only
def ranking(request: HttpRequest) -> HttpResponse:
    raw_kind = request.GET.get("kind") or Kind.DEPARTMENT
    messages = []
    if raw_kind not in Kind.values:
        messages.append("考核对象无效，已显示处置部门。")
        raw_kind = Kind.DEPARTMENT
    kind = Kind(raw_kind)
    raw_month = (request.GET.get("month") or "").strip()
    result = assessment_ranking(kind, raw_month or None)
    this_month = current_month()
    shown = result.period.first_day if result.period else this_month
    month_value = f"{shown:%Y-%m}"
    tabs = [{"kind": k, "label": k.label, "url": _url("assessment:ranking", kind=k.value, month=month_value), "active": k == kind} for k in Kind]
    prev_month, later = previous_month(shown), next_month(shown)
    context = {
        "ranking": result,
        "kind": kind,
        "tabs": tabs,
        "messages_extra": messages,
        "month_value": month_value if result.period else (raw_month or month_value),
        "max_month": f"{this_month:%Y-%m}",
        "prev_url": _url("assessment:ranking", kind=kind.value, month=f"{prev_month:%Y-%m}"),
        "next_url": _url("assessment:ranking", kind=kind.value, month=f"{later:%Y-%m}") if later <= this_month else "",
        "current_url": _url("assessment:ranking", kind=kind.value),
        "chart": _chart(result),
        "columns": [{"indicator": i, "weight": result.scheme.weights.get(i.code, 0)} for i in result.indicators],
        "weights_text": "、".join(f"{i.name} {result.scheme.weights[i.code]}" for i in result.indicators if result.scheme.weights.get(i.code)),
        "table_rows": [r for r in result.rows if r.has_data],
        "idle": [r.subject.name for r in result.rows if not r.has_data],
        "grade_rows": _grade_rows(result),
    }
    return render(request, "assessment/ranking.html", context)


def _parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _target_range(request: HttpRequest, today: date) -> tuple[str, date, date, list[str]]:
    """(preset, start, end, messages) from the query string; bad input falls back with a message."""
    preset = request.GET.get("range") or "year"
    messages: list[str] = []
    if preset == "month":
        return preset, today.replace(day=1), today, messages
    if preset == "last_month":
        first = previous_month(today.replace(day=1))
        return preset, first, today.replace(day=1) - timedelta(days=1), messages
    if preset == "custom":
        start, end = _parse_day(request.GET.get("start")), _parse_day(request.GET.get("end"))
        if start is None or end is None:
            messages.append("请填写有效的开始和结束日期（YYYY-MM-DD），已显示本年度。")
        elif end < start:
            messages.append("结束日期早于开始日期，已交换两者。")
            start, end = end, start
        if start is not None and end is not None:
            if (end - start).days + 1 > MAX_TARGET_RANGE_DAYS:
                start = end - timedelta(days=MAX_TARGET_RANGE_DAYS - 1)
                messages.append(f"绩效目标按年度考核，时间范围最长 {MAX_TARGET_RANGE_DAYS} 天，已按 {start:%Y-%m-%d} 至 {end:%Y-%m-%d} 计算。")
            if start > today:
                messages.append("所选期间尚未开始，没有实时数据。")
            return preset, start, end, messages
    elif preset != "year":
        messages.append("统计期间无效，已显示本年度。")
    return "year", today.replace(month=1, day=1), today, messages


@_readers_only
def targets(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    preset, start, end, messages = _target_range(request, today)
    rows = targets_status(start, end)
    groups: list[dict] = []
    for row in rows:
        title = "部门整体支出绩效目标" if row.group == "department" else row.project
        if not groups or groups[-1]["title"] != title:
            groups.append({"title": title, "rows": [], "department": row.group == "department", "budget": row.budget_display})
        groups[-1]["rows"].append(row)
    year = PerformanceTarget.objects.filter(active=True).order_by("-year").values_list("year", flat=True).first()
    context = {
        "groups": groups,
        "rows": rows,
        "year": year,
        "preset": preset,
        "start": start,
        "end": end,
        "today": today,
        "messages_extra": messages,
        "presets": [
            {"key": key, "label": label, "url": _url("assessment:targets", range=key), "active": preset == key}
            for key, label in (("year", "本年度"), ("month", "本月"), ("last_month", "上月"))
        ],
        "met": sum(1 for r in rows if r.met is True),
        "missed": sum(1 for r in rows if r.met is False),
        "pending": sum(1 for r in rows if r.met is None),
        "live": sum(1 for r in rows if r.source == "live"),
        "is_staff": request.user.is_staff,
        "metric_definitions": [(m.label, m.definition) for code, m in METRICS.items() if any(r.metric == code for r in rows)],
    }
    return render(request, "assessment/targets.html", context)
