"""Video / IoT alarms: `POST /api/v1/intake/alarm`, a thin handler: it checks the caller,
parses the body and answers; the intake service `intake.alarms.alarm_receive` maps the event
type, finds the location and de-duplicates repeated alarms.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import AnyHttpUrl

from cityops.api.bodies import inline_refs, read_json, summary, validate
from cityops.api.errors import ApiError
from cityops.api.schemas import ErrorOut
from cityops.cases.errors import NotAllowed
from cityops.cases.models import Channel, CoordSystem
from cityops.cases.services import channels_for
from cityops.intake.alarms import Alarm, AlarmReceipt, alarm_receive

router = Router(tags=["接入"])

MAX_BODY_BYTES = 64 * 1024


class AlarmIn(Schema):
    device_id: str = Field(..., min_length=1, max_length=64, pattern=r"^[\w.:/@+-]+$", description="设备编号")
    event_type: str = Field(..., min_length=1, max_length=64, pattern=r"^[\w.:/@+-]+$",
                            description="报警类型，如 garbage_overflow；按报警类型映射表转为本区小类")
    event_id: str = Field("", max_length=64, description="报警编号（可选）；同一编号重复推送只生成一件案件")
    occurred_at: datetime | None = Field(None, description="报警时间，默认为接收时间")
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False, description="经度；不填则用设备登记位置")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    coord_system: CoordSystem = Field(CoordSystem.WGS84)
    address: str = Field("", max_length=200)
    snapshot_url: AnyHttpUrl | None = Field(None, description="抓拍图片地址 (http/https)")
    description: str = Field("", max_length=2000, description="补充说明；不填则按设备和报警类型生成")


class AlarmOut(Schema):
    result: str = Field(..., description="created：新建案件；existing：重复报警，归入已有案件")
    case: str
    status: str
    category: str | None
    repeat_count: int = Field(0, description="该案件已归并的重复报警次数")
    message: str


_BODY_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": inline_refs(AlarmIn.model_json_schema())}}}}


def _check_caller(user) -> None:
    if not user.has_perm("cases.add_case"):
        raise NotAllowed("该账号无权上报案件。")
    if user.is_superuser:
        return
    if Channel.IOT not in channels_for(user):
        raise NotAllowed("该账号不能使用视频/物联感知渠道。")


def _out(receipt: AlarmReceipt) -> dict:
    case = receipt.case
    return {"result": "created" if receipt.created else "existing", "case": case.number, "status": case.status,
            "category": case.category.code if case.category_id else None, "repeat_count": receipt.repeat_count,
            "message": receipt.message}


@router.post("/alarm", response={200: AlarmOut, 201: AlarmOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut,
                                 413: ErrorOut, 415: ErrorOut},
             summary="视频/物联感知报警", openapi_extra=_BODY_DOC)
def alarm_intake(request: HttpRequest):
    """新建案件返回 201；同一设备、同一报警类型在窗口期内重复报警（案件仍在办理中）返回 200 和已有案件。"""
    user = request.auth
    _check_caller(user)
    alarm, errors = validate(AlarmIn, read_json(request, max_bytes=MAX_BODY_BYTES))
    if errors:
        raise ApiError(400, "validation_error", f"请求参数不正确（{summary(errors)}）。", errors)
    if (alarm.lon is None) != (alarm.lat is None):
        raise ApiError(400, "validation_error", "经度和纬度须同时提供。", {"location": "经度和纬度须同时提供"})
    api_key = getattr(request, "api_key", None)
    receipt = alarm_receive(
        Alarm(device_code=alarm.device_id, event_type=alarm.event_type, event_id=alarm.event_id, lon=alarm.lon,
              lat=alarm.lat, coord_system=alarm.coord_system.value, address=alarm.address,
              snapshot_url=str(alarm.snapshot_url or ""), description=alarm.description,
              payload=alarm.model_dump(mode="json")),
        actor=user, api_key=api_key, source=api_key.name if api_key is not None else "视频/物联感知",
    )
    return Status(201 if receipt.created else 200, _out(receipt))
