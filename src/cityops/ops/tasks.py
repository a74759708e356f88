"""Celery entry points of the periodic jobs: one thin task per declared job (see
`ops.scheduler`), named `cityops.<job name>`, that runs it through `ops.jobs.run_job`.

The jobs themselves are declared by the apps that own the work (`Plugin.jobs`, see
`cityops.common.plugins`); this module needs the apps loaded (Celery's Django fixup does that
before it imports the tasks).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from cityops.ops.scheduler import TASK_PREFIX, periodic_jobs, run_periodic

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

    task.__doc__ = f"Celery entry point of the periodic job {job_name!r} (see `ops.scheduler.periodic_jobs`)."
    return task


JOB_NAMES = tuple(job.name for job in periodic_jobs())
TASKS = {name: _make_task(name) for name in JOB_NAMES}
