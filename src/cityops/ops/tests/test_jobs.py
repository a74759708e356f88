"""The periodic jobs: one schedule for Celery beat and the in-process scheduler, idempotent jobs,
escalation to the leaders, lazily imported hooks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.cases import notifications, tasks
from cityops.cases.models import Case, CaseEvent, Notification, NotificationKind, SlaLevel
from cityops.cases.sla_scan import sla_scan
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.ops.models import JobRun

pytestmark = pytest.mark.django_db


def overdue(case: Case, hours: float) -> Case:
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        status=Status.IN_PROGRESS, stage="handle", deadline=now - timedelta(hours=hours),
        warn_at=now - timedelta(hours=hours + 1), sla_level=SlaLevel.GREEN,
    )
    return Case.objects.get(pk=case.pk)


def test_beat_runs_every_job_of_the_schedule_through_a_registered_task():
    from cityops.cases.scheduler import beat_schedule
    from config.celery import app

    schedule = beat_schedule()
    names = {job.name for job in tasks.periodic_jobs()}
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
    first = tasks.escalate_overdue()
    assert first["cases"] == 1 and first["notifications"] == 1
    assert Notification.objects.filter(recipient=people["leader"], case=late, kind=NotificationKind.SLA_OVERDUE).count() == 1
    assert not Notification.objects.filter(recipient=people["leader"], case=recent).exists()
    assert tasks.escalate_overdue()["notifications"] == 0
    # The workers stopped for a day: the next run picks up what crossed the threshold meanwhile.
    later = tasks.escalate_overdue(now=timezone.now() + timedelta(hours=23))
    assert later["notifications"] == 1
    assert Notification.objects.filter(recipient=people["leader"], case=recent).count() == 1


def test_a_job_run_is_recorded_for_the_health_check(people):
    result = tasks.run_periodic("sla_scan")
    assert "seconds" in result
    run = JobRun.objects.get(name="sla_scan")
    assert run.last_status == "ok" and run.last_ok_at is not None and run.runs == 1


def test_hooks_of_apps_that_do_not_exist_yet_are_skipped(settings):
    settings.CITYOPS_TASK_HOOKS = {"reports": "cityops.nonexistent.module.generate"}
    assert tasks.hook_job("reports")() == {"skipped": "hook not installed"}
    settings.CITYOPS_TASK_HOOKS = {"reports": "cityops.cases.sla.nonexistent_function"}
    assert tasks.hook_job("reports")() == {"skipped": "hook not installed"}


def test_an_installed_hook_is_called(settings):
    settings.CITYOPS_TASK_HOOKS = {"rollups": "cityops.ops.tests.test_jobs.fake_hook"}
    assert tasks.hook_job("rollups")() == {"repaired": 3}


def fake_hook():
    return {"repaired": 3}


def test_the_in_process_scheduler_runs_each_job_when_due(monkeypatch):
    from cityops.cases import scheduler

    calls = []
    jobs = [tasks.PeriodicJob("a", lambda: calls.append("a") or {}, 10), tasks.PeriodicJob("b", lambda: calls.append("b") or {}, 30)]
    monkeypatch.setattr(tasks, "periodic_jobs", lambda: jobs)
    monkeypatch.setattr(scheduler, "close_old_connections", lambda: None)  # the test's transaction stays open
    next_run: dict[str, float] = {}
    assert scheduler.run_due(next_run, 0.0) == []
    assert scheduler.run_due(next_run, 10.0) == ["a"]
    assert scheduler.run_due(next_run, 31.0) == ["a", "b"]
    assert calls == ["a", "a", "b"]
