"""The Celery app the fault tests start workers with: the real app and tasks, plus one slow
variant of the SLA scan (a pause after each committed batch) so a test can kill the worker
in the middle of it. Test-only; never imported by the product."""

from __future__ import annotations

import time
from dataclasses import asdict

import django

from config.celery import app

django.setup()

from cityops.ops.tasks import TASK_OPTIONS  # noqa: E402  (needs the apps loaded)

__all__ = ["app"]


@app.task(name="cityops.tests.slow_sla_scan", bind=True, **TASK_OPTIONS)
def slow_sla_scan(self, batch: int, pause: float) -> dict:
    from cityops.cases.sla_scan import sla_scan
    from cityops.ops.jobs import run_job

    return run_job("sla_scan", lambda: asdict(sla_scan(batch=batch, on_batch=lambda _result: time.sleep(pause))))
