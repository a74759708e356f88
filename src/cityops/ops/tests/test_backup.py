"""`cityops backup` / `cityops restore`: a backup restored into an empty database holds the same
rows (counts and checksums per table) and the same uploaded files; tampering is found."""

import io
import json
import tarfile
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cityops.accounts.tests.factories import UserFactory
from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.services import audit_record
from cityops.ops.backup import (
    BackupError,
    DbTarget,
    backup_create,
    backup_restore,
    backup_verify,
    fingerprint,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())


@pytest.fixture
def media(tmp_path, settings):
    root = tmp_path / "media"
    (root / "cases" / "2026").mkdir(parents=True)
    (root / "cases" / "2026" / "photo.jpg").write_bytes(b"\xff\xd8\xff jpeg bytes")
    (root / "public" / "a.png").parent.mkdir(parents=True)
    (root / "public" / "a.png").write_bytes(b"\x89PNG data")
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def data():
    UserFactory(username="zhangsan", display_name="张三", role="operator")
    audit_record(action=AuditAction.EXPORT, actor_label="张三", target="cases:csv", details={"q": "垃圾", "n": 1.5})


def _source_fingerprint():
    """The live database read by the same code, through a connection of its own (no Django type converters)."""
    if connection.vendor == "postgresql":
        with DbTarget.from_settings().pg_connect() as conn:
            return fingerprint(conn, "postgresql")
    import sqlite3

    conn = sqlite3.connect(connection.settings_dict["NAME"], uri=True)
    try:
        return fingerprint(conn, "sqlite")
    finally:
        conn.close()


@pytest.fixture
def scratch_url(tmp_path):
    """An empty database of the same engine as the test run (PostgreSQL: a new database on the same server)."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    source = DbTarget.from_settings()
    name = f"cityops_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dbname="postgres", host=source.host or None, port=source.port or None,
                         user=source.user or None, password=source.password or None, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = source.user + (f":{source.password}" if source.password else "")
    try:
        yield f"postgres://{auth}@{source.host or 'localhost'}:{source.port or 5432}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", host=source.host or None, port=source.port or None,
                             user=source.user or None, password=source.password or None, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_then_restore_into_an_empty_database_matches_counts_checksums_and_files(tmp_path, media, data, scratch_url):
    archive = backup_create(output=tmp_path / "b.tar.gz").path
    expected = _source_fingerprint()
    manifest = _manifest(archive)
    assert manifest["engine"] == DbTarget.from_settings().vendor and manifest["app_version"]
    assert manifest["tables"]["accounts_user"]["rows"] == 1
    assert set(manifest["files"]) >= {"media/cases/2026/photo.jpg", "media/public/a.png"}
    # The backup records itself: the audit entry is inside the backup it describes.
    assert AuditEntry.objects.filter(action=AuditAction.BACKUP).count() == 1
    assert manifest["tables"]["audit_auditentry"]["rows"] == AuditEntry.objects.count()
    assert manifest["tables"] == expected

    restored_media = tmp_path / "restored-media"
    report = backup_restore(archive, database_url=scratch_url, media_root=restored_media)
    assert report.ok, report.problems
    assert report.checked_tables == len(expected) and report.checked_files == 2
    assert (restored_media / "cases" / "2026" / "photo.jpg").read_bytes() == b"\xff\xd8\xff jpeg bytes"


def test_restore_into_a_database_that_holds_data_is_refused_without_force(tmp_path, media, data, scratch_url):
    archive = backup_create(output=tmp_path / "b.tar.gz").path
    assert backup_restore(archive, database_url=scratch_url, media_root=tmp_path / "m1").ok
    with pytest.raises(BackupError, match="--force"):
        backup_restore(archive, database_url=scratch_url, media_root=tmp_path / "m2")
    report = backup_restore(archive, database_url=scratch_url, media_root=tmp_path / "m1", force=True)
    assert report.ok, report.problems


def _rewrite(archive: Path, out: Path, change) -> Path:
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            content = src.extractfile(member).read()
            content = change(member.name, content)
            if content is None:
                continue
            member.size = len(content)
            dst.addfile(member, io.BytesIO(content))
    return out


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda name, b: b + b"x" if name == "media/public/a.png" else b, "校验和不符"),
        (lambda name, b: None if name == "media/cases/2026/photo.jpg" else b, "缺少文件"),
    ],
)
def test_a_tampered_archive_is_found_by_verification_and_not_restored(tmp_path, media, data, scratch_url, change, problem):
    archive = backup_create(output=tmp_path / "b.tar.gz").path
    assert backup_verify(archive)[0].ok
    bad = _rewrite(archive, tmp_path / "bad.tar.gz", change)
    report, _ = backup_verify(bad)
    assert not report.ok and problem in "\n".join(report.problems)
    with pytest.raises(CommandError, match=problem):
        call_command("backup", "--verify", str(bad))
    with pytest.raises(CommandError, match="校验失败"):
        call_command("restore", str(bad), "--database-url", scratch_url, "--media-root", str(tmp_path / "m"))


def test_a_tampered_database_dump_is_found(tmp_path, media, data):
    archive = backup_create(output=tmp_path / "b.tar.gz").path
    dump = _manifest(archive)["database"]
    bad = _rewrite(archive, tmp_path / "bad.tar.gz", lambda name, b: b[:-1] + bytes([b[-1] ^ 1]) if name == dump else b)
    assert "校验和不符" in "\n".join(backup_verify(bad)[0].problems)


def test_a_file_that_is_not_a_backup_is_refused(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    with tarfile.open(junk, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("hello.txt"), io.BytesIO(b""))
    with pytest.raises(BackupError, match="manifest"):
        backup_verify(junk)


def test_commands_backup_verify_and_restore(tmp_path, media, data, scratch_url, capsys):
    out = tmp_path / "cmd.tar.gz"
    call_command("backup", "--output", str(out))
    assert "已备份到" in capsys.readouterr().out
    call_command("backup", "--verify", str(out))
    assert "备份文件完整" in capsys.readouterr().out
    call_command("restore", str(out), "--database-url", scratch_url, "--media-root", str(tmp_path / "rm"))
    assert "恢复完成并已核对" in capsys.readouterr().out


def test_restore_reports_a_difference_between_manifest_and_restored_rows(tmp_path, media, data, scratch_url):
    archive = backup_create(output=tmp_path / "b.tar.gz").path

    def lie(name, content):
        if name != "manifest.json":
            return content
        manifest = json.loads(content)
        manifest["tables"]["accounts_user"]["rows"] += 1
        return json.dumps(manifest).encode()

    forged = _rewrite(archive, tmp_path / "forged.tar.gz", lie)  # manifest edited: files still match it
    report = backup_restore(forged, database_url=scratch_url, media_root=tmp_path / "m")
    assert not report.ok and any("accounts_user" in p for p in report.problems)
