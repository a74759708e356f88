"""The periodic SLA scan: open cases crossing their 80 % point turn yellow, past their
deadline turn red; each crossing notifies the department and the dispatchers once.

Every level change is a conditional UPDATE from the level that was read, so a scan that
runs twice, or on two workers at once, changes each case once (Sentry's check_timeout idea).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cityops.cases import notifications
from cityops.cases.models import Case, CaseEvent, SlaLevel
from cityops.cases.states import OPEN_STATUSES, Action

BATCH = 1000


@dataclass
class ScanResult:
    turned_yellow: int = 0
    turned_red: int = 0
    notifications: int = 0


def _crossings(now: datetime, level: str):
    base = Case.objects.filter(status__in=OPEN_STATUSES, clock_paused_at__isnull=True)
    if level == SlaLevel.RED:
        return base.filter(deadline__lte=now).exclude(sla_level=SlaLevel.RED)
    return base.filter(warn_at__lte=now, deadline__gt=now, sla_level=SlaLevel.GREEN)


def sla_scan(*, now: datetime | None = None, batch: int = BATCH) -> ScanResult:
    now = now or timezone.now()
    result = ScanResult()
    for level, action in ((SlaLevel.RED, Action.SLA_OVERDUE), (SlaLevel.YELLOW, Action.SLA_WARNING)):
        while True:
            rows = list(_crossings(now, level).values_list("pk", "sla_level")[:batch])
            if not rows:
                break
            for pk, old_level in rows:
                with transaction.atomic():
                    changed = Case.objects.filter(pk=pk, sla_level=old_level, clock_paused_at__isnull=True).update(sla_level=level)
                    if not changed:
                        continue  # another scan got there first
                    case = Case.objects.select_related("department").get(pk=pk)
                    CaseEvent.objects.create(
                        case=case, created_at=now, actor_label="系统", action=action,
                        from_status=case.status, to_status=case.status, department=case.department,
                        payload={"stage": case.stage, "deadline": case.deadline.isoformat() if case.deadline else None},
                    )
                if level == SlaLevel.RED:
                    result.turned_red += 1
                else:
                    result.turned_yellow += 1
                result.notifications += notifications.sla_alert(case, level)
            if len(rows) < batch:
                break
    return result
