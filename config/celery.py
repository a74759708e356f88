"""The Celery application: `celery -A config.celery worker` / `celery -A config.celery beat`.

Broker: Redis (`REDIS_URL`). Settings are read from Django's settings, `CELERY_*` names
(config/settings/base.py). The beat schedule is built from `cityops.cases.tasks.periodic_jobs()`,
the same list the in-process scheduler runs on the embedded default, and is kept in code
(no django-celery-beat). Results are not stored: every job records its outcome in `ops.JobRun`.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

from cityops.cases.scheduler import beat_schedule  # pure data: no app needs to be loaded

app = Celery("cityops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = beat_schedule()
app.autodiscover_tasks(["cityops.cases"], related_name="tasks")


__all__ = ["app"]
