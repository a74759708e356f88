"""The schedule of the periodic jobs, and its in-process runner for the embedded default.

The jobs are declared by the apps that own the work (`Plugin.jobs`, see
`cityops.common.plugins`: name, function, interval setting, Celery expiry and time limit) and
collected by the registry; `periodic_jobs()` is that list. In production Celery beat sends each
job to the workers (`beat_schedule()`, read by config/celery.py; the thin task wrappers are in
`ops/tasks.py`); on the embedded default (SQLite, no Redis) this module runs the same jobs on a
daemon thread of the serving process. Either way a job goes through `ops.jobs.run_job`: one
instance at a time, outcome recorded for /readyz.

Every job is idempotent and derives its work from the database (the outbox is the database:
SLA levels, notification rows with dedupe keys, webhook delivery rows), so a job that runs
twice, runs on two workers, or is retried after its worker was killed changes each thing
once, and a job that did not run while Redis was down catches up on its next run.

Which process runs it (`install`, `start_mode`): the one that serves requests — `cityops
serve` / `manage.py runserver` (the reloader's child at once, never the reloader's parent,
which only watches files) or each gunicorn worker (from its first request) — and only while
`CITYOPS_INPROCESS_SCHEDULER` is on, which it is by default when there is no Redis, i.e. no
Celery beat. Production (Redis, Celery beat) leaves it off. One thread per process at most.

The frequent jobs first run a few seconds after start (staggered, so a restart catches up at
once: overdue marks, waiting webhooks), the rare heavy ones a few minutes after (`first_runs`),
then each every interval; a job that fails is logged and tried again at its next turn. On
SQLite a job waits up to five minutes for the write lock (`common.db.patient_writer`). Jobs run one after the other, never two at once. Intervals come from
the settings or the environment (`CITYOPS_SLA_SCAN_SECONDS=5 …`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from cityops.common import plugins
from cityops.common.db import patient_writer
from cityops.common.plugins import Job
from cityops.ops.jobs import run_job

log = logging.getLogger(__name__)
_started = False
TICK_SECONDS = 1.0
FIRST_RUN_SECONDS = 3.0  # after start; the jobs then follow each other one tick apart
FREQUENT_SECONDS = 60.0  # jobs at least this frequent first run FIRST_RUN_SECONDS after start
LATER_SECONDS = 120.0  # the others after this long
SERVE_COMMANDS = frozenset({"runserver", "serve"})
# `cityops …`, `manage.py …`, `django-admin …`, `python -m django|cityops.cli …`
MANAGEMENT_PROGRAMS = frozenset({"cityops", "manage.py", "django-admin", "__main__.py", "cli.py"})


def periodic_jobs() -> list[Job]:
    """Every declared periodic job (`Plugin.jobs` of the installed apps)."""
    return plugins.jobs()


def run_periodic(name: str) -> dict[str, Any]:
    """Run one declared job by name (what a Celery task and the scheduler both do)."""
    job = next((j for j in periodic_jobs() if j.name == name), None)
    if job is None:
        raise KeyError(name)
    return run_job(job.name, job.func)


TASK_PREFIX = "cityops."


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery beat's schedule: one entry per declared job, sending the task `cityops.<name>`."""
    schedule = {}
    for slot in periodic_jobs():
        options: dict[str, Any] = {}
        if slot.expires:
            options["expires"] = slot.expires
        if slot.soft_time_limit:
            options["soft_time_limit"] = slot.soft_time_limit
            options["time_limit"] = slot.soft_time_limit + 60
        schedule[slot.name] = {"task": f"{TASK_PREFIX}{slot.name}", "schedule": slot.every, "options": options}
    return schedule


def first_runs(now: float) -> dict[str, float]:
    """When each job first runs: the frequent ones (SLA, webhooks) a few seconds after start,
    one tick apart, to catch up at once; the heavy, rare ones (reports, retraining, privacy)
    a few minutes later, out of the way of the first requests, and not only after a whole
    hour or day of serving (a development server seldom runs that long)."""
    first = {}
    for index, slot in enumerate(periodic_jobs()):
        soon = FIRST_RUN_SECONDS + index * TICK_SECONDS if slot.every <= FREQUENT_SECONDS else LATER_SECONDS + index * 10
        first[slot.name] = now + min(slot.every, soon)
    return first


def is_gunicorn(argv: list[str]) -> bool:
    return bool(argv) and ("gunicorn" in os.path.basename(argv[0]) or argv[0].endswith("gunicorn/__main__.py"))


NOW = "now"
FIRST_REQUEST = "first request"


def start_mode(argv: list[str], environ: dict[str, str]) -> str | None:
    """When this process starts the schedule: NOW, at its FIRST_REQUEST, or never (None).

    * the process that serves: `cityops serve` (no auto-reloader unless `--reload`),
      `runserver --noreload`, or the auto-reloader's serving child (RUN_MAIN=true): now;
    * a process that may or may not serve — the auto-reloader's parent (it only watches files,
      so it never gets a request and never starts), a gunicorn master or worker (the app may
      be loaded in the master before it forks, `preload_app`; a thread started there would run
      in the master, beside connections the workers inherit): at its first request;
    * any other command (migrate, shell, pytest, celery …): never.
    """
    if is_gunicorn(argv):
        return FIRST_REQUEST
    program = os.path.basename(argv[0]) if argv else ""
    if program not in MANAGEMENT_PROGRAMS or len(argv) < 2 or argv[1] not in SERVE_COMMANDS:
        return None
    if environ.get("RUN_MAIN") == "true":
        return NOW
    reloads = "--reload" in argv if argv[1] == "serve" else "--noreload" not in argv
    return FIRST_REQUEST if reloads else NOW


def install(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> str | None:
    """Called once at start-up (`OpsConfig.ready`); returns the start mode chosen."""
    if not settings.CITYOPS_INPROCESS_SCHEDULER:
        return None
    mode = start_mode(sys.argv if argv is None else argv, os.environ if environ is None else environ)
    if mode == NOW:
        start()
    elif mode == FIRST_REQUEST:
        from django.core.signals import request_started

        request_started.connect(_start_on_first_request, dispatch_uid="cityops.scheduler")
    return mode


def _start_on_first_request(**kwargs) -> None:
    from django.core.signals import request_started

    request_started.disconnect(dispatch_uid="cityops.scheduler")
    start()


def run_due(next_run: dict[str, float], now: float) -> list[str]:
    """Run every job whose time has come; returns the names that ran. `next_run` is updated."""
    ran = []
    for job in periodic_jobs():
        due = next_run.setdefault(job.name, now + job.every)
        if now < due:
            continue
        next_run[job.name] = now + job.every
        try:
            close_old_connections()
            with patient_writer():  # SQLite: a job waits its turn behind the requests, it does not fail
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
    next_run = first_runs(time.monotonic())
    while True:
        run_due(next_run, time.monotonic())
        time.sleep(tick)


def start(tick: float = TICK_SECONDS) -> bool:
    """Start the schedule's thread in this process, once; False if it was already running."""
    global _started
    with _start_lock:
        if _started:
            return False
        _started = True
    threading.Thread(target=_loop, args=(tick,), name="cityops-scheduler", daemon=True).start()
    log.info("in-process scheduler started (%s)", ", ".join(f"{job.name} every {job.every:g} s" for job in periodic_jobs()))
    return True


_start_lock = threading.Lock()
