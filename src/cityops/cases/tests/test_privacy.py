"""Personal data retention: reporters of long-closed cases become anonymous; statistics stay."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from cityops.audit.models import AuditAction, AuditEntry
from cityops.cases.models import Case, CaseEvent
from cityops.cases.privacy import cutoff_for, personal_data_anonymise, scrub_text
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import LeafCategoryFactory, make_case

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _closed(days_ago: int, *, status=Status.CLOSED, **kwargs) -> Case:
    closed_at = NOW - timedelta(days=days_ago)
    case = make_case(now=closed_at - timedelta(days=3), **kwargs)
    Case.objects.filter(pk=case.pk).update(status=status, closed_at=closed_at, answer="已回电 13812341234 张三")
    CaseEvent.objects.create(case=case, created_at=closed_at, action=Action.CALLBACK, actor_label="受理员",
                             note="回访 13812341234，身份证 11010519491231002X，邮箱 zs@example.com")
    return Case.objects.get(pk=case.pk)


def test_scrub_text_removes_phones_ids_and_emails_but_keeps_the_rest():
    text = "东关大街12号 手机13812341234 座机0971-8123456 身份证11010519491231002X 邮箱a.b@c.cn 井盖缺失"
    assert scrub_text(text) == "东关大街12号 手机〔已匿名〕 座机〔已匿名〕 身份证〔已匿名〕 邮箱〔已匿名〕 井盖缺失"


def test_old_closed_cases_lose_the_reporter_but_keep_what_statistics_need():
    category = LeafCategoryFactory()
    old = _closed(800, category=category, description="门口垃圾，联系13912345678", address="东关大街1号")
    before = Case.objects.values("category_id", "address", "created_at", "closed_at", "status", "channel", "version").get(pk=old.pk)
    result = personal_data_anonymise(months=24, now=NOW)
    assert (result.cases, result.events) == (1, 1)
    old.refresh_from_db()
    assert old.reporter_name == "" and old.reporter_phone == ""
    assert old.description == "门口垃圾，联系〔已匿名〕" and "13812341234" not in old.answer
    assert Case.objects.values("category_id", "address", "created_at", "closed_at", "status", "channel", "version").get(pk=old.pk) == before
    note = old.events.get(action=Action.CALLBACK).note
    assert "13812341234" not in note and "1002X" not in note and "example.com" not in note


def test_recent_and_open_cases_are_left_alone():
    recent = _closed(300)
    still_open = make_case(now=NOW - timedelta(days=900))
    personal_data_anonymise(months=24, now=NOW)
    assert Case.objects.get(pk=recent.pk).reporter_phone == "13812341234"
    assert Case.objects.get(pk=still_open.pk).reporter_phone == "13812341234"


def test_rejected_cases_count_as_closed():
    rejected = _closed(800, status=Status.REJECTED)
    personal_data_anonymise(months=24, now=NOW)
    assert Case.objects.get(pk=rejected.pk).reporter_name == ""


def test_a_second_run_finds_nothing_and_batches_cover_everything():
    for _ in range(5):
        _closed(800)
    first = personal_data_anonymise(months=24, now=NOW, batch=2)
    second = personal_data_anonymise(months=24, now=NOW, batch=2)
    assert first.cases == 5 and first.events == 5
    assert second.total == 0
    assert not Case.objects.exclude(reporter_phone="").exists()


def test_each_run_is_one_audit_entry_with_the_counts():
    _closed(800)
    personal_data_anonymise(months=24, now=NOW)
    entry = AuditEntry.objects.get(action=AuditAction.ANONYMISE)
    assert entry.details["cases"] == 1 and entry.details["events"] == 1 and entry.details["months"] == 24


def test_dry_run_counts_and_changes_nothing():
    case = _closed(800)
    result = personal_data_anonymise(months=24, now=NOW, dry_run=True)
    assert result.cases == 1 and result.dry_run
    assert Case.objects.get(pk=case.pk).reporter_phone == "13812341234"
    assert not AuditEntry.objects.filter(action=AuditAction.ANONYMISE).exists()


@override_settings(PERSONAL_DATA_RETENTION_MONTHS=0)
def test_zero_months_turns_the_job_off():
    case = _closed(3000)
    assert personal_data_anonymise(now=NOW).cutoff is None
    assert Case.objects.get(pk=case.pk).reporter_phone == "13812341234"


@override_settings(PERSONAL_DATA_RETENTION_MONTHS=6)
def test_the_setting_decides_the_cutoff():
    case = _closed(250)
    assert personal_data_anonymise(now=NOW).cases == 1
    assert Case.objects.get(pk=case.pk).reporter_phone == ""


def test_every_declared_anonymiser_gets_the_old_closed_cases_and_its_counts_are_reported(monkeypatch):
    """Other apps anonymise their own rows through the "anonymisers" hook; cases imports none of them."""
    from cityops.cases import privacy

    old, recent = _closed(800), _closed(300)
    seen = []

    def anonymise(cases, *, dry_run, batch):
        seen.append((sorted(cases.values_list("pk", flat=True)), dry_run, batch))
        return {"other_rows": 2}

    monkeypatch.setattr(privacy, "anonymisers", lambda: (anonymise,))
    result = personal_data_anonymise(months=24, now=NOW, batch=7)
    assert seen == [([old.pk], False, 7)] and recent.pk not in seen[0][0]
    assert result.rows == {"other_rows": 2} and result.total == 1 + 1 + 2
    assert AuditEntry.objects.get(action=AuditAction.ANONYMISE).details["other_rows"] == 2


def test_a_dry_run_asks_every_anonymiser_to_count_only(monkeypatch):
    from cityops.cases import privacy

    _closed(800)
    calls = []
    monkeypatch.setattr(privacy, "anonymisers", lambda: (lambda cases, *, dry_run, batch: calls.append(dry_run) or {"x": 1},))
    assert personal_data_anonymise(months=24, now=NOW, dry_run=True).rows == {"x": 1}
    assert calls == [True] and not AuditEntry.objects.filter(action=AuditAction.ANONYMISE).exists()


def test_cutoff_counts_calendar_months():
    now = timezone.make_aware(timezone.datetime(2026, 3, 31, 10, 0))
    assert cutoff_for(1, now).date().isoformat() == "2026-02-28"
    assert cutoff_for(24, now).date().isoformat() == "2024-03-31"


def test_command_dry_run_and_real_run(capsys):
    _closed(800)
    call_command("privacy_anonymise", "--dry-run")
    assert "将匿名化：1 件案件" in capsys.readouterr().out
    call_command("privacy_anonymise")
    assert "已匿名化：1 件案件" in capsys.readouterr().out
    assert not Case.objects.exclude(reporter_phone="").exists()


def test_the_job_is_on_the_periodic_schedule():
    from cityops.ops.scheduler import beat_schedule, periodic_jobs
    from cityops.ops.tasks import TASKS

    assert beat_schedule()["privacy"]["task"] == "cityops.privacy"
    assert "privacy" in TASKS
    job = next(j for j in periodic_jobs() if j.name == "privacy")
    assert job.func()["cases"] == 0


def test_cli_maps_the_privacy_group():
    from cityops.cli import translate

    assert translate(["privacy", "anonymise", "--dry-run"]) == ["privacy_anonymise", "--dry-run"]
    assert translate(["audit", "purge", "--before", "2025-01-01"]) == ["audit_purge", "--before", "2025-01-01"]
