"""Append-only at every door, and purging old entries without breaking the chain (≥ 6 months kept)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.services import PurgeRefused, audit_purge, audit_record, retention_days, verify_chain

pytestmark = pytest.mark.django_db


def _entry(days_ago: int, n: int = 0) -> AuditEntry:
    return audit_record(
        action=AuditAction.LOGIN, actor_label=f"user{n}", target=f"user:{n}",
        now=timezone.now() - timedelta(days=days_ago),
    )


def test_queryset_update_and_delete_are_refused():
    _entry(0)
    with pytest.raises(RuntimeError):
        AuditEntry.objects.update(target="x")
    with pytest.raises(RuntimeError):
        AuditEntry.objects.filter(action=AuditAction.LOGIN).delete()
    with pytest.raises(RuntimeError):
        AuditEntry.objects.bulk_update(list(AuditEntry.objects.all()), ["target"])
    assert AuditEntry.objects.get().target == "user:0"


def test_deleting_a_user_keeps_the_entries_and_the_chain():
    user = UserFactory()
    audit_record(action=AuditAction.EXPORT, actor=user, target="cases:csv")
    user.delete()
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor is None and user.username in entry.actor_label
    assert verify_chain() == (True, None)


@override_settings(AUDIT_RETENTION_DAYS=30)
def test_retention_cannot_be_configured_below_six_months():
    assert retention_days() == 183


def test_purge_within_the_retention_period_is_refused():
    _entry(400)
    with pytest.raises(PurgeRefused):
        audit_purge(before=timezone.now() - timedelta(days=100))
    assert AuditEntry.objects.count() == 1


def test_purge_command_refuses_a_recent_date():
    _entry(400)
    recent = (timezone.localdate() - timedelta(days=30)).isoformat()
    with pytest.raises(CommandError, match="183"):
        call_command("audit_purge", "--before", recent)
    assert AuditEntry.objects.count() == 1


def test_purge_leaves_a_checkpoint_and_the_chain_still_verifies():
    old = [_entry(400, n) for n in range(3)]
    kept = [_entry(10, n) for n in range(2)]
    result = audit_purge(before=timezone.now() - timedelta(days=200), actor_label="运维")
    assert result.purged == 3
    assert not AuditEntry.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditEntry.objects.filter(pk__in=[e.pk for e in kept]).count() == 2
    checkpoint = result.checkpoint
    assert checkpoint.action == AuditAction.CHECKPOINT
    assert checkpoint.details["purged_through_id"] == old[-1].pk
    assert checkpoint.details["purged_through_hash"] == old[-1].hash
    assert checkpoint.details["purged_count"] == 3
    assert verify_chain() == (True, None)
    # The chain goes on after the checkpoint.
    audit_record(action=AuditAction.LOGIN, actor_label="later")
    assert verify_chain() == (True, None)


def test_a_second_purge_verifies_against_the_newest_checkpoint():
    _entry(800)
    _entry(500)
    _entry(5)
    audit_purge(before=timezone.now() - timedelta(days=600))
    audit_purge(before=timezone.now() - timedelta(days=400))
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN).count() == 1
    assert verify_chain() == (True, None)


def test_rows_deleted_from_the_start_without_a_checkpoint_are_found():
    entries = [_entry(400, n) for n in range(3)]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [entries[0].pk])
    assert verify_chain() == (False, entries[1].pk)


def test_a_forged_checkpoint_hash_does_not_cover_a_deletion():
    entries = [_entry(400, n) for n in range(3)]
    audit_record(
        action=AuditAction.CHECKPOINT, actor_label="forger",
        details={"purged_through_id": entries[0].pk, "purged_through_hash": "f" * 64},
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [entries[0].pk])
    assert verify_chain() == (False, entries[1].pk)


def test_purge_is_refused_when_the_chain_is_already_broken():
    entries = [_entry(400, n) for n in range(3)]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET target = 'x' WHERE id = %s", [entries[1].pk])
    with pytest.raises(PurgeRefused, match=str(entries[1].pk)):
        audit_purge(before=timezone.now() - timedelta(days=200))
    assert AuditEntry.objects.count() == 3


def test_purge_command_reports_the_count(capsys):
    _entry(400)
    _entry(1)
    call_command("audit_purge", "--before", (timezone.localdate() - timedelta(days=200)).isoformat())
    assert "已清理 1 条" in capsys.readouterr().out
    assert verify_chain() == (True, None)
