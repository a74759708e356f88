"""Assessment data endpoints under /api/v1/stats/assessment: indicator definitions, monthly
rankings and the center's performance targets. Leaders and dispatchers only.

API key or bearer token like the rest of the API, or the signed-in session (the pages' own scripts).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from cityops.api import auth
from cityops.api.errors import ApiError
from cityops.api.keys import api_key_auth
from cityops.api.schemas import ErrorOut, documented_choices
from cityops.assessment.access import can_read_assessment
from cityops.assessment.indicators import GRADES, Kind, indicators_for
from cityops.assessment.scoring import scheme_for
from cityops.assessment.selectors import assessment_ranking, targets_status

MAX_RANGE_DAYS = 366
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}

router = Router(tags=["统计：考核与绩效目标"], auth=[api_key_auth, auth.bearer, auth.session])


def _reader(request: HttpRequest):
    user = request.auth
    if not can_read_assessment(user):
        raise ApiError(403, "forbidden", "考核数据仅对指挥长/领导和派遣员/值班长开放。")
    return user


def _kind(raw: str) -> Kind:
    try:
        return Kind(raw)
    except ValueError:
        raise ApiError(400, "invalid_kind", f"考核对象无效，可用：{'、'.join(f'{k.value}（{k.label}）' for k in Kind)}。") from None


class IndicatorOut(Schema):
    code: str
    name: str
    formula: str
    unit: str = Field(..., description="% 或 件")
    better: str = Field(..., description="higher 越高越好 / lower 越低越好")
    scored: bool
    weight: int
    numerator: str
    denominator: str | None


class GradeOut(Schema):
    grade: str
    label: str
    min_score: int


class IndicatorsOut(Schema):
    kind: str
    kind_label: str
    indicators: list[IndicatorOut]
    grades: list[GradeOut]
    weights_custom: bool
    composite: str


class FigureOut(Schema):
    code: str
    value: float | None = Field(..., description="比率为百分数（一位小数），计数为件数；无数据为 null")
    numerator: int
    denominator: int | None


class RowOut(Schema):
    id: int
    name: str
    rank: int | None
    score: float | None
    grade: str | None
    previous_score: float | None
    previous_rank: int | None
    change: float | None = Field(..., description="较上月综合得分的变化")
    missing: list[str] = Field(..., description="无数据、未计入综合得分的指标")
    figures: list[FigureOut]
    counts: dict[str, int]


class RankingOut(Schema):
    kind: str
    kind_label: str
    month: str
    period_start: date
    period_end: date
    cutoff: str
    closed: bool
    source: str = Field(..., description="snapshot 月度快照 / live 实时计算")
    previous_month: str
    message: str
    indicators: list[IndicatorOut]
    rows: list[RowOut]


KIND_DOC = {"description": "考核对象：department 处置部门 / street 街道 / inspector 网格员 / operator 受理员 / dispatcher 派遣员",
            "json_schema_extra": {"enum": list(Kind.values)}}


class RankingQuery(Schema):
    kind: str = Field(Kind.DEPARTMENT.value, **KIND_DOC)
    # The pattern is documentation (an OpenAPI `example` is one value, not a list); a bad month is our own 400.
    month: str | None = Field(None, description="YYYY-MM，默认本月；不能是未来的月份",
                              json_schema_extra={"example": "2026-11", "pattern": r"^\s*\d{4}-\d{1,2}\s*$"})


class TargetOut(Schema):
    code: str
    name: str
    value: float | None
    unit: str
    op: str
    target: float | str | None
    target_label: str
    met: bool | None
    metric: str
    weight: float | None
    level1: str
    level2: str
    project: str
    group: str
    period: str
    source: str = Field(..., description="live 平台实时 / manual 人工填报 / none 待填报")
    progress: float | None
    detail: str
    note: str


class TargetsQuery(Schema):
    start: date | None = Field(None, description="开始日期，默认本年 1 月 1 日")
    end: date | None = Field(None, description="结束日期（含），默认今天")


def _f(value: Any) -> float | None:
    return float(value) if value is not None else None


def _indicators(kind: Kind, weights: dict[str, int]) -> list[dict]:
    return [
        {"code": i.code, "name": i.name, "formula": i.formula, "unit": i.unit, "better": i.better, "scored": i.scored,
         "weight": weights.get(i.code, 0), "numerator": i.numerator, "denominator": i.denominator}
        for i in indicators_for(kind)
    ]


@router.get("/indicators", response={200: IndicatorsOut, **ERRORS}, summary="考核指标定义与权重")
def indicators(request: HttpRequest, kind: documented_choices(Kind.values, default=Kind.DEPARTMENT.value) = Kind.DEPARTMENT.value):
    _reader(request)
    kind_ = _kind(kind)
    scheme = scheme_for(kind_)
    return {
        "kind": kind_.value, "kind_label": kind_.label, "indicators": _indicators(kind_, scheme.weights),
        "grades": [{"grade": g, "label": label, "min_score": floor} for floor, g, label in GRADES],
        "weights_custom": scheme.custom,
        "composite": "综合得分 = Σ(指标得分 × 权重) ÷ Σ权重；越低越好的指标得分 = 100 − 指标值；无数据的指标不计入。",
    }


@router.get("/ranking", response={200: RankingOut, **ERRORS}, summary="月度考核排名（含环比）")
def ranking(request: HttpRequest, query: Query[RankingQuery]):
    _reader(request)
    kind = _kind(query.kind)
    result = assessment_ranking(kind, query.month)
    if result.period is None:
        raise ApiError(400, "invalid_period", result.message)
    return {
        "kind": kind.value, "kind_label": kind.label, "month": result.period.month_key,
        "period_start": result.period.first_day, "period_end": result.period.last_day,
        "cutoff": timezone.localtime(result.period.cutoff).isoformat(), "closed": result.period.closed,
        "source": result.source, "previous_month": result.previous.month_key, "message": result.message,
        "indicators": _indicators(kind, result.scheme.weights),
        "rows": [
            {
                "id": row.subject.id, "name": row.subject.name, "rank": row.rank, "score": _f(row.score), "grade": row.grade,
                "previous_score": _f(row.prev_score), "previous_rank": row.prev_rank, "change": _f(row.change),
                "missing": row.missing, "counts": row.counts,
                "figures": [
                    {"code": f.indicator.code, "value": _f(f.value), "numerator": f.numerator, "denominator": f.denominator}
                    for f in row.figures
                ],
            }
            for row in result.rows
        ],
    }


@router.get("/targets", response={200: list[TargetOut], **ERRORS}, summary="中心绩效目标完成情况")
def targets(request: HttpRequest, query: Query[TargetsQuery]):
    _reader(request)
    today = timezone.localdate()
    start = query.start or today.replace(month=1, day=1)
    end = query.end or today
    if end < start:
        raise ApiError(400, "invalid_period", "结束日期不能早于开始日期。")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ApiError(400, "invalid_period", f"时间范围最长 {MAX_RANGE_DAYS} 天（绩效目标按年度考核）。")
    out = []
    for status in targets_status(start, end):
        row = status.as_dict()
        row["target"] = status.target if isinstance(status.target, str) else _f(status.target)
        out.append(row)
    return out
