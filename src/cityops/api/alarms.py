"""Video / IoT alarms: `POST /api/v1/intake/alarm`.

An alarm names its device and event type; the type is mapped to a 小类 (AlarmTypeMapping),
the location is the alarm's own or the device's registered one. Alarms of the same device
and type that keep coming while their case is open, each within the window of the one
before (30 minutes by default), return that case instead of opening another.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import AnyHttpUrl

from cityops.api.bodies import inline_refs, read_json, summary, validate
from cityops.api.cases import ROLE_CHANNELS
from cityops.api.errors import ApiError
from cityops.api.intake import create_external_case, existing_case, with_notes
from cityops.api.mapping import alarm_mapping
from cityops.api.models import Device, IntakeRecord
from cityops.api.schemas import ErrorOut
from cityops.cases.errors import NotAllowed
from cityops.cases.models import Channel, CoordSystem
from cityops.cases.services import CaseInput
from cityops.cases.states import OPEN_STATUSES
from cityops.catalog.models import CaseType, Urgency

router = Router(tags=["接入"])

MAX_BODY_BYTES = 64 * 1024


def dedupe_window() -> timedelta:
    return timedelta(minutes=float(getattr(settings, "CITYOPS_ALARM_DEDUPE_MINUTES", 30)))


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
    allowed = {c for role, channels in ROLE_CHANNELS if user.has_role(role) for c in channels}
    if Channel.IOT not in allowed:
        raise NotAllowed("该账号不能使用视频/物联感知渠道。")


def _out(case, result: str, repeat_count: int, message: str) -> dict:
    return {"result": result, "case": case.number, "status": case.status,
            "category": case.category.code if case.category_id else None, "repeat_count": repeat_count, "message": message}


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
    source = api_key.name if api_key is not None else "视频/物联感知"
    now = timezone.now()
    external_id = f"{alarm.device_id}:{alarm.event_id}" if alarm.event_id else ""
    if len(external_id) > 64:
        raise ApiError(400, "validation_error", "设备编号与报警编号合计不能超过 63 个字符。", {"event_id": "too_long"})

    with transaction.atomic():
        device, _ = Device.objects.get_or_create(code=alarm.device_id, defaults={"name": alarm.device_id, "verified": False})
        # One alarm of a device at a time: the row lock makes the de-duplication check safe.
        device = Device.objects.select_for_update().get(pk=device.pk)
        if not device.active:
            raise ApiError(400, "device_disabled", f"设备 {device.code} 已停用，报警不予接收。", {"device_id": "disabled"})
        found = existing_case(Channel.IOT, external_id)
        if found is not None:
            repeats = IntakeRecord.objects.filter(case=found).values_list("repeat_count", flat=True).first() or 0
            return Status(200, _out(found, "existing", repeats, "该报警已接收，返回已有案件。"))
        window_start = now - dedupe_window()
        previous = (
            IntakeRecord.objects.select_related("case__category")
            .filter(channel=Channel.IOT, device_code=device.code, event_type=alarm.event_type,
                    last_seen_at__gte=window_start, case__status__in=OPEN_STATUSES)
            .order_by("-last_seen_at").first()
        )
        if previous is not None:
            IntakeRecord.objects.filter(pk=previous.pk).update(repeat_count=F("repeat_count") + 1, last_seen_at=now)
            return Status(200, _out(previous.case, "existing", previous.repeat_count + 1,
                                    "窗口期内的重复报警，已归入已有案件。"))

        mapping = alarm_mapping(alarm.event_type)
        category = mapping.category.code if mapping is not None and mapping.category_id else None
        label = (mapping.label if mapping is not None else "") or alarm.event_type
        lon, lat, coord_system, location_source = alarm.lon, alarm.lat, alarm.coord_system.value, "coordinates"
        if lon is None:
            if device.lon is not None and device.lat is not None:
                lon, lat, coord_system, location_source = device.lon, device.lat, device.coord_system, "device"
            else:
                raise ApiError(400, "validation_error", f"报警未带位置，设备 {device.code} 也没有登记位置。",
                               {"location": "请提供经纬度，或先在后台登记设备位置"})
        notes = []
        if category is None:
            notes.append(f"【报警类型（未映射）】{alarm.event_type}")
        if alarm.snapshot_url:
            notes.append(f"【抓拍】{alarm.snapshot_url}")
        text = alarm.description.strip() or f"{device.name or device.code}（{device.code}）报警：{label}"
        data = CaseInput(
            description=with_notes(text, notes), channel=Channel.IOT, case_type=CaseType.COMPLAINT,
            title=f"{label}（{device.code}）"[:120], lon=lon, lat=lat, coord_system=coord_system,
            address=alarm.address or device.address, category=category,
            urgency=Urgency.URGENT if mapping is not None and mapping.urgent else None,
            external_id=external_id, require_location=True,
        )
        record = {
            "payload": alarm.model_dump(mode="json"), "original_category": alarm.event_type[:200],
            "original_address": alarm.address[:200], "category_mapped": category is not None,
            "location_source": location_source, "media_url": str(alarm.snapshot_url or "")[:500],
            "device_code": device.code, "event_type": alarm.event_type, "last_seen_at": now,
        }
        case, created = create_external_case(data=data, actor=user, api_key=api_key, source=source, record=record)
    if not created:
        return Status(200, _out(case, "existing", 0, "该报警已接收，返回已有案件。"))
    return Status(201, _out(case, "created", 0, "已创建案件。"))
