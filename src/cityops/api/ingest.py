"""City 12345 platform ingest (市级派件): `POST /api/v1/intake/city`.

One order (a JSON object) or a batch (a JSON array, or `{"orders": [...]}`, at most
1,000). The city's order number is the case's external id on the `city_platform`
channel, so a retried order returns the case it already created. Each order of a batch
is validated and written on its own transaction: a rejected order never blocks the others,
and an order the database could not take (unreachable, or busy past its timeout) is
answered `failed` in its place while the orders before and after it keep their results, so
the platform knows exactly which orders to send again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import AliasChoices, ConfigDict

from cityops.api.bodies import inline_refs, read_json, summary, validate
from cityops.api.errors import ApiError
from cityops.api.schemas import ErrorOut
from cityops.cases.errors import NotAllowed, ValidationFailed
from cityops.cases.models import Channel, CoordSystem
from cityops.cases.services import channels_for
from cityops.catalog.models import CaseType
from cityops.intake.channels import CASE_TYPE_WORDS, URGENCY_WORDS, CityOrder, city_order_receive
from cityops.intake.mapping import Mappings

log = logging.getLogger(__name__)
router = Router(tags=["接入"])

MAX_BATCH = 1000


def max_body_bytes() -> int:
    return settings.CITYOPS_INGEST_MAX_BYTES


class CityOrderIn(Schema):
    """One order of the city platform. Unknown fields are kept in the intake record."""

    model_config = ConfigDict(extra="allow")

    order_no: str = Field(..., min_length=1, max_length=64, validation_alias=AliasChoices("order_no", "external_id"),
                          description="市平台工单编号（幂等键）")
    description: str = Field(..., min_length=1, max_length=4000, validation_alias=AliasChoices("description", "content"),
                             description="诉求内容")
    title: str = Field("", max_length=120)
    category: str = Field("", max_length=200, validation_alias=AliasChoices("category", "category_text"),
                          description="市平台诉求分类文字，如“城乡建设/市容环卫/垃圾清运”，按映射表转为本区小类")
    category_code: str = Field("", max_length=16, description="本区小类编码（市平台已按本区编码分类时）")
    case_type: str = Field("", max_length=16, validation_alias=AliasChoices("case_type", "type"),
                           description="工单类型：consult/help/complaint/report/suggest/praise 或 咨询/求助/投诉/举报/建议/表扬")
    urgency: str = Field("", max_length=8, description="normal/urgent 或 一般/紧急")
    address: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    coord_system: CoordSystem = Field(CoordSystem.WGS84, description="wgs84（默认）或 gcj02")
    reporter_name: str = Field("", max_length=64)
    reporter_phone: str = Field("", max_length=32)
    received_at: datetime | None = Field(None, description="市平台受理时间")
    city_deadline: datetime | None = Field(None, description="市平台要求的办结时限")


class CityItemOut(Schema):
    index: int
    order_no: str | None
    result: str = Field(..., description="created / existing / rejected / failed（数据库暂时不可用，未保存，请重发该件）")
    case: str | None = Field(None, description="案件编号")
    status: str | None = None
    category: str | None = Field(None, description="映射后的本区小类编码；空表示待人工分类")
    located: bool | None = None
    code: str | None = Field(None, description="rejected 时的错误代码")
    message: str = ""
    errors: dict[str, str] | None = None


class CityBatchOut(Schema):
    created: int
    existing: int
    rejected: int
    failed: int = Field(0, description="数据库暂时不可用而未保存的件数（可原样重发，不会重复建案）")
    results: list[CityItemOut]


# Every name an order's field may be sent under; anything else is an unknown field, kept.
KNOWN_FIELDS = frozenset(
    name for key, field in CityOrderIn.model_fields.items()
    for name in (key, *(getattr(field.validation_alias, "choices", None) or ()))
)
MAX_EXTRA_BYTES = 64 * 1024
_ORDER_SCHEMA = inline_refs(CityOrderIn.model_json_schema())
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "oneOf": [
                _ORDER_SCHEMA,
                {"type": "array", "maxItems": MAX_BATCH, "items": _ORDER_SCHEMA},
                {"type": "object", "required": ["orders"],
                 "properties": {"orders": {"type": "array", "maxItems": MAX_BATCH, "items": _ORDER_SCHEMA}}},
            ],
        }}},
    },
}


def _check_caller(user) -> None:
    if not user.has_perm("cases.add_case"):
        raise NotAllowed("该账号无权上报案件。")
    if user.is_superuser:
        return
    if Channel.CITY_PLATFORM not in channels_for(user):
        raise NotAllowed("该账号不能使用市级12345平台渠道。")


def unknown_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The fields of an order we do not read, kept as sent in the intake record's `payload.extra`
    (ninja's schemas drop them on validation); True as second value when they are too big to keep."""
    extra = {key: value for key, value in raw.items() if key not in KNOWN_FIELDS}
    return extra, len(json.dumps(extra, ensure_ascii=False).encode("utf-8")) > MAX_EXTRA_BYTES


def _rejected(index: int, order_no: str | None, code: str, message: str, errors: dict[str, str] | None) -> dict[str, Any]:
    return {"index": index, "order_no": order_no or None, "result": "rejected", "code": code, "message": message,
            "errors": errors}


def _parse(index: int, raw: Any) -> CityOrder | dict[str, Any]:
    """The order as the intake service takes it, or this item's rejection."""
    order_no = str(raw.get("order_no") or raw.get("external_id") or "")[:64] if isinstance(raw, dict) else None
    order, errors = validate(CityOrderIn, raw)
    if errors:
        return _rejected(index, order_no, "validation_error", f"请求参数不正确（{summary(errors)}）。", errors)
    order_no = order.order_no.strip()
    extra, too_big = unknown_fields(raw)
    if too_big:
        return _rejected(index, order_no, "validation_error", f"未知字段合计过大（上限 {MAX_EXTRA_BYTES // 1024} KB）。",
                         {"extra": "too_large"})
    case_type, urgency, bad = _words(order)
    if not order_no:
        bad["order_no"] = "必填"
    if bad:
        return _rejected(index, order_no, "validation_error", f"请求参数不正确（{summary(bad)}）。", bad)
    return CityOrder(
        order_no=order_no, description=order.description, case_type=case_type, urgency=urgency, title=order.title,
        category_text=order.category, category_code=order.category_code, address=order.address, lon=order.lon,
        lat=order.lat, coord_system=order.coord_system.value, reporter_name=order.reporter_name,
        reporter_phone=order.reporter_phone, payload={**order.model_dump(mode="json", by_alias=False), "extra": extra},
    )


def _words(order: CityOrderIn) -> tuple[str, str | None, dict[str, str]]:
    """The case type and urgency from the words the city uses, and what could not be read."""
    case_type = CASE_TYPE_WORDS.get(order.case_type.strip(), None) if order.case_type.strip() else CaseType.COMPLAINT
    urgency = URGENCY_WORDS.get(order.urgency.strip()) if order.urgency.strip() else None
    bad = {}
    if case_type is None:
        bad["case_type"] = "取值无效，可选：" + "、".join(f"{v}({label})" for v, label in CaseType.choices)
    if order.urgency.strip() and urgency is None:
        bad["urgency"] = "取值无效，可选：normal(一般)、urgent(紧急)"
    return case_type or "", urgency, bad


def _item(index: int, raw: Any, *, user, api_key, source: str, maps: Mappings) -> dict[str, Any]:
    order = _parse(index, raw)
    if isinstance(order, dict):
        return order
    try:
        case, created = city_order_receive(order, actor=user, api_key=api_key, source=source, maps=maps)
    except ValidationFailed as exc:
        return _rejected(index, order.order_no, exc.code, exc.message,
                         {k: str(v) for k, v in (exc.details or {}).items()} or None)
    return {
        "index": index, "order_no": order.order_no, "result": "created" if created else "existing", "case": case.number,
        "status": case.status, "category": case.category.code if case.category_id else None,
        "located": case.lon is not None, "message": "已创建案件。" if created else "该工单已接收，返回已有案件。",
    }


@router.post(
    "/city", response={200: CityItemOut | CityBatchOut, 201: CityItemOut, 400: ErrorOut, 401: ErrorOut,
                       403: ErrorOut, 413: ErrorOut, 415: ErrorOut},
    summary="市级12345平台派件（单件或批量）", openapi_extra=_BODY_DOC,
)
def city_intake(request: HttpRequest):
    """单件：JSON 对象，新建返回 201，已接收过的工单返回 200 和原案件；校验失败返回 400。
    批量：JSON 数组或 `{"orders": [...]}`（≤1000 件），返回 200，逐件给出 created / existing / rejected 及原因。"""
    user = request.auth
    _check_caller(user)
    body = read_json(request, max_bytes=max_body_bytes())
    api_key = getattr(request, "api_key", None)
    source = api_key.name if api_key is not None else "市级12345平台"
    batch = body if isinstance(body, list) else body.get("orders") if isinstance(body, dict) and "orders" in body else None
    if batch is None:
        if not isinstance(body, dict):
            raise ApiError(400, "validation_error", "请求体须为工单对象、工单数组或 {\"orders\": [...]}。", {"body": "须为 JSON 对象或数组"})
        maps = Mappings.load()
        result = _item(0, body, user=user, api_key=api_key, source=source, maps=maps)
        if result["result"] == "rejected":
            raise ApiError(400, result["code"], result["message"], result["errors"])
        return Status(201 if result["result"] == "created" else 200, result)
    if not isinstance(batch, list):
        raise ApiError(400, "validation_error", "orders 须为数组。", {"orders": "须为列表"})
    if not batch:
        raise ApiError(400, "validation_error", "批量工单为空。", {"orders": "至少一件"})
    if len(batch) > MAX_BATCH:
        raise ApiError(413, "batch_too_large", f"一次最多提交 {MAX_BATCH} 件，收到 {len(batch)} 件。",
                       {"max_items": MAX_BATCH, "items": len(batch)})
    maps = Mappings.load()
    results = [_batch_item(i, raw, user=user, api_key=api_key, source=source, maps=maps) for i, raw in enumerate(batch)]
    counts = {kind: sum(1 for r in results if r["result"] == kind) for kind in ("created", "existing", "rejected", "failed")}
    return Status(200, {**counts, "results": results})


def _batch_item(index: int, raw: Any, **kwargs) -> dict[str, Any]:
    """One order of a batch. The orders before it are committed whatever happens here, so a
    database failure becomes this order's result, never the whole answer's (a bare 503 would
    leave the platform guessing which orders were saved)."""
    try:
        return _item(index, raw, **kwargs)
    except (OperationalError, InterfaceError) as exc:
        log.warning("city order %s of a batch not saved: %s", index, str(exc).strip()[:200])
        order_no = str(raw.get("order_no") or raw.get("external_id") or "")[:64] if isinstance(raw, dict) else ""
        return {"index": index, "order_no": order_no or None, "result": "failed", "code": "service_unavailable",
                "message": "数据库暂时不可用，该工单未保存，请稍后重发（不会重复建案）。"}
