"""Reads behind the dashboard, the map and the big screen. All figures come from the rollups
(`DailyCount`, `MonthlyCount`, `OpenCase`) and a few indexed lookups (latest cases, most
overdue cases): no request counts the case table.

Every chart item carries `link`, the case list filtered to the cases behind it.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Avg, Count, Max, Min, Q
from django.utils import timezone

from cityops.analytics import kpis
from cityops.analytics.links import CaseLink
from cityops.analytics.models import (
    ALL_STREETS,
    BigScreenSession,
    DailyCount,
    Dim,
    OpenCase,
)
from cityops.analytics.periods import Period, PeriodError, day_bounds, month_start, shift_month
from cityops.analytics.reads import Spec, read
from cityops.analytics.refs import refs
from cityops.analytics.rollups import EV_CLOSE, EV_DISPATCH, EV_MISDISPATCH, EV_REGISTER, EV_REOPEN, EV_RETURN
from cityops.cases.models import Case, Channel, SlaLevel
from cityops.cases.querysets import near_due_q, overdue_q
from cityops.cases.sla import level_at
from cityops.cases.states import OPEN_STATUSES, Satisfaction, Status
from cityops.catalog.models import CaseType
from cityops.common.pii import mask_text

SATISFIED = kpis.SATISFIED
LEVELS = ("street", "community", "grid")
METRICS = {"count": "案件量", "density": "案件密度 (件/平方公里)", "overdue": "超期未办结", "open": "未办结"}


class StatsInputError(ValueError):
    """Bad input to a stats read (unknown street, level, bounding box …); `message` is shown as is."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# ---------------------------------------------------------------- rollup reads


def counts(start: date, end: date, dims: list[str], *, street_id: int | None = None, by_street: bool = False) -> dict:
    """{dim: Counter(key → n)} over [start, end] (or {dim: Counter((street_id, key) → n)} by street)."""
    spec = Spec("q", start, end, tuple(dims), street_id, "street" if by_street else "")
    return read([spec])["q"]


def series_spec(tag: str, start: date, end: date, granularity: str, street_id: int | None) -> Spec:
    if granularity == "hour":
        return Spec(tag, start, end, (Dim.HOUR,), street_id)
    return Spec(tag, start, end, (Dim.TOTAL,), street_id, "day" if granularity == "day" else "month")


def series_from(result: dict[str, Counter], start: date, end: date, granularity: str) -> list[tuple[str, int | None]]:
    """Points of a trend line (zeros included) from the answer to `series_spec`."""
    if granularity == "hour":
        hours = result[Dim.HOUR]
        return [(f"{h:02d}时", hours.get(str(h), 0)) for h in range(24)]
    per: Counter = Counter()
    for (when, _key), n in result[Dim.TOTAL].items():
        per[when] += n
    if granularity == "day":
        return [(d.isoformat(), per.get(d, 0)) for d in _days(start, end)]
    out = []
    cursor = month_start(start)
    while cursor <= end:
        out.append((cursor.strftime("%Y-%m"), per.get(cursor, 0)))
        cursor = shift_month(cursor, 1)
    return out


def series(start: date, end: date, granularity: str, *, street_id: int | None = None) -> list[tuple[str, int | None]]:
    """The number of cases created per hour / day / month over [start, end], zeros included."""
    result = read([series_spec("s", start, end, granularity, street_id)])["s"]
    return series_from(result, start, end, granularity)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# ---------------------------------------------------------------- open cases (SLA snapshot)


def _open(street_id: int | None):
    qs = OpenCase.objects.all()
    return qs if street_id is None else qs.filter(street_id=street_id)


SNAPSHOT_SECONDS = 30
# The open-case snapshot holds open cases only, with the clock's pause as a flag: the case
# conditions (`cases.querysets`) apply to it with this in place of "open, clock running".
SNAPSHOT_RUNNING = Q(paused=False)


def snapshot(key: str, compute, *, max_age: int = SNAPSHOT_SECONDS):
    """A figure of the open cases, recomputed at most every `max_age` seconds (shared through the cache).

    Open-case figures change with the clock (a case turns red by itself) and are scanned from
    the open-case table; the SLA scan that colours cases runs once a minute, so a snapshot
    half a minute old is as fresh as the cases' own levels."""
    full = f"analytics:snap:{key}"
    value = cache.get(full)
    if value is None:
        value = compute()
        cache.set(full, value, max_age)
    return value


def sla_mix(now: datetime, *, street_id: int | None = None, fresh: bool = False) -> dict[str, int]:
    """Open cases by SLA level, with the case list's own definitions (so a click shows the same number)."""
    if not fresh:
        return snapshot(f"sla:{street_id}", lambda: sla_mix(now, street_id=street_id, fresh=True))
    # Only columns of the covering index (street_id, paused, deadline, warn_at): an index-only scan.
    agg = _open(street_id).aggregate(
        total=Count("paused"),
        red=Count("deadline", filter=overdue_q(now, running=SNAPSHOT_RUNNING)),
        yellow=Count("deadline", filter=near_due_q(now, running=SNAPSHOT_RUNNING)),
        green=Count("warn_at", filter=Q(warn_at__gt=now)),
        paused=Count("paused", filter=Q(paused=True)),
    )
    agg["other"] = max(0, agg["total"] - agg["red"] - agg["yellow"] - agg["green"])
    return agg


def overdue_cases(now: datetime, *, street_id: int | None = None, limit: int = 15, recent_first: bool = False) -> list[dict]:
    """The open cases past their deadline: most overdue first (or most recently overdue first)."""
    order = "-deadline" if recent_first else "deadline"
    ids = list(_open(street_id).filter(overdue_q(now, running=SNAPSHOT_RUNNING)).order_by(order).values_list("case_id", flat=True)[:limit])
    cases = {c.pk: c for c in Case.objects.filter(pk__in=ids).select_related("category", "department", "street", "community")}
    out = []
    for pk in ids:
        case = cases.get(pk)
        if case is None or case.deadline is None:
            continue
        out.append({
            "number": case.number,
            "title": case_title(case),
            "category": case.category.name if case.category else "未分类",
            "department": case.department.name if case.department else "—",
            "street": case.street.display_name if case.street else "—",
            "community": case.community.display_name if case.community else "",
            "status": Status(case.status).label,
            "deadline": timezone.localtime(case.deadline).strftime("%m-%d %H:%M"),
            "overdue_hours": round((now - case.deadline).total_seconds() / 3600, 1),
            "overdue_text": _duration_text(now - case.deadline),
            "supervised": case.supervised,
            "link": f"/cases/{case.number}/",
        })
    return out


def case_title(case: Case, width: int = 36) -> str:
    """A case's title (or the start of its description) for the dashboard, the big-screen ticker
    and alarms and the reports: personal data typed into it is always masked, whoever looks —
    these are wall displays and documents that travel; the case page shows the text to the
    roles that may see it. Masked before it is cut, so a cut never leaves half a number."""
    text = mask_text((case.title or case.description or "").strip().replace("\n", " "))
    return text if len(text) <= width else text[: width - 1] + "…"


def _duration_text(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, int(delta.total_seconds() // 60))} 分钟"
    if hours < 48:
        return f"{hours:.0f} 小时"
    return f"{hours / 24:.0f} 天"


# ---------------------------------------------------------------- the dashboard


def street_param(code: str | None) -> tuple[int | None, Any]:
    """(street id, Area) for a street code from the query string; StatsInputError if unknown."""
    if not code:
        return None, None
    area = refs().street_by_code.get(code.strip())
    if area is None:
        raise StatsInputError(f"未知的街道编码“{code}”。", "street")
    return area.id, area


def _pct_change(now_value: int, before: int) -> float | None:
    if not before:
        return None
    return round((now_value - before) * 100.0 / before, 1)


_rate = kpis.rate


def satisfaction_figures(results: Counter, callback_counts: dict[str, int]) -> dict[str, Any]:
    """满意率 and 回访率 as the KPI definitions state them (`analytics.kpis`): `results` is the
    `Dim.SATISFACTION` rollup (cases by the result fixed in the period), `callback_counts` the
    callback counts of `kpis.case_kpi_counts`."""
    rated = sum(results.values())
    satisfied = sum(results.get(s, 0) for s in SATISFIED)
    return {
        "rated": rated,
        "satisfied": satisfied,
        "satisfaction_rate": kpis.rate(satisfied, rated),
        "callbacks_needed": callback_counts.get(kpis.CALLBACKS_NEEDED, 0),
        "callbacks_finished": callback_counts.get(kpis.CALLBACKS_FINISHED, 0),
        "callback_rate": kpis.callback_rate(callback_counts),
    }


def callback_counts(start: date, end: date, *, street_id: int | None = None) -> dict[str, int]:
    """The 回访率 counts over local days [start, end] (an indexed count of the case table)."""
    lo, hi = day_bounds(start, end)
    return kpis.case_kpi_counts(lo, hi, street_id=street_id)


def dashboard(period: Period, *, street: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Everything the leader dashboard draws for one period (and optionally one street)."""
    now = now or timezone.now()
    street_id, street_area = street_param(street)
    r = refs()
    link = CaseLink(period.start, period.end, street_area.code if street_area else None)
    dims = (Dim.TOTAL, Dim.STATUS, Dim.CHANNEL, Dim.TYPE, Dim.CATEGORY, Dim.COMMUNITY, Dim.EVENT, Dim.SATISFACTION)
    g = period.granularity
    answers = read([  # one round trip for every rollup figure of the page
        Spec("cur", period.start, period.end, dims, street_id),
        Spec("cmp", period.compare_start, period.compare_end, (Dim.TOTAL, Dim.EVENT), street_id),
        Spec("streets", period.start, period.end, (Dim.TOTAL,), street_id, "street"),
        series_spec("trend", period.start, period.end, g, street_id),
        series_spec("trend_cmp", period.compare_start, period.compare_end, g, street_id),
    ])
    c, compare = answers["cur"], answers["cmp"]
    created = c[Dim.TOTAL].get("", 0)
    created_before = compare[Dim.TOTAL].get("", 0)
    notes = list(period.notes)

    # trend lines: this period and the one it is compared with, aligned point by point
    current = series_from(answers["trend"], period.start, period.end, g)
    before = series_from(answers["trend_cmp"], period.compare_start, period.compare_end, g)
    if period.granularity == "hour" and period.end == period.today:
        hour_now = timezone.localtime(now).hour  # the hours still to come are not zeros
        current = [(label, n if i <= hour_now else None) for i, (label, n) in enumerate(current)]
    trend_links = []
    for label, _ in current:
        if period.granularity == "day":
            d = date.fromisoformat(label)
            trend_links.append(CaseLink(d, d, link.base.get("street")).href())
        elif period.granularity == "month":
            m = date.fromisoformat(label + "-01")
            lo, hi = max(m, period.start), min(shift_month(m, 1) - timedelta(days=1), period.end)
            trend_links.append(CaseLink(lo, hi, link.base.get("street")).href())
        else:
            trend_links.append(link.href())

    def items(counter: Counter, label_of, link_of, *, limit: int | None = None, drop_zero: bool = True) -> list[dict]:
        rows = [(k, v) for k, v in counter.items() if v or not drop_zero]
        rows.sort(key=lambda kv: (-kv[1], str(kv[0])))
        if limit:
            rows = rows[:limit]
        out = []
        for key, value in rows:
            url, exact = link_of(key)
            out.append({"key": key, "name": label_of(key), "value": value, "link": url, "exact": exact})
        return out

    channel_labels = dict(Channel.choices)
    type_labels = dict(CaseType.choices)
    status_labels = dict(Status.choices)

    def cat_of(key: str):
        return r.categories.get(int(key)) if key and key.isdigit() else None

    top_level: Counter = Counter()
    top_names: dict[str, str] = {}
    for key, n in c[Dim.CATEGORY].items():
        cat = cat_of(key)
        code = cat.top_code if cat else ""
        top_level[code] += n
        top_names[code] = cat.top_name if cat else "未分类"

    def cat_link(key: str):
        cat = cat_of(key)
        return link.url(category_path=cat.path) if cat else link.url()

    communities = Counter()
    for key, n in c[Dim.COMMUNITY].items():
        communities[key] += n

    def comm_label(key: str) -> str:
        area = r.communities.get(int(key)) if key.isdigit() else None
        return area.name if area else "未定位"

    def comm_link(key: str):
        area = r.communities.get(int(key)) if key.isdigit() else None
        if area is None:
            return link.url()
        street_code = r.streets[area.street_id].code if area.street_id in r.streets else None
        return link.url(street=street_code, community=area.code)

    by_street_counts = answers["streets"][Dim.TOTAL]
    streets = Counter()
    for (sid, _key), n in by_street_counts.items():
        streets[sid] += n
    if street_id is None:
        for sid in r.streets:
            streets.setdefault(sid, 0)

    def street_label(sid: int) -> str:
        return r.streets[sid].name if sid in r.streets else "未定位"

    def street_link(sid: int):
        return link.url(street=r.streets[sid].code) if sid in r.streets else link.url()

    sla = sla_mix(now, street_id=street_id)
    sla_link = CaseLink(street=street_area.code if street_area else None)
    sla_items = [
        {"key": "green", "name": "正常", "value": sla["green"], "link": sla_link.href(period=False, sla=SlaLevel.GREEN), "exact": True},
        {"key": "yellow", "name": "即将超期", "value": sla["yellow"], "link": sla_link.href(period=False, sla=SlaLevel.YELLOW), "exact": True},
        {"key": "red", "name": "已超期", "value": sla["red"], "link": sla_link.href(period=False, sla=SlaLevel.RED), "exact": True},
    ]
    if sla["other"]:
        sla_items.append({"key": "other", "name": "计时暂停/无时限", "value": sla["other"],
                          "link": sla_link.href(period=False, status="open"), "exact": False})

    sat = c[Dim.SATISFACTION]
    satisfaction = satisfaction_figures(sat, callback_counts(period.start, min(period.end, period.today), street_id=street_id))
    ev = c[Dim.EVENT]
    ev_before = compare[Dim.EVENT]
    status_counter = Counter({k: v for k, v in c[Dim.STATUS].items() if v})
    open_created = sum(v for k, v in status_counter.items() if k in OPEN_STATUSES)
    sessions = bigscreen_sessions(period.start, period.end)

    if created == 0 and not period.in_future:
        notes.append(f"{street_area.name if street_area else '全区'}在所选时段没有上报案件。")

    return {
        "generated_at": timezone.localtime(now).isoformat(timespec="seconds"),
        "period": period.as_dict(),
        "street": {"code": street_area.code, "name": street_area.name} if street_area else None,
        "notes": notes,
        "empty": created == 0,
        "list_link": link.href(),
        "kpis": {
            "created": created,
            "created_compare": created_before,
            "created_change_pct": _pct_change(created, created_before),
            "open_of_created": open_created,
            "registered": ev.get(EV_REGISTER, 0),
            "dispatched": ev.get(EV_DISPATCH, 0),
            "dispatched_compare": ev_before.get(EV_DISPATCH, 0),
            "closed": ev.get(EV_CLOSE, 0),
            "closed_compare": ev_before.get(EV_CLOSE, 0),
            "returned": ev.get(EV_RETURN, 0),
            "misdispatched": ev.get(EV_MISDISPATCH, 0),
            "reopened": ev.get(EV_REOPEN, 0),
            "dispatch_accuracy": _rate(ev.get(EV_DISPATCH, 0) - ev.get(EV_MISDISPATCH, 0), ev.get(EV_DISPATCH, 0)),
            "open_now": sla["total"],
            "overdue_now": sla["red"],
            # cases with a satisfaction result fixed in the period (each case once), kept under
            # its old name for API clients; 满意率 and 回访率 as `analytics.kpis` defines them
            "callbacks": satisfaction["rated"],
            "rated": satisfaction["rated"],
            "satisfied": satisfaction["satisfied"],
            "satisfaction_rate": satisfaction["satisfaction_rate"],
            "callbacks_needed": satisfaction["callbacks_needed"],
            "callbacks_finished": satisfaction["callbacks_finished"],
            "callback_rate": satisfaction["callback_rate"],
            "bigscreen_sessions": sessions["sessions"],
            "bigscreen_sessions_per_day": sessions["per_day"],
        },
        "kpi_links": {
            "created": link.href(),
            "open_of_created": link.href(status="open"),
            "open_now": sla_link.href(period=False, status="open"),
            "overdue_now": sla_link.href(period=False, overdue="1"),
        },
        "trend": {
            "granularity": period.granularity,
            "labels": [label for label, _ in current],
            "current": [n for _, n in current],
            "compare": [n for _, n in before][: len(current)],
            "compare_labels": [label for label, _ in before][: len(current)],
            "compare_name": period.compare_label,
            "links": trend_links,
        },
        "by_channel": items(c[Dim.CHANNEL], lambda k: channel_labels.get(k, k), lambda k: link.url(channel=k)),
        "by_type": items(c[Dim.TYPE], lambda k: type_labels.get(k, k), lambda k: link.url(case_type=k)),
        "by_category": items(top_level, lambda k: f"{top_names.get(k, k)}" if k else "未分类",
                             lambda k: link.url(category_path=(k,)) if k else link.url()),
        "top_categories": items(c[Dim.CATEGORY], lambda k: cat_of(k).name if cat_of(k) else "未分类", cat_link, limit=10),
        "by_street": items(streets, street_label, street_link, drop_zero=False),
        "by_community": items(communities, comm_label, comm_link, limit=20),
        "status_mix": items(status_counter, lambda k: status_labels.get(k, k), lambda k: link.url(status=k)),
        "sla_mix": sla_items,
        "overdue": overdue_cases(now, street_id=street_id, limit=12),
        "overdue_link": sla_link.href(period=False, overdue="1"),
        "satisfaction": [
            {"key": s, "name": label, "value": sat.get(s, 0), "link": link.href(status=Status.CLOSED), "exact": False}
            for s, label in Satisfaction.choices
        ],
    }


# ---------------------------------------------------------------- the map


def map_values(period: Period, *, level: str = "street", metric: str = "count", now: datetime | None = None,
               street: str | None = None) -> dict[str, Any]:
    """One value per street / community / grid, for colouring the map (zeros included)."""
    if level not in LEVELS:
        raise StatsInputError(f"未知的图层“{level}”，可选：street、community、grid。", "level")
    if metric not in METRICS:
        raise StatsInputError(f"未知的指标“{metric}”，可选：count、density、overdue、open。", "metric")
    now = now or timezone.now()
    street_id, street_area = street_param(street)
    r = refs()
    areas = r.level(level)  # every area is listed, so that the map draws them all; outside the street: value None
    values: Counter = Counter()
    if metric in ("count", "density"):
        if level == "street":
            for (sid, _k), n in counts(period.start, period.end, [Dim.TOTAL], street_id=street_id, by_street=True)[Dim.TOTAL].items():
                values[sid] += n
        else:
            dim = Dim.COMMUNITY if level == "community" else Dim.GRID
            for key, n in counts(period.start, period.end, [dim], street_id=street_id)[dim].items():
                if key.isdigit():
                    values[int(key)] += n
    else:
        field = {"street": "street_id", "community": "community_id", "grid": "grid_id"}[level]

        def grouped() -> dict[int, int]:
            qs = _open(street_id)
            if metric == "overdue":
                qs = qs.filter(overdue_q(now, running=SNAPSHOT_RUNNING))
            return {row[field]: row["n"] for row in qs.order_by().values(field).annotate(n=Count("paused"))}

        values.update(snapshot(f"map:{metric}:{level}:{street_id}", grouped))
    # One link template for every area (a few thousand grids would otherwise carry a few
    # thousand URLs): the client fills in {street} and {code}.
    grid_filter = {"grid": "AREACODE"} if level == "grid" else {}
    if metric in ("overdue", "open"):
        extra = {"overdue": "1"} if metric == "overdue" else {"status": "open"}
        template, exact = CaseLink(street="STREETCODE").url(period=False, **extra, **grid_filter)
    else:
        template, exact = CaseLink(period.start, period.end, "STREETCODE").url(**grid_filter)
    template = template.replace("STREETCODE", "{street}").replace("AREACODE", "{code}")
    items = []
    for aid, area in areas.items():
        street_code = r.streets[area.street_id].code if area.street_id in r.streets else ""
        if street_id is not None and area.street_id != street_id:
            items.append({"code": area.code, "value": None, "count": None, "street": street_code})
            continue
        count = values.get(aid, 0)
        value: float = count
        if metric == "density":
            value = round(count / area.area_km2, 1) if area.area_km2 else 0.0
        item = {"code": area.code, "value": value, "count": count, "street": street_code}
        if area.name != area.code:
            item["name"] = area.name
        items.append(item)
    items.sort(key=lambda i: i["code"])
    top = sorted((i for i in items if i["value"] is not None), key=lambda i: -i["value"])[:10]
    total = sum(i["count"] for i in items if i["count"])
    notes = list(period.notes)
    if total == 0:
        notes.append("所选时段和范围内没有案件。" if metric in ("count", "density") else
                     ("当前没有超期未办结的案件。" if metric == "overdue" else "当前没有未办结的案件。"))
    return {
        "level": level, "metric": metric, "metric_label": METRICS[metric],
        "period": period.as_dict(), "street": street_area.code if street_area else None,
        "link_template": template, "link_exact": exact,
        "total": total, "max": max([i["value"] for i in items if i["value"] is not None], default=0),
        "items": items, "top": top, "notes": notes,
    }


WIDE_BBOX_DEG = 0.04  # wider views cluster by community, narrower ones by grid


def map_points(*, bbox: str | None = None, only: str = "open", now: datetime | None = None, limit: int = 600) -> dict[str, Any]:
    """Open cases inside `bbox` ("minlon,minlat,maxlon,maxlat"): the cases themselves when there
    are at most `limit`, otherwise clusters (per unit grid, or per community in wide views) with
    their counts, placed at the mean position of their cases.

    One grouped query answers both the count and the clusters (a covering index on grid_id
    lets PostgreSQL aggregate from the index alone); the cases are read only when few."""
    now = now or timezone.now()
    qs = OpenCase.objects.filter(lon__isnull=False, lat__isnull=False)
    if only == "overdue":
        qs = qs.filter(overdue_q(now, running=SNAPSHOT_RUNNING))
    elif only != "open":
        raise StatsInputError("only 参数可选：open（未办结）、overdue（已超期）。", "only")
    box = None
    if bbox:
        try:
            box = [float(v) for v in bbox.split(",")]
            if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[0] >= box[2] or box[1] >= box[3]:
                raise ValueError
        except ValueError:
            raise StatsInputError("bbox 格式应为 最小经度,最小纬度,最大经度,最大纬度。", "bbox") from None
        qs = qs.filter(lon__range=(box[0], box[2]), lat__range=(box[1], box[3]))
    overdue_now = overdue_q(now, running=SNAPSHOT_RUNNING)

    def grouped() -> list[dict]:
        return list(
            qs.order_by().values("grid_id")
            .annotate(n=Count("paused"), lon=Avg("lon"), lat=Avg("lat"), overdue=Count("deadline", filter=overdue_now))
        )

    # the whole district (the first view of every map) is a shared snapshot; zoomed views are bounded by their box
    groups = grouped() if box else snapshot(f"points:{only}", grouped)
    total = sum(g["n"] for g in groups)
    if total > limit:
        wide = box is None or (box[2] - box[0]) > WIDE_BBOX_DEG
        grids = refs().grids
        merged: dict[Any, dict] = {}
        for g in groups:
            area = grids.get(g["grid_id"])
            key = (area.community_id if wide else area.id) if area else ("cell", round(g["lon"], 2), round(g["lat"], 2))
            m = merged.setdefault(key, {"n": 0, "x": 0.0, "y": 0.0, "overdue": 0})
            m["n"] += g["n"]
            m["x"] += g["lon"] * g["n"]
            m["y"] += g["lat"] * g["n"]
            m["overdue"] += g["overdue"]
        clusters = [
            {"lon": round(m["x"] / m["n"], 6), "lat": round(m["y"] / m["n"], 6), "count": m["n"], "overdue": m["overdue"]}
            for m in merged.values()
        ]
        return {"mode": "clusters", "level": "community" if wide else "grid", "total": total, "clusters": clusters, "points": []}
    points = []
    for row in qs.values("number", "lon", "lat", "status", "deadline", "warn_at", "paused", "sla_level"):
        level = row["sla_level"] if row["paused"] else level_at(now, row["deadline"], row["warn_at"])
        points.append({"number": row["number"], "lon": round(row["lon"], 6), "lat": round(row["lat"], 6),
                       "status": Status(row["status"]).label, "sla": level or SlaLevel.NONE, "link": f"/cases/{row['number']}/"})
    return {"mode": "points", "total": total, "clusters": [], "points": points}


# ---------------------------------------------------------------- the big screen


def latest_cases(*, limit: int = 14, after: int = 0) -> list[dict]:
    """The newest cases for the live ticker (index on created_at); `new` marks those after id `after`."""
    rows = Case.objects.select_related("category", "street", "community").order_by("-created_at", "-id")[:limit]
    out = []
    for case in rows:
        out.append({
            "id": case.pk, "number": case.number,
            "time": timezone.localtime(case.created_at).strftime("%H:%M:%S"),
            "date": timezone.localtime(case.created_at).strftime("%m-%d"),
            "channel": Channel(case.channel).label if case.channel in Channel.values else case.channel,
            "category": case.category.name if case.category else "待分类",
            "place": " ".join(p for p in ((case.street.display_name if case.street else ""),
                                           (case.community.display_name if case.community else "")) if p) or "未定位",
            "title": case_title(case, 30),
            "status": Status(case.status).label,
            "lon": case.lon, "lat": case.lat,
            "new": bool(after) and case.pk > after,
            "link": f"/cases/{case.number}/",
        })
    return out


def bigscreen(*, now: datetime | None = None, after: int = 0) -> dict[str, Any]:
    """The big screen's whole state; polled every few seconds, so it reads only rollups and indexes."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    last_week = today - timedelta(days=7)
    r = refs()
    answers = read([
        Spec("today", today, today, (Dim.TOTAL, Dim.EVENT, Dim.SATISFACTION, Dim.HOUR)),
        Spec("before", last_week, last_week, (Dim.HOUR,)),
        Spec("streets", today, today, (Dim.TOTAL,), None, "street"),
    ])
    c, before = answers["today"], answers["before"][Dim.HOUR]
    hour_now = timezone.localtime(now).hour
    created = c[Dim.TOTAL].get("", 0)
    # same weekday last week, up to the same hour: a fair "so far" comparison
    created_before = sum(n for h, n in before.items() if h.isdigit() and int(h) <= hour_now)
    by_street = answers["streets"][Dim.TOTAL]
    streets = Counter(dict.fromkeys(r.streets, 0))
    for (sid, _k), n in by_street.items():
        streets[sid] += n
    sla = sla_mix(now)
    satisfaction = satisfaction_figures(c[Dim.SATISFACTION], callback_counts(today, today))
    ticker = latest_cases(after=after)
    latest_id = max([row["id"] for row in ticker], default=after)
    return {
        "now": timezone.localtime(now).isoformat(timespec="seconds"),
        "clock": timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S"),
        "today": {
            "created": created,
            "created_last_week_same_time": created_before,
            "created_change_pct": _pct_change(created, created_before),
            "registered": c[Dim.EVENT].get(EV_REGISTER, 0),
            "dispatched": c[Dim.EVENT].get(EV_DISPATCH, 0),
            "closed": c[Dim.EVENT].get(EV_CLOSE, 0),
            "callbacks": satisfaction["rated"],
            "satisfaction_rate": satisfaction["satisfaction_rate"],
            "callback_rate": satisfaction["callback_rate"],
        },
        "open": {"total": sla["total"], "green": sla["green"], "yellow": sla["yellow"], "red": sla["red"], "other": sla["other"]},
        "hourly": {
            "labels": [f"{h:02d}" for h in range(24)],
            "today": [c[Dim.HOUR].get(str(h), 0) if h <= hour_now else None for h in range(24)],
            "last_week": [before.get(str(h), 0) for h in range(24)],
        },
        "streets": [{"code": r.streets[sid].code, "name": r.streets[sid].name, "value": n}
                    for sid, n in sorted(streets.items(), key=lambda kv: -kv[1]) if sid in r.streets],
        "ticker": ticker,
        "latest_id": latest_id,
        "new_count": sum(1 for row in ticker if row["new"]),
        "alarms": overdue_cases(now, limit=8, recent_first=True),
        "targets": targets_panel(now=now),
    }


# ---------------------------------------------------------------- targets and platform metrics


def bigscreen_sessions(start: date, end: date) -> dict[str, Any]:
    """Big-screen openings in [start, end] (local days) and their average per day."""
    lo, hi = day_bounds(start, end)
    n = BigScreenSession.objects.filter(started_at__gte=lo, started_at__lt=hi).count()
    days = (end - start).days + 1
    return {"sessions": n, "days": days, "per_day": round(n / days, 2) if days > 0 else None}


def platform_metrics(start: date, end: date) -> dict[str, float | int | None]:
    """Live values of the platform metrics the center's targets name (performance_targets.yaml
    `metric`), over local days [start, end]; None when there is nothing to measure yet."""
    days = (end - start).days + 1
    answers = read([
        Spec("period", start, end, (Dim.EVENT, Dim.SATISFACTION)),
        Spec("year", date(end.year, 1, 1), end, (Dim.CHANNEL,)),
    ])
    ev, sat = answers["period"][Dim.EVENT], answers["period"][Dim.SATISFACTION]
    dispatched = ev.get(EV_DISPATCH, 0)
    city = answers["year"][Dim.CHANNEL].get(Channel.CITY_PLATFORM, 0)
    return {
        "dispatched_cases_per_day": round(dispatched / days, 1) if days > 0 else None,
        "dispatch_accuracy": _rate(dispatched - ev.get(EV_MISDISPATCH, 0), dispatched),
        "satisfaction_rate": satisfaction_figures(sat, {})["satisfaction_rate"],
        "big_screen_sessions_per_day": bigscreen_sessions(start, end)["per_day"],
        "city_hotline_cases_dispatched": city,  # this year so far (cases from the city 12345 platform)
    }


# The center's own targets that the platform can measure (copied from the 2024 budget's
# 绩效目标). Used when the assessment app does not (yet) provide `targets_status`.
FALLBACK_TARGETS = [
    {"name": "平均每日转派工单数", "metric": "dispatched_cases_per_day", "op": ">=", "target": 50, "unit": "件"},
    {"name": "工单转办、派发准确率", "metric": "dispatch_accuracy", "op": ">=", "target": 98, "unit": "%"},
    {"name": "群众满意度", "metric": "satisfaction_rate", "op": ">=", "target": 95, "unit": "%"},
    {"name": "转办12345案件数量 (本年)", "metric": "city_hotline_cases_dispatched", "op": ">=", "target": 18000, "unit": "条"},
    {"name": "平均每天使用大屏巡查调度", "metric": "big_screen_sessions_per_day", "op": ">=", "target": 1, "unit": "次"},
]
TARGET_WINDOW_DAYS = 30
TARGETS_CACHE_SECONDS = 300  # yearly figures: five minutes is fresh enough


def _met(actual: float | None, op: str, target: float) -> bool | None:
    if actual is None:
        return None
    return {">=": actual >= target, ">": actual > target, "<=": actual <= target, "<": actual < target, "=": actual == target}.get(op)


def _own_targets(now: datetime) -> list[dict]:
    today = timezone.localdate(now)
    start = today - timedelta(days=TARGET_WINDOW_DAYS - 1)
    values = platform_metrics(start, today)
    year_fraction = (today.timetuple().tm_yday) / (366 if today.year % 4 == 0 else 365)
    out = []
    for t in FALLBACK_TARGETS:
        actual = values.get(t["metric"])
        row = {**t, "actual": actual, "met": _met(actual, t["op"], t["target"]), "source": "analytics",
               "basis": f"近{TARGET_WINDOW_DAYS}天" if t["metric"] != "city_hotline_cases_dispatched" else "本年累计"}
        if t["metric"] == "city_hotline_cases_dispatched" and actual is not None:
            row["progress"] = round(actual * 100.0 / t["target"], 1)
            row["met"] = actual >= t["target"] * year_fraction  # on track for the year
        out.append(row)
    return out


def _assessment_targets_status():
    """The declared `targets_status(start, end)` hook (the assessment app's plugin), or None."""
    from cityops.common import plugins

    found = plugins.hooks("targets_status")
    return found[0] if found else None


def _from_assessment(now: datetime) -> list[dict] | None:
    """The assessment app's live targets for this year so far (a loose adapter), or None."""
    targets_status = _assessment_targets_status()
    if targets_status is None:
        return None
    today = timezone.localdate(now)
    try:
        try:
            rows = targets_status(date(today.year, 1, 1), today, cache_seconds=TARGETS_CACHE_SECONDS)
        except TypeError:
            rows = targets_status(date(today.year, 1, 1), today)
    except Exception:
        return None

    def get(obj, *names):
        for name in names:
            value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
            if value is not None:
                return value
        return None

    out = []
    for row in rows or []:
        source = get(row, "source")
        actual = get(row, "actual", "actual_value", "live_value", "value")
        if actual is None or (source is not None and source != "live"):
            continue  # the big screen shows the targets the platform measures itself
        target = get(row, "target", "target_value")
        out.append({
            "name": get(row, "name", "label") or "",
            "metric": get(row, "metric") or "",
            "op": get(row, "op") or ">=",
            "target": float(target) if isinstance(target, int | float | Decimal) else target,
            "unit": get(row, "unit") or "",
            "actual": float(actual) if isinstance(actual, int | float | Decimal) else actual,
            "met": get(row, "met", "achieved", "ok"),
            "progress": float(p) if isinstance(p := get(row, "progress", "progress_pct"), int | float | Decimal) else None,
            "basis": "本年累计" if get(row, "period") == "year" else "本年日均" if get(row, "metric", "") in (
                "dispatched_cases_per_day", "big_screen_sessions_per_day", "video_assisted_cases_per_day") else "本年",
            "source": "assessment",
        })
    return out or None


def targets_panel(*, now: datetime | None = None) -> list[dict]:
    """The center's targets with their live values (assessment's if present, else our own), cached a minute."""
    now = now or timezone.now()
    key = f"analytics:targets:{timezone.localdate(now).isoformat()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = _from_assessment(now) or _own_targets(now)
    for row in rows:
        if isinstance(row.get("actual"), float):
            row["actual"] = round(row["actual"], 1)
    cache.set(key, rows, TARGETS_CACHE_SECONDS)
    return rows


def bigscreen_sessions_per_day(start: date, end: date) -> float | None:
    """For the assessment app: the "big_screen_sessions_per_day" metric of performance_targets.yaml."""
    return bigscreen_sessions(start, end)["per_day"]


def days_with_data() -> tuple[date | None, date | None]:
    agg = DailyCount.objects.filter(dim=Dim.TOTAL, street_id=ALL_STREETS, n__gt=0).aggregate(first=Min("day"), last=Max("day"))
    return agg["first"], agg["last"]


__all__ = [
    "PeriodError", "StatsInputError", "bigscreen", "counts", "dashboard", "map_points", "map_values",
    "platform_metrics", "series", "sla_mix", "targets_panel",
]
