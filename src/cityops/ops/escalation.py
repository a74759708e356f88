"""The escalation job (`sla_escalate`): leaders hear of cases long overdue.

Lives in ops because its watermark is the job's `JobRun.cutoff` (`ops.jobs.get_cutoff`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from cityops.accounts.selectors import ROLE_LOOKUP
from cityops.ops.jobs import get_cutoff, set_cutoff

ESCALATE_JOB = "sla_escalate"  # its job name (ops/plugin.py)


def escalate_overdue(*, now: datetime | None = None) -> dict[str, Any]:
    """Tell the leaders (指挥长) about every open case overdue for more than
    `CITYOPS_ESCALATE_AFTER_HOURS` (natural hours past its stage deadline).

    Sweeps deadlines between its watermark and now − threshold, so a pause of the workers
    is caught up; each (case, stage deadline) is escalated once per leader (dedupe key).
    A first run looks back `CITYOPS_ESCALATE_LOOKBACK_HOURS`.
    """
    from cityops.accounts import roles
    from cityops.accounts.models import User
    from cityops.cases import notifications
    from cityops.cases.models import Case, NotificationKind

    now = now or timezone.now()
    after = timedelta(hours=settings.CITYOPS_ESCALATE_AFTER_HOURS)
    cutoff = now - after
    mark = get_cutoff(ESCALATE_JOB)
    lookback = timedelta(hours=settings.CITYOPS_ESCALATE_LOOKBACK_HOURS)
    # A little overlap covers transactions that committed a deadline change late.
    since = (mark - timedelta(minutes=10)) if mark else cutoff - lookback
    leaders = list(User.objects.filter(is_active=True, **{ROLE_LOOKUP: roles.LEADER}).distinct())
    cases = (
        Case.objects.overdue(cutoff).filter(deadline__gt=since)
        .only("pk", "number", "stage", "deadline", "title", "description")
        .order_by("deadline", "pk")
    )
    hours = int(after.total_seconds() // 3600)
    escalated = created = 0
    for case in cases.iterator(chunk_size=500):
        stage = case.get_stage_display() if case.stage else ""
        key = f"escalate:{case.pk}:{case.stage}:{case.deadline.isoformat()}"
        created += notifications.notify(
            leaders, case, NotificationKind.SLA_OVERDUE,
            f"案件 {case.number}{stage}环节已超期逾 {hours} 小时仍未办结，请督办。", key,
        )
        escalated += 1
    set_cutoff(ESCALATE_JOB, max(cutoff, mark) if mark else cutoff)
    return {"cases": escalated, "notifications": created}
