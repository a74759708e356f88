"""The periodic jobs: one schedule for Celery beat and the in-process scheduler, idempotent jobs,
escalation to the leaders, jobs declared by the apps (`Plugin.jobs`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.cases import notifications
from cityops.cases.models import Case, CaseEvent, Notification, NotificationKind, SlaLevel
from cityops.cases.sla_scan import sla_scan
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.common import plugins
from cityops.common.plugins import Job, Plugin
from cityops.ops import scheduler, tasks
from cityops.ops.escalation import escalate_overdue
from cityops.ops.models import JobRun

pytestmark = pytest.mark.django_db


def overdue(case: Case, hours: float) -> Case:
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        status=Status.IN_PROGRESS, stage="handle", deadline=now - timedelta(hours=hours),
        warn_at=now - timedelta(hours=hours + 1), sla_level=SlaLevel.GREEN,
    )
    return Case.objects.get(pk=case.pk)


# Celery beat's schedule as it was when cases/scheduler.py held it (SCHEDULE): name → (every, expires, soft limit).
EXPECTED_BEAT = {
    "fanout": (60, 5, 120), "sla_scan": (60, 55, 600), "sla_escalate": (60, 55, 600), "webhooks": (10, 9, 300),
    "rollups": (300, 290, 1200), "reports": (3600, 3000, 1800), "retrain": (86400, 3600, 3 * 3600),
    "privacy": (86400, 3600, 3600),
}


def test_beat_gets_the_same_schedule_from_the_declared_jobs():
    from config.celery import app, set_beat_schedule

    set_beat_schedule()
    assert app.conf.beat_schedule == {
        name: {"task": f"cityops.{name}", "schedule": every,
               "options": {"expires": expires, "soft_time_limit": limit, "time_limit": limit + 60}}
        for name, (every, expires, limit) in EXPECTED_BEAT.items()
    }


def test_an_interval_comes_from_the_settings():
    from django.test import override_settings

    with override_settings(CITYOPS_SLA_SCAN_SECONDS=5):
        assert scheduler.beat_schedule()["sla_scan"]["schedule"] == 5


def test_beat_runs_every_job_of_the_schedule_through_a_registered_task():
    from config.celery import app

    assert set(tasks.TASKS) == set(EXPECTED_BEAT)

    schedule = scheduler.beat_schedule()
    names = {job.name for job in scheduler.periodic_jobs()}
    assert {"sla_scan", "sla_escalate", "webhooks", "rollups", "reports", "retrain"} <= names
    assert schedule["sla_scan"]["schedule"] == 60
    for name, entry in schedule.items():
        assert entry["task"] == f"cityops.{name}"
        assert entry["task"] in app.tasks
        task = app.tasks[entry["task"]]
        assert task.acks_late and task.reject_on_worker_lost


def test_the_scan_writes_the_same_notifications_as_the_alert_helper(people, department, category):
    case = overdue(make_case(category=category), hours=2)
    Case.objects.filter(pk=case.pk).update(department=department)
    result = sla_scan()
    assert result.turned_red == 1
    note = Notification.objects.get(recipient=people["dept"], case=case)
    assert note.kind == NotificationKind.SLA_OVERDUE
    # The alert helper would use the very same dedupe key and text: nobody is told twice.
    case = Case.objects.get(pk=case.pk)
    assert notifications.sla_alert(case, "red") == 0
    assert note.message == f"案件 {case.number}{case.get_stage_display()}环节已超期。"
    event = CaseEvent.objects.get(case=case, action=Action.SLA_OVERDUE)
    assert event.payload == {"stage": "handle", "deadline": case.deadline.isoformat()}
    assert sla_scan().turned_red == 0


def test_escalation_tells_each_leader_once_per_deadline_and_catches_up(people, category, settings):
    settings.CITYOPS_ESCALATE_AFTER_HOURS = 24
    late = overdue(make_case(category=category), hours=30)
    recent = overdue(make_case(category=category), hours=2)
    first = escalate_overdue()
    assert first["cases"] == 1 and first["notifications"] == 1
    assert Notification.objects.filter(recipient=people["leader"], case=late, kind=NotificationKind.SLA_OVERDUE).count() == 1
    assert not Notification.objects.filter(recipient=people["leader"], case=recent).exists()
    assert escalate_overdue()["notifications"] == 0
    # The workers stopped for a day: the next run picks up what crossed the threshold meanwhile.
    later = escalate_overdue(now=timezone.now() + timedelta(hours=23))
    assert later["notifications"] == 1
    assert Notification.objects.filter(recipient=people["leader"], case=recent).count() == 1


def test_a_job_run_is_recorded_for_the_health_check(people):
    result = scheduler.run_periodic("sla_scan")
    assert "seconds" in result
    run = JobRun.objects.get(name="sla_scan")
    assert run.last_status == "ok" and run.last_ok_at is not None and run.runs == 1


def _with_plugin(monkeypatch, plugin: Plugin) -> None:
    """The installed apps' plugins plus `plugin`, as if one more app declared it."""
    monkeypatch.setattr(plugins, "_registry", plugins.Registry((*plugins.collect().plugins, ("extra", plugin))))


def test_a_job_declared_by_an_app_is_run_by_name_and_recorded(monkeypatch):
    _with_plugin(monkeypatch, Plugin(jobs=(Job("extra_job", fake_job, "CITYOPS_EXTRA_SECONDS", 30),)))
    assert scheduler.run_periodic("extra_job")["repaired"] == 3
    assert JobRun.objects.get(name="extra_job").last_status == "ok"


def test_a_job_that_returns_no_dict_is_recorded_with_its_result(monkeypatch):
    _with_plugin(monkeypatch, Plugin(jobs=(Job("extra_job", lambda: 7, "CITYOPS_EXTRA_SECONDS", 30),)))
    assert scheduler.run_periodic("extra_job")["result"] == "7"


def test_an_undeclared_job_name_is_refused():
    with pytest.raises(KeyError):
        scheduler.run_periodic("no_such_job")


def fake_job():
    return {"repaired": 3}


def test_the_in_process_scheduler_runs_each_job_when_due(monkeypatch):
    calls = []
    jobs = [Job("a", lambda: calls.append("a") or {}, "CITYOPS_A_SECONDS", 10), Job("b", lambda: calls.append("b") or {}, "CITYOPS_B_SECONDS", 30)]
    monkeypatch.setattr(scheduler, "periodic_jobs", lambda: jobs)
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)  # the test's transaction stays open
    next_run: dict[str, float] = {}
    assert scheduler.run_due(next_run, 0.0) == []
    assert scheduler.run_due(next_run, 10.0) == ["a"]
    assert scheduler.run_due(next_run, 31.0) == ["a", "b"]
    assert calls == ["a", "a", "b"]
