"""Running one periodic job: one instance at a time, its outcome recorded in `JobRun`.

Celery workers (production) and the in-process scheduler (embedded default) both call
`run_job`. On PostgreSQL a session-level advisory lock keeps two workers from running the
same job at the same moment (the second one skips; the jobs are idempotent anyway, the lock
only saves work). A worker killed mid-job loses its connection, which releases the lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from cityops.ops.models import JobRun

logger = logging.getLogger("cityops.ops.jobs")


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha1(f"cityops.job.{name}".encode(), usedforsecurity=False).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[bool]:
    """Yield True when this process holds the job's lock (always True off PostgreSQL)."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = _lock_key(name)
    # Wait a little: the holder may be a worker that was just killed, whose connection
    # PostgreSQL is about to drop (its retried task must then run, not skip).
    deadline = time.monotonic() + float(settings.CITYOPS_JOB_LOCK_WAIT_SECONDS)
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            acquired = bool(cursor.fetchone()[0])
        if acquired or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    try:
        yield acquired
    finally:
        if acquired:
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def get_cutoff(name: str) -> datetime | None:
    return JobRun.objects.filter(name=name).values_list("cutoff", flat=True).first()


def set_cutoff(name: str, cutoff: datetime) -> None:
    if not JobRun.objects.filter(name=name).update(cutoff=cutoff):
        JobRun.objects.get_or_create(name=name, defaults={"cutoff": cutoff})


def _record(name: str, **fields: Any) -> None:
    with contextlib.suppress(Exception):  # bookkeeping must never fail the job itself
        if not JobRun.objects.filter(name=name).update(**fields):
            JobRun.objects.get_or_create(name=name, defaults=fields)


def run_job(name: str, func: Callable[[], Any]) -> dict[str, Any]:
    """Run `func` unless another worker is running the same job; record the outcome."""
    with exclusive(name) as acquired:
        if not acquired:
            logger.info("job %s is running elsewhere, skipped", name)
            return {"skipped": "running elsewhere"}
        started = timezone.now()
        clock = time.perf_counter()
        _record(name, last_started_at=started, last_status="running")
        try:
            result = func()
        except Exception:
            _record(name, last_finished_at=timezone.now(), last_status="error", last_error=traceback.format_exc()[-4000:])
            raise
        finished = timezone.now()
        summary = result if isinstance(result, dict) else {"result": repr(result)[:200]}
        summary = {**summary, "seconds": round(time.perf_counter() - clock, 3)}
        _record(name, last_finished_at=finished, last_ok_at=finished, last_status="ok", last_result=summary, last_error="")
        with contextlib.suppress(Exception):
            JobRun.objects.filter(name=name).update(runs=F("runs") + 1)
        return summary
