"""Statistics endpoints under /api/v1/stats/: the data behind the leader dashboard, the map and
the big screen, hot issues and anomaly alerts.

Readable by the center's roles (leader, dispatcher, operator) with a session (the pages), a
bearer token or an API key of a service account holding one of those roles. Every figure is read from the analytics rollups, never counted from the case
table per request, except 回访率 (an indexed count, `analytics.kpis`). Handlers only parse, call `cityops.analytics` selectors and return.
"""

from __future__ import annotations

import gzip

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from ninja import Field, Query, Router, Schema

from cityops.analytics import selectors
from cityops.analytics.anomalies import anomalies
from cityops.analytics.geojson import LAYERS, layer
from cityops.analytics.hotissues import hot_issues_latest
from cityops.analytics.periods import COMPARES, KINDS, PeriodError, parse_day, period_parse
from cityops.analytics.permissions import can_view_stats
from cityops.analytics.services import bigscreen_session_touch
from cityops.api import auth
from cityops.api.keys import api_key_auth
from cityops.api.schemas import MAX_ID, ErrorOut, documented_choices
from cityops.cases.errors import NotAllowed, ValidationFailed

router = Router(tags=["统计"], auth=[api_key_auth, auth.session, auth.bearer])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}


def _one_of(values, description: str):
    """The choices a handler checks itself (its 400 names them in Chinese), stated in the OpenAPI document."""
    return {"description": description, "json_schema_extra": {"enum": list(values)}}


class PeriodQuery(Schema):
    period: str | None = Field(None, **_one_of(KINDS, "时段：today 今日、week 本周、month 本月、custom 自定义"))
    start: str | None = Field(None, description="custom：开始日期 YYYY-MM-DD（也可用 from）")
    end: str | None = Field(None, description="custom：结束日期 YYYY-MM-DD（也可用 to）")
    compare: str | None = Field(None, **_one_of(COMPARES, "对比：week 上周同期、month 上月同期"))
    street: str | None = Field(None, description="街道区划代码（9 位）")


def _user(request: HttpRequest):
    user = request.auth
    if not can_view_stats(user):
        raise NotAllowed("您的角色无权查看统计数据。")
    return user


def _period(request: HttpRequest, q: PeriodQuery):
    try:
        return period_parse(q.period, q.start or request.GET.get("from"), q.end or request.GET.get("to"), q.compare)
    except PeriodError as exc:
        raise ValidationFailed(exc.message, {exc.field: "invalid"}) from None


def _guard(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except selectors.StatsInputError as exc:
        raise ValidationFailed(exc.message, {exc.field or "input": "invalid"}) from None


@router.get("/dashboard", response={200: dict, **ERRORS}, summary="态势看板数据（时段、街道）")
def dashboard(request: HttpRequest, q: Query[PeriodQuery]):
    """Volumes by channel, type, category, street and community; trend vs the same period last
    week/month; status and SLA mix; overdue cases; satisfaction. Each item has `link` to the case list."""
    _user(request)
    return _guard(selectors.dashboard, _period(request, q), street=q.street)


class MapQuery(PeriodQuery):
    level: str = Field("street", **_one_of(selectors.LEVELS, "着色层级"))
    metric: str = Field("count", **_one_of(selectors.METRICS, "指标：count 案件量、density 密度、overdue 超期、open 未办结"))


@router.get("/map", response={200: dict, **ERRORS}, summary="地图着色数据（街道/社区/网格）")
def map_values(request: HttpRequest, q: Query[MapQuery]):
    _user(request)
    return _guard(selectors.map_values, _period(request, q), level=q.level, metric=q.metric, street=q.street)


@router.get("/map/points", response={200: dict, **ERRORS}, summary="未办结案件点位（多时自动聚合）")
def map_points(request: HttpRequest, bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat"),
               only: documented_choices(("open", "overdue"), default="open") = "open"):
    """`bbox` = minlon,minlat,maxlon,maxlat (WGS-84); at most 600 points, otherwise clusters."""
    _user(request)
    return _guard(selectors.map_points, bbox=bbox, only=only)


@router.get("/map/layers/{level}", response={200: dict, **ERRORS}, summary="地图图层 GeoJSON")
def map_layer(request: HttpRequest, level: documented_choices(LAYERS)):
    _user(request)
    if level not in LAYERS:
        raise ValidationFailed(f"未知的图层“{level}”，可选：{'、'.join(LAYERS)}。", {"level": "invalid"})
    body, etag = layer(level)
    quoted = f'"{etag}"'
    if quoted in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    elif "gzip" in request.headers.get("Accept-Encoding", "") and len(body) > 50_000:
        response = HttpResponse(gzip.compress(body, 5), content_type="application/geo+json; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body, content_type="application/geo+json; charset=utf-8")
    response["ETag"] = quoted
    response["Cache-Control"] = "private, max-age=600"
    response["Vary"] = "Accept-Encoding, Cookie, Authorization"
    return response


@router.get("/bigscreen", response={200: dict, **ERRORS}, summary="大屏数据（每 5 秒轮询）")
def bigscreen(request: HttpRequest, after: int = Query(0, ge=0, le=MAX_ID, description="只把编号（id）大于它的案件列入 new"),
              session: int | None = Query(None, ge=1, le=MAX_ID, description="大屏会话编号")):
    """Today's figures, the newest cases (`new` for those after case id `after`), open cases by
    SLA level, fresh overdue alarms and the center's targets. `session` keeps the opening alive."""
    user = _user(request)
    bigscreen_session_touch(session_id=session, user=user)
    return selectors.bigscreen(after=after)


@router.get("/hot-issues", response={200: dict, **ERRORS}, summary="热点诉求（相似案件聚类）")
def hot_issues(request: HttpRequest):
    _user(request)
    return hot_issues_latest()


@router.get("/anomalies", response={200: dict, **ERRORS}, summary="异常升高告警（同星期几基线）")
def anomaly_alerts(request: HttpRequest, day: str | None = None):
    _user(request)
    try:
        when = parse_day(day, "day")
    except PeriodError as exc:
        raise ValidationFailed(exc.message, {"day": "invalid"}) from None
    return anomalies(day=when)


@router.get("/targets", response={200: list[dict], **ERRORS}, summary="中心绩效目标的实时值")
def targets(request: HttpRequest):
    _user(request)
    return selectors.targets_panel()
