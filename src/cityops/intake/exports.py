"""Exports of filtered case lists (数据导出): XLSX, CSV (UTF-8 with BOM, for Excel) and GeoJSON.

Everything streams: the query runs with `.values_list(...).iterator(chunk_size=…)` (a
server-side cursor on PostgreSQL) and each format is produced row by row into a
`StreamingHttpResponse`, so a 1,000,000-case export never holds the list in memory.

Rules: the rows are exactly `cases.selectors.case_list(user=…, filters=…)` — the user's
scope and the filters of the case list page. Personal data is masked by default for everyone:
reporters' names and phones, and phones, ID-card numbers, bank cards and e-mails typed into
the title, description and address (`common.pii.mask_text`). Only a user whose role may see
personal data (`can_see_personal_data`) who asks for it explicitly (`reveal=True`) gets them
in clear, and that export is recorded as a reveal (查看个人信息) besides the export itself.
Every export is recorded in the audit trail (format, filters, row count, whether data was
masked) before the first byte is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from cityops.audit.models import AuditAction
from cityops.audit.services import audit_record
from cityops.cases import sla
from cityops.cases.models import Channel, SlaLevel
from cityops.cases.permissions import can_see_personal_data
from cityops.cases.selectors import CaseFilters, case_list
from cityops.cases.services import mask_name, mask_phone
from cityops.cases.states import CallbackStatus, Satisfaction, SatisfactionSource, Status
from cityops.catalog.models import CaseType, Urgency
from cityops.common.csvsafe import csv_writer
from cityops.common.pii import mask_text
from cityops.intake.columns import EXPORT_COLUMNS
from cityops.intake.xlsx import stream_xlsx

CHUNK_SIZE = 2000
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
}

# Database columns, in the order `_rows` reads them.
_FIELDS = (
    "number", "status", "external_id", "channel", "case_type", "category__code", "urgency", "title", "description",
    "address", "lon", "lat", "reporter_name", "reporter_phone", "created_at",
    "category__name", "street__name", "community__name", "grid__code", "department__name",
    "sla_level", "deadline", "registered_at", "dispatched_at", "responded_at", "closed_at", "satisfaction",
    "clock_paused_at", "warn_at",
    # the fields 满意率 and 回访率 count (`analytics.kpis`), so an export adds up to the same figures
    "satisfaction_at", "satisfaction_source", "citizen_satisfaction", "callback_status",
)
_STATUS = dict(Status.choices)
_CHANNEL = dict(Channel.choices)
_CASE_TYPE = dict(CaseType.choices)
_URGENCY = dict(Urgency.choices)
_SLA = dict(SlaLevel.choices)
_SATISFACTION = dict(Satisfaction.choices)
_SATISFACTION_SOURCE = dict(SatisfactionSource.choices)
_CALLBACK_STATUS = dict(CallbackStatus.choices)


class ExportNotAllowed(Exception):
    pass


class RevealNotAllowed(ExportNotAllowed):
    """A clear (unmasked) export asked for by a role that may not see personal data."""


def can_export(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.has_perm("cases.view_case")))


def _sla_now(deadline, warn_at, paused, stored: str, now: datetime) -> str:
    """The level the case pages show (`cases.sla.current_level`), without loading the case."""
    level = stored if paused else sla.level_at(now, deadline, warn_at)
    return "" if level == SlaLevel.NONE else _SLA.get(level, "")


def export_rows(qs, *, mask: bool, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """One dict per case, keyed by `columns.EXPORT_COLUMNS` keys; datetimes aware, enums as codes."""
    now = now or timezone.now()
    for (
        number, status, external_id, channel, case_type, category, urgency, title, description, address, lon, lat,
        name, phone, created_at, category_name, street, community, grid, department, sla_level, deadline,
        registered_at, dispatched_at, responded_at, closed_at, satisfaction, paused, warn_at,
        satisfaction_at, satisfaction_source, citizen_satisfaction, callback_status,
    ) in qs.values_list(*_FIELDS).iterator(chunk_size=CHUNK_SIZE):
        yield {
            "number": number, "status": status, "external_id": external_id, "channel": channel, "case_type": case_type,
            "category": category or "", "urgency": urgency,
            "title": mask_text(title) if mask else title, "description": mask_text(description) if mask else description,
            "address": mask_text(address) if mask else address,
            "lon": lon, "lat": lat, "coord_system": "WGS84" if lon is not None else "",
            "reporter_name": mask_name(name) if mask else name, "reporter_phone": mask_phone(phone) if mask else phone,
            "created_at": created_at, "category_name": category_name or "", "street": street or "",
            "community": community or "", "grid": grid or "", "department": department or "",
            "sla_level": _sla_now(deadline, warn_at, paused, sla_level, now), "deadline": deadline,
            "registered_at": registered_at, "dispatched_at": dispatched_at, "responded_at": responded_at,
            "closed_at": closed_at, "satisfaction": satisfaction, "satisfaction_at": satisfaction_at,
            "satisfaction_source": satisfaction_source, "citizen_satisfaction": citizen_satisfaction,
            "callback_status": callback_status,
        }


def _labelled(row: dict[str, Any]) -> dict[str, Any]:
    """Codes as the Chinese labels an office reads (and the importer accepts)."""
    row["status"] = _STATUS.get(row["status"], row["status"])
    row["channel"] = _CHANNEL.get(row["channel"], row["channel"])
    row["case_type"] = _CASE_TYPE.get(row["case_type"], row["case_type"])
    row["urgency"] = _URGENCY.get(row["urgency"], row["urgency"])
    row["satisfaction"] = _SATISFACTION.get(row["satisfaction"], row["satisfaction"])
    row["satisfaction_source"] = _SATISFACTION_SOURCE.get(row["satisfaction_source"], row["satisfaction_source"])
    row["citizen_satisfaction"] = _SATISFACTION.get(row["citizen_satisfaction"], row["citizen_satisfaction"])
    row["callback_status"] = _CALLBACK_STATUS.get(row["callback_status"], row["callback_status"])
    return row


_DATETIME_KEYS = ("created_at", "deadline", "registered_at", "dispatched_at", "responded_at", "closed_at", "satisfaction_at")


def _local_naive(value: datetime | None) -> datetime | None:
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value is not None else None


# ---------------------------------------------------------------- formats


def _xlsx(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    keys = [c.key for c in EXPORT_COLUMNS]

    def table() -> Iterator[list]:
        for row in rows:
            row = _labelled(row)
            for key in _DATETIME_KEYS:
                row[key] = _local_naive(row[key])
            yield [row[key] for key in keys]

    return stream_xlsx([c.header for c in EXPORT_COLUMNS], table(), sheet_name="案件", widths=[c.width for c in EXPORT_COLUMNS])


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    keys = [c.key for c in EXPORT_COLUMNS]
    writer = csv_writer()
    yield ("\ufeff" + writer.writerow([c.header for c in EXPORT_COLUMNS])).encode("utf-8")
    buffer: list[str] = []
    for row in rows:
        row = _labelled(row)
        for key in _DATETIME_KEYS:
            row[key] = _local_naive(row[key])
        buffer.append(writer.writerow([row[key] for key in keys]))
        if len(buffer) >= 500:
            yield "".join(buffer).encode("utf-8")
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode("utf-8")


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    return timezone.localtime(value).isoformat() if isinstance(value, datetime) else value.isoformat()


def _geojson(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """A FeatureCollection; properties use the API's codes plus *_label fields; cases without a
    location have a null geometry (RFC 7946 §3.2)."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    buffer: list[str] = []
    for row in rows:
        lon, lat = row.pop("lon"), row.pop("lat")
        row.pop("coord_system")
        for key in _DATETIME_KEYS:
            row[key] = _iso(row[key])
        row["status_label"] = _STATUS.get(row["status"], "")
        row["channel_label"] = _CHANNEL.get(row["channel"], "")
        row["case_type_label"] = _CASE_TYPE.get(row["case_type"], "")
        feature = {
            "type": "Feature", "id": row["number"],
            "geometry": {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None,
            "properties": row,
        }
        buffer.append(("" if first else ",") + json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
        first = False
        if len(buffer) >= 500:
            yield "".join(buffer).encode("utf-8")
            buffer.clear()
    buffer.append("]}")
    yield "".join(buffer).encode("utf-8")


_WRITERS = {"xlsx": _xlsx, "csv": _csv, "geojson": _geojson}


# ---------------------------------------------------------------- the service


def _filters_for_audit(filters: CaseFilters) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(filters).items() if v not in (None, "", [])}


def case_export(
    *, user, filters: CaseFilters, fmt: str, request=None, via: str = "web", reveal: bool = False,
) -> StreamingHttpResponse:
    """A streaming download of the cases `user` may see that match `filters`, personal data
    masked unless `reveal` is asked by a role that may see it.

    Raises ExportNotAllowed (no case permission), RevealNotAllowed (`reveal` without the
    personal-data permission), ValueError (unknown format) or cases.errors.ValidationFailed
    (bad filters) before anything is recorded or sent.
    """
    if not can_export(user):
        raise ExportNotAllowed("您的角色无权导出案件。")
    if reveal and not can_see_personal_data(user):
        raise RevealNotAllowed("您的角色不能导出反映人完整联系方式等个人信息，请导出脱敏版本。")
    if fmt not in _WRITERS:
        raise ValueError(fmt)
    now = timezone.now()
    qs = case_list(user=user, filters=filters, now=now)
    mask = not reveal
    count = qs.count()
    audit_filters = _filters_for_audit(filters)
    audit_record(
        action=AuditAction.EXPORT, actor=user, request=request, target=f"cases:{fmt}",
        details={"format": fmt, "via": via, "count": count, "masked": mask, "filters": audit_filters},
    )
    if reveal:
        # the same record as revealing one case's reporter (`cases.privacy.reporter_reveal`), for the whole list
        audit_record(
            action=AuditAction.VIEW_PERSONAL_DATA, actor=user, request=request, target=f"cases:{fmt}",
            details={"fields": ["reporter_name", "reporter_phone", "title", "description", "address"],
                     "via": f"export:{via}", "count": count, "filters": audit_filters},
        )
    response = StreamingHttpResponse(_WRITERS[fmt](export_rows(qs, mask=mask, now=now)), content_type=FORMATS[fmt])
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"  # may hold personal data
    response["X-Total-Count"] = str(count)
    return response
