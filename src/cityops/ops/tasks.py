"""Periodic background work, one list for both runners.

`PERIODIC` is the schedule. In production Celery beat sends each job to the workers
(`config/celery.py` builds the beat schedule from this list); on the embedded default
(SQLite, no Redis) `cases/scheduler.py` runs the same functions in a thread of
`cityops serve`. Either way a job goes through `cityops.ops.jobs.run_job`: one instance at
a time, outcome recorded for /readyz.

Every job is idempotent and derives its work from the database (the outbox is the database:
SLA levels, notification rows with dedupe keys, webhook delivery rows), so a job that runs
twice, runs on two workers, or is retried after its worker was killed changes each thing
once, and a job that did not run while Redis was down catches up on its next run.

Jobs of other apps are called through hooks imported lazily (`CITYOPS_TASK_HOOKS`), so this
module works whether or not those apps have shipped them yet.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from cityops.accounts.selectors import ROLE_LOOKUP
from cityops.cases.scheduler import SCHEDULE, TASK_PREFIX
from cityops.ops.jobs import get_cutoff, run_job, set_cutoff

logger = logging.getLogger(__name__)

# Default hook targets; override (or add) with settings.CITYOPS_TASK_HOOKS = {"webhooks": "pkg.mod.func"}.
DEFAULT_HOOKS: dict[str, str] = {
    "webhooks": "cityops.api.webhooks.deliver_due_webhooks",
    "rollups": "cityops.analytics.services.rollup_repair",
    "reports": "cityops.analytics.reports.generate_due_reports",
    "retrain": "cityops.routing.services.retrain_if_due",
}


# ---------------------------------------------------------------- the jobs


def privacy_job() -> dict[str, Any]:
    """Reporters of cases closed longer ago than PERSONAL_DATA_RETENTION_MONTHS become anonymous."""
    from cityops.cases.privacy import privacy_job as run

    return run()


def fanout_job() -> dict[str, Any]:
    """Derived work of committed case events, from the outbox, in batches (see `cases.fanout`)."""
    from cityops.cases.fanout import fan_out_pending

    return fan_out_pending()


def sla_scan_job() -> dict[str, Any]:
    """Yellow/red transitions with their events and notifications (see `sla_scan`)."""
    from cityops.cases.sla_scan import sla_scan

    result = sla_scan()
    return {"yellow": result.turned_yellow, "red": result.turned_red, "notifications": result.notifications}


ESCALATE_JOB = "sla_escalate"  # its name in scheduler.SCHEDULE


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
    from cityops.cases.states import OPEN_STATUSES

    now = now or timezone.now()
    after = timedelta(hours=float(getattr(settings, "CITYOPS_ESCALATE_AFTER_HOURS", 24)))
    cutoff = now - after
    mark = get_cutoff(ESCALATE_JOB)
    lookback = timedelta(hours=float(getattr(settings, "CITYOPS_ESCALATE_LOOKBACK_HOURS", 72)))
    # A little overlap covers transactions that committed a deadline change late.
    since = (mark - timedelta(minutes=10)) if mark else cutoff - lookback
    leaders = list(User.objects.filter(is_active=True, **{ROLE_LOOKUP: roles.LEADER}).distinct())
    cases = (
        Case.objects.filter(status__in=OPEN_STATUSES, clock_paused_at__isnull=True, deadline__gt=since, deadline__lte=cutoff)
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


def _resolve_hook(name: str) -> Callable[[], Any] | None:
    path = {**DEFAULT_HOOKS, **getattr(settings, "CITYOPS_TASK_HOOKS", {})}.get(name)
    if not path:
        return None
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "that module does not exist (yet)" is a skip; a broken import inside it is an error.
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        raise
    return getattr(module, attr, None)


def hook_job(name: str) -> Callable[[], dict[str, Any]]:
    def job() -> dict[str, Any]:
        func = _resolve_hook(name)
        if func is None:
            logger.debug("hook %s not installed, skipped", name)
            return {"skipped": "hook not installed"}
        result = func()
        return result if isinstance(result, dict) else {"result": result if isinstance(result, int | float | str | None) else repr(result)[:200]}

    job.__name__ = f"{name}_hook"
    return job


# ---------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: Callable[[], dict[str, Any]]
    every: float  # seconds
    # Celery: a tick older than this is dropped instead of run late (the next tick does the work).
    expires: float | None = None
    soft_time_limit: float | None = None


def periodic_jobs() -> list[PeriodicJob]:
    """The schedule (`scheduler.SCHEDULE`) with each job's function."""
    funcs: dict[str, Callable[[], dict[str, Any]]] = {
        "fanout": fanout_job, "sla_scan": sla_scan_job, ESCALATE_JOB: escalate_overdue, "webhooks": hook_job("webhooks"),
        "rollups": hook_job("rollups"), "reports": hook_job("reports"), "retrain": hook_job("retrain"),
        "privacy": privacy_job,
    }
    return [PeriodicJob(slot.name, funcs[slot.name], slot.every, slot.expires, slot.soft_time_limit) for slot in SCHEDULE]


def run_periodic(name: str) -> dict[str, Any]:
    """Run one job of the schedule by name (what a Celery task and the scheduler both do)."""
    job = next((j for j in periodic_jobs() if j.name == name), None)
    if job is None:
        raise KeyError(name)
    return run_job(job.name, job.func)


# ---------------------------------------------------------------- Celery tasks

TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,  # the message is acknowledged after the task ran: a killed worker's task is redelivered
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "autoretry_for": (OperationalError, InterfaceError),  # database restarting: try again shortly
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


def _make_task(job_name: str):
    @shared_task(name=f"{TASK_PREFIX}{job_name}", bind=True, **TASK_OPTIONS)
    def task(self) -> dict[str, Any]:
        return run_periodic(job_name)

    task.__doc__ = f"Celery entry point of the periodic job {job_name!r} (see `periodic_jobs`)."
    return task


JOB_NAMES = tuple(slot.name for slot in SCHEDULE)
TASKS = {name: _make_task(name) for name in JOB_NAMES}
