"""Video / IoT alarms (`POST /api/v1/intake/alarm` is its thin handler in `api/alarms.py`).

An alarm names its device and event type; the type is mapped to a 小类 (AlarmTypeMapping),
the location is the alarm's own or the device's registered one. Alarms of the same device
and type that keep coming while their case is open, each within the window of the one
before (30 minutes by default), return that case instead of opening another. One alarm of a
device at a time: the device's row is locked while its alarm is decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Model
from django.utils import timezone

from cityops.cases.errors import ValidationFailed
from cityops.cases.models import Case, Channel, CoordSystem
from cityops.cases.services import CaseInput
from cityops.cases.states import OPEN_STATUSES
from cityops.catalog.models import CaseType, Urgency
from cityops.intake.channels import create_external_case, existing_case, with_notes
from cityops.intake.mapping import alarm_mapping
from cityops.intake.models import AlarmTypeMapping, Device, IntakeRecord

MAX_EXTERNAL_ID = 64


class DeviceDisabled(ValidationFailed):
    code = "device_disabled"


def dedupe_window() -> timedelta:
    return timedelta(minutes=settings.CITYOPS_ALARM_DEDUPE_MINUTES)


@dataclass(frozen=True)
class Alarm:
    """One alarm as the device platform sent it, validated (`api/alarms.py`)."""

    device_code: str
    event_type: str
    event_id: str = ""
    lon: float | None = None
    lat: float | None = None
    coord_system: str = CoordSystem.WGS84.value
    address: str = ""
    snapshot_url: str = ""
    description: str = ""
    payload: dict[str, Any] = field(default_factory=dict)  # kept (masked) in the intake record

    @property
    def external_id(self) -> str:
        """`<device>:<event id>`: the same event pushed again returns its case."""
        return f"{self.device_code}:{self.event_id}" if self.event_id else ""


@dataclass(frozen=True)
class AlarmReceipt:
    case: Case
    created: bool
    repeat_count: int
    message: str


def alarm_receive(alarm: Alarm, *, actor, api_key: Model | None, source: str,
                  now: datetime | None = None) -> AlarmReceipt:
    """The case of an alarm: a new one, the one its event id already made, or the open case of
    the same device and type within the window (its repeat count goes up).

    ValidationFailed (nothing written) when the external id is too long or neither the alarm
    nor its device has a location; DeviceDisabled when the device is switched off."""
    now = now or timezone.now()
    if len(alarm.external_id) > MAX_EXTERNAL_ID:
        raise ValidationFailed("设备编号与报警编号合计不能超过 63 个字符。", {"event_id": "too_long"})
    with transaction.atomic():
        device = _locked_device(alarm.device_code)
        if not device.active:
            raise DeviceDisabled(f"设备 {device.code} 已停用，报警不予接收。", {"device_id": "disabled"})
        repeat = _repeat_of(alarm, device, now)
        if repeat is not None:
            return repeat
        case, created = _alarm_case(alarm, device, now, actor=actor, api_key=api_key, source=source)
    if not created:
        return AlarmReceipt(case, False, 0, "该报警已接收，返回已有案件。")
    return AlarmReceipt(case, True, 0, "已创建案件。")


def _locked_device(code: str) -> Device:
    """The device (added unverified the first time it raises an alarm), its row locked."""
    device, _ = Device.objects.get_or_create(code=code, defaults={"name": code, "verified": False})
    return Device.objects.select_for_update().get(pk=device.pk)


def _repeat_of(alarm: Alarm, device: Device, now: datetime) -> AlarmReceipt | None:
    """The case this alarm repeats: its event id's, or the same device and type's open case
    within the window (counted as one more repeat)."""
    found = existing_case(Channel.IOT, alarm.external_id)
    if found is not None:
        repeats = IntakeRecord.objects.filter(case=found).values_list("repeat_count", flat=True).first() or 0
        return AlarmReceipt(found, False, repeats, "该报警已接收，返回已有案件。")
    previous = (
        IntakeRecord.objects.select_related("case__category")
        .filter(channel=Channel.IOT, device_code=device.code, event_type=alarm.event_type,
                last_seen_at__gte=now - dedupe_window(), case__status__in=OPEN_STATUSES)
        .order_by("-last_seen_at").first()
    )
    if previous is None:
        return None
    IntakeRecord.objects.filter(pk=previous.pk).update(repeat_count=F("repeat_count") + 1, last_seen_at=now)
    return AlarmReceipt(previous.case, False, previous.repeat_count + 1, "窗口期内的重复报警，已归入已有案件。")


def _alarm_place(alarm: Alarm, device: Device) -> tuple[float, float, str, str]:
    """(lon, lat, coordinate system, location source): the alarm's point, else the device's."""
    if alarm.lon is not None and alarm.lat is not None:
        return alarm.lon, alarm.lat, alarm.coord_system, "coordinates"
    if device.lon is not None and device.lat is not None:
        return device.lon, device.lat, device.coord_system, "device"
    raise ValidationFailed(f"报警未带位置，设备 {device.code} 也没有登记位置。",
                           {"location": "请提供经纬度，或先在后台登记设备位置"})


def _alarm_case(alarm: Alarm, device: Device, now: datetime, *, actor, api_key: Model | None,
                source: str) -> tuple[Case, bool]:
    mapping: AlarmTypeMapping | None = alarm_mapping(alarm.event_type)
    category = mapping.category.code if mapping is not None and mapping.category_id else None
    label = (mapping.label if mapping is not None else "") or alarm.event_type
    lon, lat, coord_system, location_source = _alarm_place(alarm, device)
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
        external_id=alarm.external_id, require_location=True,
    )
    record = {
        "payload": alarm.payload, "original_category": alarm.event_type[:200],
        "original_address": alarm.address[:200], "category_mapped": category is not None,
        "location_source": location_source, "media_url": alarm.snapshot_url[:500],
        "device_code": device.code, "event_type": alarm.event_type, "last_seen_at": now,
    }
    return create_external_case(data=data, actor=actor, api_key=api_key, source=source, record=record)
