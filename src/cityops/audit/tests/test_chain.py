"""The audit trail: append-only rows chained by hashes, and tampering found by verify_chain."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory

from cityops.accounts.tests.factories import UserFactory
from cityops.audit.models import GENESIS_HASH, AuditAction, AuditChainHead, AuditEntry
from cityops.audit.services import audit_record, entry_hash, verify_chain

pytestmark = pytest.mark.django_db


def _entries(n: int = 3) -> list[AuditEntry]:
    return [
        audit_record(action=AuditAction.EXPORT, actor_label=f"测试{i}", target=f"cases:csv:{i}", details={"count": i, "filters": {"q": "垃圾"}})
        for i in range(n)
    ]


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.format(table=AuditEntry._meta.db_table), params)


def test_entries_are_chained_from_the_genesis_hash():
    first, second, third = _entries()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert all(entry.hash == entry_hash(entry) for entry in AuditEntry.objects.all())
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_id, head.last_hash) == (third.pk, third.hash)
    assert verify_chain() == (True, None)


def test_actor_request_and_details_are_recorded():
    user = UserFactory(username="zhangsan", display_name="张三", role="operator")
    request = RequestFactory().get("/export/cases.csv", REMOTE_ADDR="::ffff:10.1.2.3")
    request.user = user
    entry = audit_record(action=AuditAction.EXPORT, request=request, target="cases:csv", details={"count": 5})
    entry.refresh_from_db()
    assert entry.actor == user and entry.actor_label == "张三 (zhangsan)"
    assert entry.ip == "10.1.2.3"  # an IPv4-mapped address is stored as IPv4
    assert entry.details == {"count": 5}
    assert verify_chain() == (True, None)


def test_rows_cannot_be_changed_or_deleted_through_the_orm():
    entry = _entries(1)[0]
    entry.target = "changed"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_unknown_action_is_refused():
    with pytest.raises(ValueError):
        audit_record(action="dance")


def test_raw_sql_edit_is_found_at_the_edited_row():
    entries = _entries(4)
    _sql("UPDATE {table} SET target = %s WHERE id = %s", ["cases:xlsx:0", entries[1].pk])
    assert verify_chain() == (False, entries[1].pk)


def test_raw_sql_edit_of_the_details_json_is_found():
    entries = _entries(3)
    _sql("UPDATE {table} SET details = %s WHERE id = %s", ['{"count": 999, "filters": {"q": "垃圾"}}', entries[2].pk])
    assert verify_chain() == (False, entries[2].pk)


def test_recomputing_the_hash_of_an_edited_row_breaks_the_next_link():
    entries = _entries(3)
    forged = AuditEntry.objects.get(pk=entries[0].pk)
    forged.target = "cases:forged"
    _sql("UPDATE {table} SET target = %s, hash = %s WHERE id = %s", [forged.target, entry_hash(forged), forged.pk])
    assert verify_chain() == (False, entries[1].pk)


def test_a_deleted_row_is_found_at_the_row_after_it():
    entries = _entries(4)
    _sql("DELETE FROM {table} WHERE id = %s", [entries[1].pk])
    assert verify_chain() == (False, entries[2].pk)


def test_a_deleted_newest_row_is_found_through_the_chain_head():
    entries = _entries(3)
    _sql("DELETE FROM {table} WHERE id = %s", [entries[2].pk])
    assert verify_chain() == (False, entries[2].pk)


def test_a_missing_chain_head_is_rebuilt_from_the_newest_row():
    entries = _entries(2)
    AuditChainHead.objects.all().delete()
    third = audit_record(action=AuditAction.CONFIG_CHANGE, actor_label="系统", target="settings")
    assert third.prev_hash == entries[1].hash
    assert verify_chain() == (True, None)


def test_verify_command_reports_both_outcomes(capsys):
    entries = _entries(2)
    call_command("audit_verify")
    assert "完整" in capsys.readouterr().out
    _sql("UPDATE {table} SET actor_label = %s WHERE id = %s", ["someone else", entries[0].pk])
    with pytest.raises(CommandError, match=str(entries[0].pk)):
        call_command("audit_verify")


def test_the_recorded_address_is_the_client_behind_a_trusted_proxy_and_never_a_forged_header(settings):
    settings.CITYOPS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")
    direct = RequestFactory().get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert audit_record(action=AuditAction.EXPORT, actor_label="甲", request=via_proxy).ip == "203.0.113.7"
    assert audit_record(action=AuditAction.EXPORT, actor_label="乙", request=direct).ip == "198.51.100.9"
