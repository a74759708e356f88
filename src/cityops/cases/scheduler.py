"""In-process schedule for the embedded default (SQLite, no Redis): the same periodic jobs
that Celery beat sends to the workers in production (`cases/tasks.py: periodic_jobs()`), run
on a daemon thread of the development server, each through `ops.jobs.run_job`.

A job's first run comes one interval after start; a job that fails is logged and tried again
at its next turn. Jobs run one after the other, never two at once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)
_started = False
TICK_SECONDS = 1.0


@dataclass(frozen=True)
class Slot:
    """One line of the schedule: which job, how often (a setting, with its default), and for
    Celery how late a tick may still run (`expires`) and how long it may take."""

    name: str
    setting: str
    default: float
    expires: float | None = None
    soft_time_limit: float | None = None

    @property
    def every(self) -> float:
        return float(getattr(settings, self.setting, self.default))


# The schedule, shared by Celery beat (config/celery.py) and the in-process runner below.
# Pure data: config/celery.py reads it before any app is loaded.
SCHEDULE: tuple[Slot, ...] = (
    Slot("fanout", "CITYOPS_FANOUT_SECONDS", 60, expires=5, soft_time_limit=120),
    Slot("sla_scan", "CITYOPS_SLA_SCAN_SECONDS", 60, expires=55, soft_time_limit=600),
    Slot("sla_escalate", "CITYOPS_ESCALATE_SECONDS", 60, expires=55, soft_time_limit=600),
    Slot("webhooks", "CITYOPS_WEBHOOK_SECONDS", 10, expires=9, soft_time_limit=300),
    Slot("rollups", "CITYOPS_ROLLUP_SECONDS", 300, expires=290, soft_time_limit=1200),
    Slot("reports", "CITYOPS_REPORT_SECONDS", 3600, expires=3000, soft_time_limit=1800),
    Slot("retrain", "CITYOPS_RETRAIN_SECONDS", 86400, expires=3600, soft_time_limit=3 * 3600),
    Slot("privacy", "CITYOPS_PRIVACY_SECONDS", 86400, expires=3600, soft_time_limit=3600),
)
TASK_PREFIX = "cityops."


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery beat's schedule: one entry per slot, sending the task `cityops.<name>`."""
    schedule = {}
    for slot in SCHEDULE:
        options: dict[str, Any] = {}
        if slot.expires:
            options["expires"] = slot.expires
        if slot.soft_time_limit:
            options["soft_time_limit"] = slot.soft_time_limit
            options["time_limit"] = slot.soft_time_limit + 60
        schedule[slot.name] = {"task": f"{TASK_PREFIX}{slot.name}", "schedule": slot.every, "options": options}
    return schedule


def run_due(next_run: dict[str, float], now: float) -> list[str]:
    """Run every job whose time has come; returns the names that ran. `next_run` is updated."""
    from cityops.cases.tasks import periodic_jobs
    from cityops.ops.jobs import run_job

    ran = []
    for job in periodic_jobs():
        due = next_run.setdefault(job.name, now + job.every)
        if now < due:
            continue
        next_run[job.name] = now + job.every
        try:
            close_old_connections()
            result = run_job(job.name, job.func)
            ran.append(job.name)
            if job.name == "sla_scan" and (result.get("yellow") or result.get("red")):
                log.info("SLA scan: %s yellow, %s red", result.get("yellow"), result.get("red"))
        except Exception:  # keep the loop alive; the next round retries
            log.exception("periodic job %s failed", job.name)
        finally:
            close_old_connections()
    return ran


def _loop(tick: float) -> None:
    next_run: dict[str, float] = {}
    while True:
        run_due(next_run, time.monotonic())
        time.sleep(tick)


def start(tick: float = TICK_SECONDS) -> None:
    global _started
    if _started:
        return
    _started = True
    threading.Thread(target=_loop, args=(tick,), name="cityops-scheduler", daemon=True).start()
