"""Request and response shapes of the v1 API (they are also the OpenAPI documentation)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AliasChoices, WithJsonSchema

from cityops.cases.models import Channel, CoordSystem
from cityops.catalog.models import CaseType, CategorySystem, Urgency

MAX_PAGE_SIZE = 100
# Paging deeper than 10,000 pages is an export's job; the bound also keeps the offset a database integer.
MAX_PAGE = 10_000
# Row ids and counters the client sends back: at most what a 32-bit database integer holds.
MAX_INT = 2_147_483_647
MAX_ID = 9_223_372_036_854_775_807


def documented_choices(values: Iterable[str], *, default: str | None = None) -> Any:
    """A string parameter whose choices the OpenAPI document lists while the handler keeps
    checking them itself (with its own error code and a Chinese message naming the choices)."""
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    if default is not None:
        schema["default"] = default
    return Annotated[str, WithJsonSchema(schema)]


class ErrorOut(Schema):
    code: str = Field(..., examples=["validation_error"])
    message: str = Field(..., examples=["请填写问题描述。"])
    details: Any = None


# ---------------------------------------------------------------- auth


class TokenIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=256)
    name: str = Field("", max_length=64, description="令牌用途说明（可选）")
    otp: str = Field("", max_length=8, description="6 位动态口令：账号已绑定动态口令或角色要求双因素认证时必填")


class TokenOut(Schema):
    token: str = Field(..., description="放在请求头 `Authorization: Bearer <token>` 中使用；只显示这一次")
    token_type: str = "Bearer"
    expires_at: datetime


# ---------------------------------------------------------------- reference data


class CodeName(Schema):
    code: str
    name: str


class CategoryOut(Schema):
    code: str
    name: str
    system: str
    kind: str
    parent: str | None = Field(None, description="上级分类编码")
    level: int
    is_leaf: bool


class DepartmentOut(Schema):
    code: str
    name: str
    short_name: str
    kind: str
    kind_label: str


# ---------------------------------------------------------------- cases


class CaseIn(Schema):
    type: CaseType = Field(
        CaseType.COMPLAINT,
        validation_alias=AliasChoices("type", "case_type"),
        description="工单类型：consult 咨询, help 求助, complaint 投诉, report 举报, suggest 建议, praise 表扬",
    )
    description: str = Field(..., max_length=4000, description="问题描述")
    title: str = Field("", max_length=120)
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False, description="经度")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False, description="纬度")
    coord_system: CoordSystem = Field(CoordSystem.WGS84, description="坐标系：wgs84（GPS，默认）或 gcj02（高德/腾讯）")
    address: str = Field("", max_length=200)
    category: str | None = Field(None, max_length=16, description="分类编码（小类），可选")
    urgency: Urgency | None = None
    reporter_name: str = Field("", max_length=64)
    reporter_phone: str = Field("", max_length=32)
    no_callback: bool = Field(False, description="反映人不需要回访：办结后不进入回访队列")
    channel: Channel | None = Field(None, description="来源渠道；默认按角色：外部系统 api，受理员 hotline，网格员 inspector")
    external_id: str = Field("", max_length=64, description="来源系统中的编号；同一渠道内重复会被拒绝")


class ActionIn(Schema):
    """Fields of every action; each action reads the ones it needs."""

    note: str | None = Field(None, max_length=4000, description="说明（各操作通用）")
    department: str | None = Field(None, description="dispatch：处置部门编码")
    reason: str | None = Field(
        None, description="return：not_our_duty, wrong_location, insufficient_info, other；退单说明写在 note（必填）"
    )
    suggested_department: str | None = Field(None, description="return：建议的处置部门编码（可选）")
    value: float | str | None = Field(None, description="request_extension / approve_extension：延期时长")
    unit: str | None = Field(None, description="延期时长单位：work_hour, work_day, hour, day")
    result: str | None = Field(None, max_length=4000, description="respond：处置结果")
    passed: bool | None = Field(None, description="verify：核查是否通过")
    satisfaction: str | None = Field(
        None, description="callback / correct_satisfaction：satisfied, basically_satisfied, unsatisfied。"
        "未接通用 callback_attempt；更正（领导）须在 note 中写明理由；不满意复核用 review（note 必填）或 reopen（重办，note 必填）",
    )
    reopen: bool | None = Field(None, description="已停用：回访不再直接重办，不满意的案件由派遣员在复核中 reopen")
    master: str | None = Field(None, description="merge：主案件编号")
    category: str | None = Field(None, description="register：分类编码")
    urgency: str | None = Field(None, description="register：normal / urgent")
    case_type: str | None = Field(None, validation_alias=AliasChoices("type", "case_type"), description="register：工单类型")
    answer: str | None = Field(None, max_length=4000, description="answer：答复内容")
    version: int | None = Field(None, ge=1, le=MAX_INT, description="读取时的版本号；案件已被他人更新时返回 409 conflict")


class CaseOut(Schema):
    number: str
    status: str
    status_label: str
    channel: str
    channel_label: str
    case_type: str
    case_type_label: str
    category: CodeName | None
    urgency: str
    title: str
    description: str
    lon: float | None
    lat: float | None
    address: str
    grid: str | None = Field(None, description="单元网格编码")
    community: CodeName | None
    street: CodeName | None
    department: CodeName | None
    reporter_name: str
    reporter_phone: str
    reporter_masked: bool = Field(..., description="反映人信息是否已脱敏")
    stage: str
    deadline: datetime | None
    handle_deadline: datetime | None
    sla_level: str = Field(..., description="none / green / yellow / red")
    extension_pending: bool
    return_pending: bool = Field(False, description="退单待派遣员审核（审核前部门不能办理）")
    return_request: dict[str, Any] | None = Field(
        None, description="最近的退单：reason, note, suggested_department, requested_at, department"
    )
    supervised: bool
    urge_count: int
    master: str | None = Field(None, description="合并到的主案件编号")
    result: str
    answer: str
    satisfaction: str = Field(..., description="案件的满意度结果（首次回访或市民评价确定，仅领导可更正）")
    satisfaction_source: str = Field("", description="callback / citizen")
    satisfaction_at: datetime | None = None
    citizen_satisfaction: str = Field("", description="市民本人的评价，工作人员回访不会覆盖")
    callback_status: str = Field("", description="not_needed / pending / done / unreachable；未结案时为空")
    callback_attempts: int = 0
    review_status: str = Field("", description="不满意复核：pending / reviewed / reopened")
    created_at: datetime
    registered_at: datetime | None
    dispatched_at: datetime | None
    responded_at: datetime | None
    closed_at: datetime | None
    version: int
    available_actions: list[str]


class CasePage(Schema):
    count: int = Field(description="匹配的案件数；超过 10,000 时为 10,000 且 count_capped 为 true（请缩小筛选范围或使用导出）")
    count_capped: bool = False
    page: int
    page_size: int
    results: list[CaseOut]


class CaseQuery(Schema):
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
    page: int = Field(1, ge=1, le=MAX_PAGE, description="页码；更多数据请用导出（/api/v1/exports/cases）")
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class EventOut(Schema):
    action: str
    action_label: str
    from_status: str
    to_status: str
    actor: str
    department: str | None
    note: str
    payload: dict[str, Any]
    created_at: datetime


class CategoryQuery(Schema):
    system: CategorySystem | None = None
    leaf: bool | None = Field(None, description="true：只返回小类（可用于案件的分类）")
