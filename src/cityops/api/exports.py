"""Exports of the case list over the API: the filters of `GET /api/v1/cases`, streamed as
CSV, XLSX or GeoJSON (see `cityops.intake.exports`). Scope, masking and the audit record
are the same as for the download buttons of the case list page (masked unless
`reveal_personal_data=true` from a role that may see personal data)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from cityops.api.errors import ApiError
from cityops.api.schemas import ErrorOut
from cityops.cases.selectors import CaseFilters
from cityops.intake.exports import ExportNotAllowed, case_export

router = Router(tags=["数据导出"])


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    GEOJSON = "geojson"


class ExportQuery(Schema):
    format: ExportFormat = Field(ExportFormat.CSV, description="csv（UTF-8 带 BOM）、xlsx 或 geojson")
    status: list[str] | None = Field(None, description="状态，可逗号分隔或重复传参")
    channel: str | None = None
    category: str | None = Field(None, description="分类编码（大类包含其小类）")
    department: str | None = Field(None, description="部门编码")
    street: str | None = Field(None, description="街道区划代码")
    grid: str | None = Field(None, description="网格编码")
    created_from: date | None = None
    created_to: date | None = None
    overdue: bool | None = None
    sla: str | None = Field(None, description="green / yellow / red")
    q: str | None = Field(None, max_length=100, description="编号、描述、地址关键字")
    reveal_personal_data: bool = Field(
        False, description="true：反映人姓名电话及描述、地址中的个人信息不脱敏（仅限可查看个人信息的角色，记入审计）",
    )


_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}},
    "application/geo+json": {"schema": {"type": "object"}},
}


@router.get(
    "/cases", response={400: ErrorOut, 401: ErrorOut, 403: ErrorOut}, summary="导出案件列表",
    openapi_extra={"responses": {"200": {"description": "文件流（响应头 X-Total-Count 为行数）", "content": _CONTENT}}},
)
def export_cases(request: HttpRequest, query: Query[ExportQuery]):
    """Streams every case the caller may see that matches the filters. Personal data (names,
    phones, and phones/ID numbers/cards/e-mails typed into the texts) is masked unless
    `reveal_personal_data=true` is asked by a role that may see it (403 otherwise), which is
    recorded as a reveal. Recorded in the audit trail."""
    statuses = [s.strip() for raw in (query.status or []) for s in raw.split(",") if s.strip()]
    filters = CaseFilters(
        status=statuses or None, channel=query.channel or None, category=query.category or None,
        department=query.department or None, street=query.street or None, grid=query.grid or None,
        created_from=query.created_from, created_to=query.created_to, overdue=query.overdue,
        sla=query.sla or None, q=query.q or None,
    )
    try:
        return case_export(user=request.auth, filters=filters, fmt=query.format.value, request=request, via="api",
                           reveal=query.reveal_personal_data)
    except ExportNotAllowed as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
