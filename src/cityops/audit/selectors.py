"""Reads of the audit trail for the audit administrator's page and its CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.services import verify_chain
from cityops.common.csvsafe import csv_cell

CHAIN_STATUS_KEY = "audit:chain-status"
CHAIN_STATUS_TTL = 600  # seconds; the page offers "校验" to recompute at once


@dataclass
class AuditFilters:
    date_from: date | None = None
    date_to: date | None = None
    actor: str = ""
    action: str = ""
    target: str = ""
    ip: str = ""

    def for_audit(self) -> dict[str, str]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_entries(filters: AuditFilters | None = None) -> QuerySet[AuditEntry]:
    """Entries matching the filters, newest first. Dates are local days, both ends included."""
    f = filters or AuditFilters()
    qs = AuditEntry.objects.all()
    if f.date_from:
        qs = qs.filter(created_at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(created_at__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.actor:
        qs = qs.filter(actor_label__icontains=f.actor.strip())
    if f.action:
        qs = qs.filter(action=f.action)
    if f.target:
        qs = qs.filter(target__icontains=f.target.strip())
    if f.ip:
        qs = qs.filter(ip__startswith=f.ip.strip())
    return qs.order_by("-id")


def chain_status(*, refresh: bool = False) -> dict:
    """The last verification of the whole chain: ok, first bad id, when. Recomputed when
    asked or when older than CHAIN_STATUS_TTL, so the page stays fast on a long trail."""
    status = None if refresh else cache.get(CHAIN_STATUS_KEY)
    if status is None:
        ok, first_bad = verify_chain()
        status = {"ok": ok, "first_bad": first_bad, "checked_at": timezone.now(), "count": AuditEntry.objects.count()}
        cache.set(CHAIN_STATUS_KEY, status, CHAIN_STATUS_TTL)
    return status


CSV_HEADER = ["ID", "时间", "操作人", "动作", "对象", "来源地址", "详情", "上一条哈希", "哈希"]
_LABELS = dict(AuditAction.choices)


def _cell(value: str) -> str:
    return csv_cell(value)  # formula-looking text behind an apostrophe (CSV injection)


def csv_rows(qs: QuerySet[AuditEntry]) -> Iterator[bytes]:
    """The entries as UTF-8 CSV (with a BOM so Excel reads Chinese), a few hundred rows per chunk."""

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    for n, e in enumerate(qs.iterator(chunk_size=1000), start=1):
        writer.writerow([
            e.pk, timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"), _cell(e.actor_label),
            _LABELS.get(e.action, e.action), _cell(e.target), e.ip or "",
            _cell(e.details_text), e.prev_hash, e.hash,
        ])
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
