"""Routing endpoints: the router's proposal for a case, and a prediction for a free text.

For the command center's operators, dispatchers and leaders; thin over `cityops.routing.services`.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cityops.accounts import roles
from cityops.api.schemas import ErrorOut
from cityops.cases.errors import NotAllowed
from cityops.cases.selectors import case_get
from cityops.routing import services

router = Router(tags=["智能分拨"])

ROUTING_ROLES = (roles.OPERATOR, roles.DISPATCHER, roles.LEADER)
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class PredictIn(Schema):
    text: str = Field(..., max_length=50_000, description="标题与问题描述")


class CandidateOut(Schema):
    category: str = Field(..., description="分类编码（12345 一级分类）")
    name: str
    probability: float


class PredictOut(Schema):
    top3: list[CandidateOut]
    model_version: int | None = Field(None, description="启用的模型版本；无模型时为 null，top3 为空")
    threshold: float | None = Field(None, description="自动派遣阈值")
    confident: bool = Field(..., description="最高概率达到阈值且文本有效")
    low_quality_text: bool = Field(..., description="文本过短或无有效文字：不会自动派遣")


class DepartmentRef(Schema):
    code: str
    name: str


class ProposalOut(Schema):
    case: str
    top3: list[CandidateOut]
    model_version: int | None
    threshold: float | None
    confident: bool
    category: str | None = Field(None, description="用于匹配权责清单的分类编码")
    department: DepartmentRef | None = None
    co_handlers: list[DepartmentRef] = []
    rule: str = Field(..., description="适用的权责清单条目或兜底说明")
    source: str | None = Field(None, description="rule 权责清单 / territory 属地兜底 / center 中心兜底")
    agrees_with_category: bool | None = None
    auto_dispatch: bool = Field(..., description="按自动派遣策略现在是否会自动派遣")
    why_not_auto: str = ""
    notes: list[str] = []


def _check(user) -> None:
    if not (user.is_superuser or user.has_role(*ROUTING_ROLES)):
        raise NotAllowed("您的角色无权使用智能分拨。")


def _top3(candidates) -> list[dict]:
    return [{"category": c.code, "name": c.name, "probability": c.probability} for c in candidates]


@router.post("/predict", response={200: PredictOut, **ERRORS}, summary="预测文本的分类（Top-3）")
def predict(request: HttpRequest, payload: PredictIn):
    _check(request.auth)
    from cityops.routing.labels import category_names
    from cityops.routing.models import RoutingSettings
    from cityops.routing.registry import active_model

    model = active_model()
    prediction = services.predict(payload.text, model=model)
    names = category_names([code for code, _ in prediction.top3])
    threshold = model.threshold_for(RoutingSettings.load().target_precision) if model else None
    top = prediction.top
    return {
        "top3": [{"category": code, "name": names.get(code, code), "probability": round(p, 4)} for code, p in prediction.top3],
        "model_version": prediction.model_version,
        "threshold": threshold,
        "confident": bool(top and threshold is not None and not prediction.garbage and top[1] >= threshold),
        "low_quality_text": prediction.garbage,
    }


@router.get("/cases/{number}/proposal", response={200: ProposalOut, **ERRORS}, summary="案件的分拨建议")
def proposal(request: HttpRequest, number: str):
    _check(request.auth)
    case = case_get(user=request.auth, number=number)
    p = services.route(case)
    assignment = p.assignment
    return {
        "case": case.number,
        "top3": _top3(p.top3),
        "model_version": p.model_version,
        "threshold": p.threshold,
        "confident": p.confident,
        "category": p.category.code if p.category else None,
        "department": {"code": assignment.lead.code, "name": assignment.lead.name} if assignment else None,
        "co_handlers": [{"code": d.code, "name": d.name} for d in assignment.co_handlers] if assignment else [],
        "rule": p.rule,
        "source": str(assignment.source) if assignment else None,
        "agrees_with_category": p.agrees,
        "auto_dispatch": p.auto,
        "why_not_auto": p.why_not_auto,
        "notes": p.notes,
    }
