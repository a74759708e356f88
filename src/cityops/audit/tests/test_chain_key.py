"""The audit chain is an HMAC under a key outside the database (finding 8): a database writer
who edits a row and recomputes the chain — with plain SHA-256, or with any key but ours — is
found by audit_verify; rows from before the key still verify; keys rotate through the keyring."""

import hashlib
import hmac
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cityops.audit.checks import audit_hmac_key_check
from cityops.audit.models import GENESIS_HASH, AuditAction, AuditChainHead, AuditEntry
from cityops.audit.services import (
    LEGACY_KEY_ID,
    audit_record,
    canonical_json,
    chain_report,
    key_id_of,
    seal_legacy_rows,
    verify_chain,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[4]
KEY_A = "audit-key-a-" + "a" * 40
KEY_B = "audit-key-b-" + "b" * 40


def _entries(n: int = 3) -> list[AuditEntry]:
    return [audit_record(action=AuditAction.EXPORT, actor_label=f"测试{i}", target=f"cases:csv:{i}") for i in range(n)]


def _sha256(row: AuditEntry) -> str:
    return hashlib.sha256((row.prev_hash + canonical_json(row)).encode()).hexdigest()


def _hmac(key: str):
    return lambda row: hmac.new(key.encode(), (row.prev_hash + canonical_json(row)).encode(), hashlib.sha256).hexdigest()


def _rewrite_from(first_id: int, digest, *, key_id=None, edit=None) -> None:
    """What a database writer can do: edit rows from `first_id` on and recompute the chain
    forwards with `digest` (and the head), as the old unkeyed chain allowed."""
    rows = list(AuditEntry.objects.order_by("id"))
    prev = GENESIS_HASH
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        for row in rows:
            if row.pk >= first_id:
                if edit is not None and row.pk == first_id:
                    edit(row)
                if key_id is not None:
                    row.key_id = key_id
                row.prev_hash = prev
                row.hash = digest(row)
                cursor.execute(
                    f"UPDATE {table} SET target = %s, key_id = %s, prev_hash = %s, hash = %s WHERE id = %s",
                    [row.target, row.key_id, row.prev_hash, row.hash, row.pk],
                )
            prev = row.hash
        cursor.execute(f"UPDATE {AuditChainHead._meta.db_table} SET last_hash = %s, last_key_id = %s", [prev, rows[-1].key_id])


def _forge_target(row: AuditEntry) -> None:
    row.target = "cases:forged"


def _legacy_rows(n: int) -> list[AuditEntry]:
    """Rows as the unkeyed chain wrote them before the upgrade (plain SHA-256, no key id)."""
    from django.utils import timezone

    prev, rows = GENESIS_HASH, []
    for i in range(n):
        row = AuditEntry(created_at=timezone.now(), actor_label=f"旧{i}", action=AuditAction.LOGIN, target=f"user:{i}",
                         details={}, prev_hash=prev)
        row.hash = _sha256(row)
        row.save(force_insert=True)
        prev = row.hash
        rows.append(row)
    AuditChainHead.objects.update_or_create(pk=1, defaults={"last_id": rows[-1].pk, "last_hash": prev, "last_key_id": ""})
    return rows


def test_entries_are_signed_with_an_hmac_under_the_configured_key(settings):
    first, second = _entries(2)
    key = settings.CITYOPS_AUDIT_HMAC_KEY
    assert first.key_id == key_id_of(key) and key not in first.key_id
    assert first.hash == _hmac(key)(first) != _sha256(first)
    assert second.prev_hash == first.hash
    assert verify_chain() == (True, None)


def test_an_edited_row_rehashed_with_plain_sha256_is_found():
    entries = _entries(4)
    _rewrite_from(entries[1].pk, _sha256, edit=_forge_target)
    assert verify_chain() == (False, entries[1].pk)


def test_an_edited_chain_rewritten_as_unkeyed_rows_is_found_at_the_first_rewritten_row():
    entries = _entries(4)
    _rewrite_from(entries[2].pk, _sha256, key_id=LEGACY_KEY_ID, edit=_forge_target)
    assert verify_chain() == (False, entries[2].pk)


def test_a_whole_chain_rewritten_as_unkeyed_rows_is_found():
    entries = _entries(3)
    _rewrite_from(entries[0].pk, _sha256, key_id=LEGACY_KEY_ID, edit=_forge_target)
    report = chain_report()
    assert (report.ok, report.first_bad) == (False, entries[0].pk)


def test_an_edited_row_re_signed_with_a_wrong_key_is_found():
    entries = _entries(4)
    _rewrite_from(entries[1].pk, _hmac("a-key-the-attacker-made-up-" + "z" * 20), edit=_forge_target)
    assert verify_chain() == (False, entries[1].pk)


def test_rows_signed_by_a_key_outside_the_keyring_are_found():
    entries = _entries(2)
    wrong = "a-key-the-attacker-made-up-" + "z" * 20
    _rewrite_from(entries[1].pk, _hmac(wrong), key_id=key_id_of(wrong), edit=_forge_target)
    report = chain_report()
    assert (report.ok, report.first_bad) == (False, entries[1].pk)
    assert "密钥环" in report.reason


def test_audit_verify_command_reports_a_rehashed_edit(capsys):
    entries = _entries(3)
    call_command("audit_verify")
    assert "完整" in capsys.readouterr().out
    _rewrite_from(entries[1].pk, _sha256, edit=_forge_target)
    with pytest.raises(CommandError, match=f"ID {entries[1].pk}"):
        call_command("audit_verify")


def _migration_0004():
    return importlib.import_module("cityops.audit.migrations.0004_seal_legacy_rows")


def test_rows_from_before_the_key_are_sealed_by_the_migration_and_verify():
    from django.apps import apps

    legacy = _legacy_rows(3)
    _migration_0004().seal(apps, None)
    seal = AuditEntry.objects.get(action=AuditAction.CHECKPOINT, target="audit:hmac")
    assert seal.prev_hash == legacy[-1].hash and seal.key_id != LEGACY_KEY_ID
    assert seal.details["legacy_through_id"] == legacy[-1].pk
    entry = audit_record(action=AuditAction.EXPORT, actor_label="新", target="cases:csv")
    assert entry.prev_hash == seal.hash
    assert verify_chain() == (True, None)


def test_an_edit_to_a_row_from_before_the_key_is_found_even_when_rehashed():
    legacy = _legacy_rows(3)
    seal = seal_legacy_rows()
    assert seal is not None and seal_legacy_rows() is None  # sealed once
    _rewrite_from(legacy[0].pk, lambda row: _sha256(row) if not row.key_id else row.hash, edit=_forge_target)
    assert verify_chain() == (False, seal.pk)


def test_unkeyed_rows_that_no_seal_vouches_for_do_not_verify():
    legacy = _legacy_rows(2)
    assert verify_chain() == (False, legacy[0].pk)
    entry = audit_record(action=AuditAction.EXPORT, actor_label="新")  # appending does not seal
    assert verify_chain() == (False, entry.pk)


def test_a_chain_rewritten_without_the_key_stays_broken_after_new_entries_and_migrations():
    from django.apps import apps

    entries = _entries(3)
    _rewrite_from(entries[0].pk, _sha256, key_id=LEGACY_KEY_ID, edit=_forge_target)
    later = audit_record(action=AuditAction.LOGIN, actor_label="后来的人")
    _migration_0004().seal(apps, None)  # a keyed row exists: the seal is never written again
    assert not AuditEntry.objects.filter(target="audit:hmac").exists()
    assert verify_chain() == (False, later.pk)


def test_after_a_key_rotation_older_rows_verify_through_the_keyring(settings):
    settings.CITYOPS_AUDIT_HMAC_KEY = KEY_A
    old = _entries(2)
    settings.CITYOPS_AUDIT_HMAC_KEY, settings.CITYOPS_AUDIT_HMAC_KEYS = KEY_B, KEY_A
    new = _entries(2)
    assert {e.key_id for e in old} == {key_id_of(KEY_A)} and {e.key_id for e in new} == {key_id_of(KEY_B)}
    assert new[0].prev_hash == old[-1].hash
    assert verify_chain() == (True, None)
    settings.CITYOPS_AUDIT_HMAC_KEYS = ""  # the retired key dropped from the keyring
    assert verify_chain() == (False, old[0].pk)


def test_writing_an_entry_without_a_key_is_refused(settings):
    settings.CITYOPS_AUDIT_HMAC_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="CITYOPS_AUDIT_HMAC_KEY"):
        audit_record(action=AuditAction.EXPORT, actor_label="甲")
    assert not AuditEntry.objects.exists()


def test_the_deploy_check_requires_a_key_of_32_characters(settings):
    assert audit_hmac_key_check() == []
    settings.CITYOPS_AUDIT_HMAC_KEY = "short"
    assert [e.id for e in audit_hmac_key_check()] == ["cityops.audit.E001"]


def _settings_value(module: str, extra_env: dict, expr: str = "settings.CITYOPS_AUDIT_HMAC_KEY") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_AUDIT_HMAC_KEY")}
    env.update({"DJANGO_SETTINGS_MODULE": module, "SECRET_KEY": "s" * 60, **extra_env})
    code = f"import django; django.setup(); from django.conf import settings; print({expr})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def test_production_refuses_to_start_without_an_audit_key(tmp_path):
    result = _settings_value("config.settings.production", {"CITYOPS_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "CITYOPS_AUDIT_HMAC_KEY" in result.stderr


def test_production_reads_the_audit_key_from_a_file(tmp_path):
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY_A + "\n")
    result = _settings_value("config.settings.production", {"CITYOPS_VAR_DIR": str(tmp_path), "CITYOPS_AUDIT_HMAC_KEY_FILE": str(key_file)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == KEY_A


def test_the_local_profile_generates_its_audit_key_once_outside_the_database(tmp_path):
    first = _settings_value("config.settings.local", {"CITYOPS_VAR_DIR": str(tmp_path)})
    second = _settings_value("config.settings.local", {"CITYOPS_VAR_DIR": str(tmp_path)})
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "audit_hmac_key"
    assert first.stdout.strip() == second.stdout.strip() == key_file.read_text().strip()
    assert len(first.stdout.strip()) >= 32 and oct(key_file.stat().st_mode & 0o777) == "0o600"
