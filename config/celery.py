"""The Celery application: `celery -A config.celery worker` / `celery -A config.celery beat`.

Broker: Redis (`REDIS_URL`). Settings are read from Django's settings, `CELERY_*` names
(config/settings/base.py). The beat schedule is `cityops.ops.scheduler.beat_schedule()`: the
periodic jobs the apps declare (`Plugin.jobs`, see `cityops.common.plugins`), the same list the
in-process scheduler runs on the embedded default, kept in code (no django-celery-beat). It is
built once Django's apps are loaded (Celery's Django fixup loads them when the worker or beat
imports its modules, before beat reads the schedule). Results are not stored: every job
records its outcome in `ops.JobRun`.
"""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("cityops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["cityops.ops"], related_name="tasks")


def set_beat_schedule(sender=None, **kwargs) -> None:
    """Give beat the declared jobs (on `import_modules`, after the Django fixup set Django up)."""
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from cityops.ops.scheduler import beat_schedule

    app.conf.beat_schedule = beat_schedule()


signals.import_modules.connect(set_beat_schedule, sender=app, weak=False)


__all__ = ["app"]
